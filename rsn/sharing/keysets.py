"""Audiences for indexes that count items rather than list them.

An item's grants are a set of audience keys; items with the same set have the same
readers. A *keyset* names one such set by a digest. Counting per keyset alone does
not scale: amber items fan out into thousands of distinct sets (each originator and
distribution), and a reader would sum over all of those it opens.

So counts are kept per *scope*: readers who hold the same keys. There are few that
many share: `public` (everyone), `members` (every user but observers), one per member
state (`state:XX`, the key its government agencies hold) and one per organization (its
organization, state and group keys, which its members and observers hold alike); and
one per person (`user:<id>`, the spelling of their key) for what only keys of their
own open: red items naming them, their drafts, and for a releaser what waits for their
release. `sharing_scopes` spells each scope's keys; a keyset maps to the scopes that
count it (`sharing_keyset_units`), so an item counts once for each reader and a reader
sums the few scopes they are in (`units_of`).

An item open to a state is counted once, in the state's scope, not once in each of its
agencies': an organization's scope counts only what it reads through keys other than
its state's (`counts_in`). An organization holds one state key at most, so its readers,
who sum both scopes, count each item they read exactly once. That keeps the rows an
amber report to three states adds to the states it names, however many agencies each
has. Likewise a person's scope counts only what their own keys alone open; it holds
their organization's keys beside their own for that decision, but is looked up only
through their own (`_map`, `_reached`), never through a state key thousands of
keysets share. (Counted live, a releaser's few hundred such keysets took half of a
count's time at a million reports.)

A registry change that moves an organization's or a person's keys (`ScopesMoved`: a
new organization or user; a changed type, state, group or role) re-derives the scopes
and publishes `UnitsMoved` with those that changed, for the counts kept per scope to
be rebuilt in the same transaction.
"""

from __future__ import annotations

import functools
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from sqlalchemy import Index, String, Text, delete, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from rsn import events
from rsn.registry.events import ScopesMoved
from rsn.registry.models import Organization, User
from rsn.sharing.models import SharingGrant
from rsn.sharing.policy import (
    MEMBERS,
    ORG_MEMBERS,
    PUBLIC,
    Principal,
    groups_of,
    reader_keys,
)
from rsn.store import Base, bulk

PERSONAL = ("user:", "rel:")  # keys held by one person (or their organization's releasers)
STATE = "state:"  # a member state's key: its government agencies hold it, and it names its scope
PERSON = "user:"  # a person's key, which names their own scope


class KeySet(Base):
    """One distinct set of audience keys, named by its digest."""

    __tablename__ = "sharing_keysets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    keys: Mapped[str] = mapped_column(Text)  # the keys, one a line, sorted


class KeySetKey(Base):
    """A key of a keyset: how a scope finds the keysets its keys open."""

    __tablename__ = "sharing_keyset_keys"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    keyset_id: Mapped[str] = mapped_column(String(32), primary_key=True)

    __table_args__ = (Index("ix_sharing_keyset_keys_keyset", "keyset_id"),)


class Scope(Base):
    """A key the readers of one scope hold (`public`, `members`, `state:XX`, an
    organization's id, or `user:<id>`)."""

    __tablename__ = "sharing_scopes"

    unit: Mapped[str] = mapped_column(String(80), primary_key=True)
    key: Mapped[str] = mapped_column(String(80), primary_key=True)

    __table_args__ = (Index("ix_sharing_scopes_key", "key"),)


class KeySetUnit(Base):
    """A scope whose readers may read the items of a keyset."""

    __tablename__ = "sharing_keyset_units"

    keyset_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    unit: Mapped[str] = mapped_column(String(80), primary_key=True)

    __table_args__ = (Index("ix_sharing_keyset_units_unit", "unit"),)


@dataclass(frozen=True)
class UnitsMoved(events.Event):
    """Scopes whose keys changed: what is counted per scope must be recounted for them."""

    name: ClassVar[str] = "sharing.units_moved"

    units: tuple[str, ...]


def keyset_id(keys: Iterable[str]) -> str:
    """The digest that names this set of keys (the same set, the same id, on every node)."""
    return _digest(frozenset(keys))


@functools.lru_cache(maxsize=65536)
def _digest(keys: frozenset[str]) -> str:
    # Named once a set: a batch of filings meets the same few sets again and again.
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Registered:
    """Key sets' ids, and the scopes that count each (a set counted by none maps to [])."""

    ids: dict[frozenset[str], str]
    units: dict[str, list[str]]


