"""Markings and distribution as columns any shareable table can carry.

The rules table `sharing_grants` holds, for every shareable item, the audience keys
its marking and distribution open it to (see `rsn.sharing.policy`). A reader sees
an item when one of the reader's keys is among the item's keys: a single indexed
look-up that lists, counts and searches use alike.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from rsn.store import Base

# TLP 2.0, from the widest audience to the narrowest: the one vocabulary of markings.
# Every other module imports it from here (formats map their own terms onto it).
Tlp = Literal["clear", "green", "amber", "amber+strict", "red"]
TLP_LEVELS: tuple[Tlp, ...] = get_args(Tlp)
# What an item that arrives with no marking is treated as: the narrowest that still
# lets its importer's organization read it.
UNMARKED: Tlp = "amber+strict"
# What a message out of the node (a webhook, an e-mail) may carry the content of: above
# green, it carries ids and links only, which the recipient opens with their own credentials.
LEAVES_NODE: frozenset[Tlp] = frozenset({"clear", "green"})


class SharingGrant(Base):
    """An item's audience key; `visible` looks it up by (item, key), the primary key.

    No index by key first: no query walks the grants of a key, and such an index
    was a tenth of what filing a report wrote.
    """

    __tablename__ = "sharing_grants"

    item_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), server_default="report")  # what the item is


class StagedGrant(Base):
    """A grant written by an import still in progress: it opens nothing until published.

    A long import writes its items in chunks, each its own transaction, so other
    writers get the store between them; the items' keys wait here, where `visible`
    never looks, and one short transaction moves them into `sharing_grants`
    (`rsn.sharing.staging`). A crash leaves them here, for the clean-up to remove
    with their items.
    """

    __tablename__ = "sharing_staged_grants"

    item_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), server_default="report")
    batch_id: Mapped[str] = mapped_column(String(36), index=True)


class Shareable:
    """Mixin: the TLP marking, the distribution as named, and the originator."""

    tlp: Mapped[str] = mapped_column(String(20))
    distribution: Mapped[dict[str, Any]] = mapped_column(JSON)

    @declared_attr
    def originator_user_id(cls) -> Mapped[str]:
        return mapped_column(ForeignKey("users.id"))

    @declared_attr
    def originator_org_id(cls) -> Mapped[str]:
        return mapped_column(ForeignKey("organizations.id"), index=True)

    originator_state: Mapped[str | None] = mapped_column(String(2))
