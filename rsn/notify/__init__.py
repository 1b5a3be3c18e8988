"""Notifications: subscriptions (saved report searches), the `notify.match` job, and
each user's inbox. Importing the package registers the job and its event subscribers,
so every process that files reports or runs workers knows them.
"""

from __future__ import annotations

from rsn.notify import inbox, matching, subscriptions
from rsn.notify.matching import MATCH
from rsn.notify.models import Notification, Subscription

__all__ = ["MATCH", "Notification", "Subscription", "inbox", "matching", "subscriptions"]