def register(session: Session, sets: Iterable[frozenset[str]]) -> Registered:
    """The ids of these key sets and their scopes, storing (and mapping to scopes) those
    not seen before.

    In the caller's transaction. Two writers registering the same new set at once both
    succeed: the second insert is ignored (its rows are the same).
    """
    ids = {keys: _digest(keys) for keys in set(sets)}
    found: dict[str, list[str]] = {}
    if ids:  # known sets and their scopes in one look-up
        query = (
            select(KeySet.id, KeySetUnit.unit)
            .outerjoin(KeySetUnit, KeySetUnit.keyset_id == KeySet.id)
            .where(KeySet.id.in_(sorted(set(ids.values()))))
        )
        for kid, unit in session.execute(query):
            found.setdefault(kid, [])
            if unit is not None:
                found[kid].append(unit)
    new = {keys: kid for keys, kid in ids.items() if kid not in found}
    if new:
        conn = session.connection()
        rows = [(kid, "\n".join(sorted(keys))) for keys, kid in new.items()]
        bulk.insert_rows(conn, KeySet, ("id", "keys"), rows, skip_existing=True)
        members = [(k, kid) for keys, kid in new.items() for k in sorted(keys)]
        bulk.insert_rows(conn, KeySetKey, ("key", "keyset_id"), members, skip_existing=True)
        found.update(_map(session, new))
    return Registered(ids, found)


def counts_in(unit: str, met: Iterable[str]) -> bool:
    """Whether a scope counts an item whose keys meet the scope's keys in `met`.

    An organization's scope leaves to its state's scope what it reads through the
    state key: its readers sum both, and the item must count once for them. A person's
    scope counts only what their own keys alone open: their other scopes count the rest.
    """
    met = list(met)
    if not met:
        return False
    if unit in (PUBLIC, MEMBERS) or unit.startswith(STATE):
        return True
    if unit.startswith(PERSON):
        return all(k.startswith(PERSONAL) for k in met)
    return not any(k.startswith(STATE) for k in met)


def _map(session: Session, sets: dict[frozenset[str], str]) -> dict[str, list[str]]:
    """Record which scopes count each of these keysets; those scopes, by keyset."""
    all_keys = sorted({k for keys in sets for k in keys})
    own = [k for k in all_keys if k.startswith(PERSONAL)]
    holders: dict[str, set[str]] = defaultdict(set)
    shared = select(Scope.unit, Scope.key).where(
        Scope.key.in_([k for k in all_keys if not k.startswith(PERSONAL)]),
        Scope.unit.not_like(f"{PERSON}%"),  # people are met through their own keys
    )
    if own:  # the people these sets name, with every key of theirs the sets hold
        people = select(Scope.unit).where(Scope.key.in_(own))
        named = select(Scope.unit, Scope.key).where(Scope.unit.in_(people), Scope.key.in_(all_keys))
        shared = shared.union_all(named)  # type: ignore[assignment]
    for unit, key in session.execute(shared):
        holders[key].add(unit)
    mapped: dict[str, list[str]] = {}
    for keys, kid in sets.items():
        if len(keys) > 1 and keys & {PUBLIC, MEMBERS}:
            # A reader in two scopes would count such an item twice; no marking makes one.
            raise ValueError(f"cannot count a keyset mixing public or members: {sorted(keys)}")
        met: dict[str, list[str]] = defaultdict(list)
        for k in keys:
            for unit in holders[k]:
                met[unit].append(k)
        mapped[kid] = [unit for unit in sorted(met) if counts_in(unit, met[unit])]
    rows = [(kid, unit) for kid, units in mapped.items() for unit in units]
    bulk.insert_rows(
        session.connection(), KeySetUnit, ("keyset_id", "unit"), rows, skip_existing=True
    )
    return mapped


def units(session: Session, keyset_ids: Iterable[str]) -> dict[str, list[str]]:
    """The scopes reading each of these keysets (a keyset read by none maps to [])."""
    found: dict[str, list[str]] = {kid: [] for kid in keyset_ids}
    query = select(KeySetUnit.keyset_id, KeySetUnit.unit).where(
        KeySetUnit.keyset_id.in_(sorted(found))
    )
    for kid, unit in session.execute(query):
        found[kid].append(unit)
    return found


def units_of(principal: Principal) -> list[str]:
    """The scopes a reader is in: their counts are the sums kept for these."""
    own = [principal.organization_id] if principal.organization_id else []
    shared = [u for u in (PUBLIC, MEMBERS) if u in principal.keys]
    states = sorted(k for k in principal.keys if k.startswith(STATE))
    return shared + states + own + sorted(k for k in principal.keys if k.startswith(PERSON))


