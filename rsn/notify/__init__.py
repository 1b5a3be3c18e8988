"""Notifications: subscriptions (saved report searches), the `notify.match` job, each
user's inbox, and deliveries by webhook and e-mail (at once or in a daily digest).

Importing the package registers the match job and its event subscribers, so every
process that files reports or runs workers knows them; `rsn.node.define_jobs` gives
the delivery jobs the node's settings.
"""

from __future__ import annotations

from rsn.notify import delivery, inbox, matching, subscriptions
from rsn.notify.matching import MATCH
from rsn.notify.models import Delivery, Notification, Subscription

__all__ = [
    "MATCH",
    "Delivery",
    "Notification",
    "Subscription",
    "delivery",
    "inbox",
    "matching",
    "subscriptions",
]
