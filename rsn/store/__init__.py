"""The database: engines, sessions, column types and the schema's migrations.

Every feature's models derive from `Base`; services receive a `Session` and never
commit, so the request or CLI command that owns the session decides all-or-nothing.
"""

from __future__ import annotations

from rsn.store.db import (
    Base,
    Database,
    UTCDateTime,
    new_id,
    utcnow,
)
from rsn.store.migrate import upgrade

__all__ = ["Base", "Database", "UTCDateTime", "new_id", "upgrade", "utcnow"]