def profiles(session: Session) -> list[tuple[str, ...]]:
    """Every distinct set of scopes a reader sums (`units_of`), their own scope aside:
    each organization's users, its observers (who lack `members`), and the public.

    What a count-watching feature (early warning) watches: a series as each of these
    readers may see it, and nothing wider.
    """
    found: set[tuple[str, ...]] = {(PUBLIC,)}
    for org in session.scalars(select(Organization)):
        states = sorted(k for k in _scope_keys(session, org) if k.startswith(STATE))
        found.add((PUBLIC, MEMBERS, *states, org.id))
        found.add((PUBLIC, *states, org.id))
    return sorted(found)


def profile_keys(session: Session, profile: Iterable[str]) -> frozenset[str]:
    """The audience keys every reader of a profile (`profiles`) holds: an item with one of
    them is one they all read (their own keys aside)."""
    scopes = Scopes.of(session)
    return frozenset(k for unit in profile for k in scopes.keys.get(unit, ()))


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


def _scope_keys(session: Session, org: Organization) -> frozenset[str]:
    """The keys an organization's readers hold apart from their person (and `members`)."""
    keys = reader_keys(
        user_id="",
        organization_id=org.id,
        organization_type=org.type,
        member_state=org.member_state,
        role="observer",
        group_ids=groups_of(session, org),
    )
    return frozenset(k for k in keys if k != PUBLIC and not k.startswith(PERSONAL))


def _wanted(session: Session) -> dict[str, frozenset[str]]:
    """Every scope and its keys, as the registry has them now."""
    scopes = {PUBLIC: frozenset({PUBLIC}), MEMBERS: frozenset({MEMBERS})}
    for org in session.scalars(select(Organization)):
        keys = _scope_keys(session, org)
        states = [k for k in keys if k.startswith(STATE)]
        if len(states) > 1:  # its readers would count an item open to both states twice
            raise ValueError(f"organization {org.id} holds more than one state key: {states}")
        scopes[org.id] = keys
        scopes.update((k, frozenset({k})) for k in states)
    for user_id, org_id, role in session.execute(select(User.id, User.organization_id, User.role)):
        keys = reader_keys(
            user_id=user_id,
            organization_id=org_id,
            organization_type="",
            member_state=None,
            role=role,
            group_ids=(),
        )
        # Their own keys, and their organization's for deciding what their own alone open.
        scopes[f"{PERSON}{user_id}"] = scopes.get(org_id, frozenset()) | {
            k for k in keys if k.startswith(PERSONAL)
        }
    return scopes


_SCOPES = "rsn.sharing.scopes"  # Session.info: (transaction, Scopes)


@dataclass(frozen=True)
class Scopes:
    """The scopes as the registry has them now, held in memory (for a recount to compare).

    `keys`: the scopes many readers share; `people`: each person's own, found through
    the keys only they hold (`named`).
    """

    keys: dict[str, frozenset[str]]
    people: dict[str, frozenset[str]]
    named: dict[str, tuple[str, ...]]

    @classmethod
    def of(cls, session: Session) -> Scopes:
        """The scopes now, read once per transaction (`resync` forgets them): deriving
        many alerts' readers in one write asked the registry again for each."""
        held = session.info.get(_SCOPES)
        transaction = session.get_transaction()
        if held is not None and held[0] is transaction and transaction is not None:
            return held[1]  # type: ignore[no-any-return]
        shared: dict[str, frozenset[str]] = {}
        people: dict[str, frozenset[str]] = {}
        named: dict[str, list[str]] = defaultdict(list)
        for unit, keys in _wanted(session).items():
            if not unit.startswith(PERSON):
                shared[unit] = keys
                continue
            people[unit] = keys
            for k in keys:
                if k.startswith(PERSONAL):
                    named[k].append(unit)
        scopes = cls(shared, people, {k: tuple(us) for k, us in named.items()})
        session.info[_SCOPES] = (transaction, scopes)
        return scopes

    def reading(self, item_keys: frozenset[str]) -> list[str]:
        """`public`, `members` and the organizations whose readers may read an item with
        these keys (states are not listed: their agencies are)."""
        return sorted(
            u for u, keys in self.keys.items() if not u.startswith(STATE) and keys & item_keys
        )

    def counting(self, item_keys: frozenset[str]) -> list[str]:
        """The scopes that count an item with these keys."""
        found = [u for u, keys in self.keys.items() if counts_in(u, keys & item_keys)]
        people = {u for k in item_keys for u in self.named.get(k, ())}
        found.extend(u for u in people if counts_in(u, self.people[u] & item_keys))
        return sorted(found)


