"""What the registry tells the rest of the node when the keys readers hold may move.

An organization created or changed (its type or state) and a group's members replaced
change which audience keys that organization's people hold. Indexes kept per reader
scope (`rsn.sharing.keysets`) re-derive the scopes touched, in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rsn.events import Event


@dataclass(frozen=True)
class ScopesMoved(Event):
    """Organizations whose readers' keys may differ from before (new, changed, regrouped)."""

    name: ClassVar[str] = "registry.scopes_moved"
    required: ClassVar[frozenset[str]] = frozenset({"rsn.sharing.keysets"})

    organization_ids: tuple[str, ...]
