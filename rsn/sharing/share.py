"""Sharing an item of any kind: one call checks its marking, writes its grants, and says who reads.

A new kind of item (an alert, a case, an assessment) is a table whose rows carry a
marking and a distribution (the `Shareable` mixin, or the same columns). Its feature
calls `share` when an item is written or re-marked, `unshare` when it goes, and asks
`visible(principal, Item.id)` in every query; it never spells an audience key. The
grants carry the item's kind, so what was shared of a kind can be found (a peer's
feed, a clean-up) without knowing the kind's table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from rsn.sharing import keysets
from rsn.sharing.distribution import resolve
from rsn.sharing.policy import (
    MEMBERS,
    PUBLIC,
    Audience,
    Distribution,
    Principal,
    audience,
    set_grants,
)
from rsn.sharing.release import PUBLISHED, keys_for


@dataclass(frozen=True)
class Marking:
    """What decides an item's readers: TLP, resolved distribution, originator, status."""

    tlp: str
    distribution: Distribution
    originator_user_id: str
    originator_org_id: str
    status: str = PUBLISHED  # a draft or an item awaiting release opens narrower

    def keys(self) -> frozenset[str]:
        return keys_for(
            self.status,
            self.tlp,
            self.distribution,
            originator_user_id=self.originator_user_id,
            originator_org_id=self.originator_org_id,
        )


@dataclass(frozen=True)
class Shared:
    """An item as shared: its kind, its marking, and its audience keys (private to sharing)."""

    item_id: str
    kind: str
    marking: Marking
    keys: frozenset[str]

    def audience(self, session: Session) -> Audience:
        """Who reads it, by state, organization and person (what "who will see this" shows)."""
        return audience(session, self.keys, own_org_id=self.marking.originator_org_id)


def share(
    session: Session,
    *,
    kind: str,
    item_id: str,
    tlp: str,
    distribution: Mapping[str, Sequence[str]],
    originator: Principal,
    status: str = PUBLISHED,
    fresh: bool = True,
) -> Shared:
    """Share one item: its distribution (by name) checked for its marking, its grants written.

    A distribution the marking does not allow, or a name the node does not know, is a
    422 naming the entry; nothing is written then. `fresh`: the item had no grants yet.
    """
    marking = Marking(
        tlp=tlp,
        distribution=resolve(session, tlp, dict(distribution)),
        originator_user_id=originator.user_id,
        originator_org_id=originator.organization_id,
        status=status,
    )
    keys = share_many(session, kind=kind, items={item_id: marking}, fresh=fresh)[item_id]
    return Shared(item_id, kind, marking, keys)


def share_many(
    session: Session, *, kind: str, items: Mapping[str, Marking], fresh: bool
) -> dict[str, frozenset[str]]:
    """Share a batch of items of one kind whose markings are already resolved; their keys.

    The path of bulk writes (an import of thousands of reports): one statement for all.
    """
    grants = {item_id: marking.keys() for item_id, marking in items.items()}
    set_grants(session, grants, fresh=fresh, kind=kind)
    return grants


def share_like(
    session: Session, *, kind: str, items: Mapping[str, frozenset[str]], fresh: bool
) -> None:
    """Share items with keys taken from items already shared (a version, like its report)."""
    set_grants(session, dict(items), fresh=fresh, kind=kind)


def unshare(session: Session, item_ids: Iterable[str]) -> None:
    """Close items to everyone: their grants go (the item itself is its feature's to delete)."""
    set_grants(session, {item: frozenset() for item in item_ids}, fresh=False, kind="")


def derived_keys(session: Session, *, sources: Iterable[str], source_kind: str) -> frozenset[str]:
    """The keys an item built from these sources gets from `share_derived` (nothing written).

    What a feature compares to find the item it built before for the same readers.
    """
    wanted = list(dict.fromkeys(sources))
    found = keysets.keys_of(session, wanted, kind=source_kind)
    closed = [s for s in wanted if s not in found]
    if closed:
        raise ValueError(f"{source_kind} {', '.join(closed)} open to no one: cannot share from it")
    return keysets.readers_of_all(session, [found[s] for s in wanted])


def share_derived(
    session: Session,
    *,
    kind: str,
    item_id: str,
    sources: Iterable[str],
    source_kind: str,
    fresh: bool,
) -> frozenset[str]:
    """Share an item built from others (an alert from its reports) with exactly the
    readers who may read every one of its sources; its keys.

    Decided through the sources' current grants and the scopes as the registry has them
    now (`keysets.readers_of_all`), so it is called again when either moves. A source
    open to no one (revoked, staged) or only to named people cannot be summarised: a
    `ValueError`, nothing written.
    """
    keys = derived_keys(session, sources=sources, source_kind=source_kind)
    set_grants(session, {item_id: keys}, fresh=fresh, kind=kind)
    return keys


def derived_tlp(keys: frozenset[str]) -> str:
    """The TLP that names an item shared by `share_derived`, for the people who read it:
    `clear` open to all, `green` to every member, `amber` to named organizations."""
    if keys == {PUBLIC}:
        return "clear"
    return "green" if MEMBERS in keys else "amber"
