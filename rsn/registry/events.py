"""What the registry tells the rest of the node when the keys readers hold may move.

An organization created or changed (its type or state) and a group's members replaced
change which audience keys that organization's people hold; a user created or given
another role (a releaser holds their organization's release keys) changes their own.
Indexes kept per reader scope (`rsn.sharing.keysets`) re-derive the scopes touched,
in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rsn.events import Event


@dataclass(frozen=True)
class ScopesMoved(Event):
    """Organizations and users whose readers' keys may differ from before (new, changed,
    regrouped, given another role)."""

    name: ClassVar[str] = "registry.scopes_moved"
    required: ClassVar[frozenset[str]] = frozenset({"rsn.sharing.keysets"})

    organization_ids: tuple[str, ...]
    user_ids: tuple[str, ...] = ()
