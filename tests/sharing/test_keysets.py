"""Every reader counts every item they read exactly once, through the scopes they sum.

`keysets` maps each distinct set of audience keys to the scopes that count it, and a
reader sums the scopes `units_of` names. The property, for any set of keys drawn from
what the node's readers hold, mixed freely (a person's own keys beside an organization's,
a state's, a group's): each reader's scopes count it once if they may read it and never
if not. It must hold for sets registered before a registry change (a role given, an
organization retyped: `resync`) as well as after, and the kept mapping must agree with
the one derived from the registry in memory (`Scopes.counting`).

`mem:` keys are left out: they mark alerts, which are not counted per scope.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rsn.sharing import Principal, keysets
from rsn.sharing.policy import MEMBERS, ORG_MEMBERS, PUBLIC
from rsn.store import Database
from tests.factories import World
from tests.reports.test_tallies import change_role, retyped
from tests.sharing.test_readers_of_all import bay_world


@pytest.fixture
def world(db: Database) -> Iterator[World]:
    yield bay_world(db, ("bd.liaison", "bd-cert", "liaison"))  # bd-cert's release keys


def universe(world: World) -> list[str]:
    """Every key some reader holds, but `public`, `members` (which no set mixes) and `mem:`."""
    held = {k for p in world.people.values() for k in p.principal.keys}
    return sorted(k for k in held if k not in (PUBLIC, MEMBERS) and not k.startswith(ORG_MEMBERS))


def readers(world: World) -> list[Principal]:
    return [p.principal for p in world.people.values()]


def counted_once(world: World, sets: list[frozenset[str]]) -> None:
    """Each reader's scopes count each set once if they read it, else not at all."""
    with world.db.session() as s:
        ids = {keys: keysets.keyset_id(keys) for keys in sets}
        kept = keysets.units(s, ids.values())
        scopes = keysets.Scopes.of(s)
        for keys, kid in ids.items():
            assert sorted(kept[kid]) == scopes.counting(keys), sorted(keys)
            for who in readers(world):
                times = sum(1 for u in keysets.units_of(who) if u in kept[kid])
                assert times == (1 if keys & who.keys else 0), (who.username, sorted(keys))


def register(world: World, sets: list[frozenset[str]]) -> None:
    with world.db.session(write=True) as s:
        keysets.register(s, sets)


@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None, max_examples=25
)
@given(data=st.data())
def test_each_reader_counts_each_readable_set_once(world: World, data: st.DataObject) -> None:
    # Indexes into the keys, not the keys: the world (and so its keys) grows as examples
    # run on the one store, and the draws must not depend on it.
    keys = universe(world)
    some = st.lists(st.integers(0, 999), min_size=1, max_size=4).map(
        lambda picks: frozenset(keys[i % len(keys)] for i in picks)
    )
    before = data.draw(st.lists(some, min_size=1, max_size=12), label="before")
    before += [frozenset({PUBLIC}), frozenset({MEMBERS})]
    register(world, before)
    counted_once(world, before)

    role = data.draw(st.sampled_from(["analyst", "observer", "duty-officer"]), label="role")
    change_role(world, role, "bd.policy")
    change_role(world, data.draw(st.sampled_from(["liaison", "analyst"])), "bd.liaison")
    if data.draw(st.booleans(), label="retype"):
        retyped(world, "in-watch", "government-agency", "IN")
    world.person(f"bd.new{len(world.people)}", "bd-cert", role="liaison")
    after = data.draw(st.lists(some, min_size=0, max_size=6), label="after")
    register(world, after)
    counted_once(world, before + after)


def test_a_person_scope_counts_only_what_their_own_keys_alone_open(world: World) -> None:
    """A set that opens to a person and to their organization counts in the organization's
    scope, not in theirs as well; one naming only them counts in theirs."""
    liaison = world.people["bd.liaison"].principal
    own = sorted(k for k in liaison.keys if k.startswith(keysets.PERSON))
    watcher, police = (world.people[n].principal for n in ("bd.watcher", "bd.police"))
    (org_key,) = (liaison.keys & watcher.keys) - police.keys - {PUBLIC}  # bd-cert's own key
    mixed, alone = frozenset({own[0], org_key}), frozenset(own)
    register(world, [mixed, alone])
    with world.db.session() as s:
        kept = keysets.units(s, [keysets.keyset_id(mixed), keysets.keyset_id(alone)])
    assert kept[keysets.keyset_id(mixed)] == [liaison.organization_id]
    assert kept[keysets.keyset_id(alone)] == own
