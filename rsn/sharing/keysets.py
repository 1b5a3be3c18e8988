"""Audiences as opaque ids, for indexes that count items rather than list them.

An item's grants are a set of audience keys; items with the same set have the same
readers, and there are few distinct sets (every green item shares one; an amber
item's set is its originator and its distribution). A *keyset* names one such set by
a digest, so a table of counts can be kept per keyset and a reader's count is the sum
over the keysets they open: `open_to(principal)`. The keys stay spelled here only;
other modules hold the digest.

A keyset is defined by the item's keys alone, never by who holds them: a registry
change (a group's members, an organization's state) moves readers' keys, not items',
so counts kept per keyset stay true without a rebuild.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Index, Select, String, Text, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from rsn.sharing.models import SharingGrant
from rsn.sharing.policy import Principal
from rsn.store import Base


class KeySet(Base):
    """One distinct set of audience keys, named by its digest."""

    __tablename__ = "sharing_keysets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    keys: Mapped[str] = mapped_column(Text)  # the keys, one a line, sorted


class KeySetKey(Base):
    """A key of a keyset: `open_to` looks the reader's keys up here, by key first."""

    __tablename__ = "sharing_keyset_keys"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    keyset_id: Mapped[str] = mapped_column(String(32), primary_key=True)

    __table_args__ = (Index("ix_sharing_keyset_keys_keyset", "keyset_id"),)


def keyset_id(keys: Iterable[str]) -> str:
    """The digest that names this set of keys (the same set, the same id, on every node)."""
    return hashlib.sha256("\n".join(sorted(set(keys))).encode()).hexdigest()[:32]


def register(session: Session, sets: Iterable[frozenset[str]]) -> dict[frozenset[str], str]:
    """The ids of these key sets, storing the sets not seen before; in the caller's transaction.

    Two writers registering the same new set at once both succeed: the second insert
    is ignored (its row is the same).
    """
    ids = {keys: keyset_id(keys) for keys in set(sets)}
    if not ids:
        return {}
    known = set(session.scalars(select(KeySet.id).where(KeySet.id.in_(sorted(ids.values())))))
    new = {keys: kid for keys, kid in ids.items() if kid not in known}
    if new:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        conn = session.connection()
        rows = [{"id": kid, "keys": "\n".join(sorted(keys))} for keys, kid in new.items()]
        conn.execute(insert(KeySet).on_conflict_do_nothing(index_elements=["id"]), rows)
        members = [{"key": k, "keyset_id": kid} for keys, kid in new.items() for k in keys]
        conn.execute(
            insert(KeySetKey).on_conflict_do_nothing(index_elements=["key", "keyset_id"]),
            members,
        )
    return ids


def keys_of(session: Session, item_ids: Iterable[str], *, kind: str) -> dict[str, frozenset[str]]:
    """The current audience keys of these items of one kind (an item with none is left out)."""
    found: dict[str, set[str]] = {}
    rows = session.execute(
        select(SharingGrant.item_id, SharingGrant.key).where(
            SharingGrant.item_id.in_(list(item_ids)), SharingGrant.kind == kind
        )
    )
    for item_id, key in rows:
        found.setdefault(item_id, set()).add(key)
    return {item_id: frozenset(keys) for item_id, keys in found.items()}


def open_to(principal: Principal) -> Select[Any]:
    """The keysets `principal` reads: those holding any of the principal's keys."""
    return select(KeySetKey.keyset_id).where(KeySetKey.key.in_(sorted(principal.keys))).distinct()
