"""The demo node's content: BIMSTEC agencies, people of every role, and a scenario.

`rsn demo` calls `prepare` on a migrated database: an empty node is seeded with the
BIMSTEC pack, 3-4 agencies per member state, the secretariat and a civil-society
watchdog, users of every role, sharing groups and a few hundred reports over the
last 90 days whose selectors recur across borders; a node already seeded is
reused. The accounts to sign in with go to `<data-dir>/demo-accounts.json`
(mode 0600). The people and events are fictional; the agencies are real names.
"""

from __future__ import annotations

from rsn.demo.accounts import ACCOUNTS_FILE, Account
from rsn.demo.config import WEBHOOK_ALLOW, settings
from rsn.demo.seed import prepare

__all__ = ["ACCOUNTS_FILE", "WEBHOOK_ALLOW", "Account", "prepare", "settings"]