def readers_of_all(session: Session, items: Iterable[frozenset[str]]) -> frozenset[str]:
    """The audience keys of an item built from these (an alert from its reports).

    Exactly the readers who may read every one of them, in keys: `public` when all are
    clear; `members` when each is open to every member; an organization's `org:` key when
    its observers read them all, its `mem:` key when only its other users do. Decided by
    what the items' markings open, through the scopes as the registry has them now. An
    item open only to named people (red, a draft) cannot be summarised for anyone else.
    """
    scopes = Scopes.of(session)
    reach = [set(scopes.reading(keys)) for keys in items]
    if not reach:
        raise ValueError("readers of no item: nothing to decide")
    if any(not r for r in reach):
        raise ValueError("an item open only to named people cannot be summarised")
    if all(PUBLIC in r for r in reach):
        return frozenset({PUBLIC})
    orgs = [u for u in scopes.keys if u not in (PUBLIC, MEMBERS) and not u.startswith(STATE)]
    observers = [o for o in orgs if all(r & {PUBLIC, o} for r in reach)]
    keys = {f"org:{o}" for o in observers}
    if all(r & {PUBLIC, MEMBERS} for r in reach):
        return frozenset(keys | {MEMBERS})
    members = [
        o for o in orgs if o not in observers and all(r & {PUBLIC, MEMBERS, o} for r in reach)
    ]
    return frozenset(keys | {f"{ORG_MEMBERS}{o}" for o in members})


def resync(session: Session, *, everything: bool = False) -> list[str]:
    """Bring the stored scopes in line with the registry; the scopes that changed.

    A changed scope's keyset mapping is derived again from the keysets' keys, so the
    next count reads it right once its sums are rebuilt (`UnitsMoved`). `everything`
    derives every scope again, changed or not (a full recount).
    """
    session.info.pop(_SCOPES, None)  # the registry moved: read the scopes afresh
    stored: dict[str, set[str]] = defaultdict(set)
    if not everything:
        for unit, key in session.execute(select(Scope.unit, Scope.key)):
            stored[unit].add(key)
    else:
        session.connection().execute(delete(Scope))
        session.connection().execute(delete(KeySetUnit))
    wanted = _wanted(session)
    moved = sorted(
        u for u in set(stored) | set(wanted) if frozenset(stored[u]) != wanted.get(u, frozenset())
    )
    if not moved:
        return []
    conn = session.connection()
    conn.execute(delete(Scope).where(Scope.unit.in_(moved)))
    conn.execute(delete(KeySetUnit).where(KeySetUnit.unit.in_(moved)))
    rows = [{"unit": u, "key": k} for u in moved for k in sorted(wanted.get(u, ()))]
    if rows:
        conn.execute(insert(Scope), rows)
    for unit in moved:
        reached = _reached(session, unit, wanted.get(unit, frozenset()))
        if reached:
            conn.execute(insert(KeySetUnit), [{"keyset_id": k, "unit": unit} for k in reached])
    return moved


def _reached(session: Session, unit: str, keys: frozenset[str]) -> list[str]:
    """The stored keysets a scope with these keys counts."""
    opened = select(KeySetKey.keyset_id, KeySetKey.key).where(KeySetKey.key.in_(sorted(keys)))
    if unit.startswith(PERSON):  # only sets naming the person, not all their organization reads
        own = sorted(k for k in keys if k.startswith(PERSONAL))
        named = select(KeySetKey.keyset_id).where(KeySetKey.key.in_(own))
        opened = opened.where(KeySetKey.keyset_id.in_(named))
    met: dict[str, list[str]] = defaultdict(list)
    for kid, key in session.execute(opened):
        met[kid].append(key)
    return sorted(kid for kid, met_keys in met.items() if counts_in(unit, met_keys))


@events.during(ScopesMoved)
def _on_scopes_moved(session: Session, moved: ScopesMoved) -> None:
    changed = resync(session)
    if changed:
        events.publish(session, UnitsMoved(tuple(changed)))


__all__ = [
    "PERSON",
    "KeySet",
    "KeySetKey",
    "KeySetUnit",
    "Registered",
    "Scope",
    "Scopes",
    "UnitsMoved",
    "counts_in",
    "keys_of",
    "keyset_id",
    "profile_keys",
    "profiles",
    "readers_of_all",
    "register",
    "resync",
    "units",
    "units_of",
]
