"""Disclosure records: which answer handed whose non-public fields to whom.

Every path that shows an item's fields (a page, a REST answer, an export, a TAXII
page, a notification) asks `discloses` which of its items count and records them
here, one audit record per answer, so the record reads the same whatever the path.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from rsn import audit
from rsn.sharing.policy import Principal


def disclose(
    session: Session, *, principal: Principal, item_ids: Iterable[str], action: str
) -> bool:
    """Record one answer's disclosures in the caller's write transaction; False when none."""
    ids = list(dict.fromkeys(item_ids))
    if not ids:
        return False
    audit.record(session, actor=principal.username, action=action, item_ids=ids)
    return True
