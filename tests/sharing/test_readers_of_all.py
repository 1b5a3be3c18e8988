"""An item built from others (an alert from its reports) is read exactly by those who read all.

`keysets.readers_of_all` turns the reports' keys into the built item's keys. The
property: for any reports and any reader, the reader holds a key of the result exactly
when they hold a key of every report, so an alert neither reveals a report to someone
who may not read it nor hides itself from someone who may read them all.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rsn import sharing
from rsn.registry import service as registry
from rsn.sharing import Distribution, keysets
from rsn.store import Database
from tests.factories import World, bimstec_world

ORGS = ["bd-cert", "bd-police", "in-cert", "in-coastguard", "mm-cert", "in-watch"]


def bay_world(db: Database, *extra: tuple[str, str, str]) -> World:
    """BIMSTEC's world with an observer of bd-cert and bd-cert's group `bay` (in-watch and
    Myanmar's agencies), and any `extra` (username, organization, role) people."""
    w = bimstec_world(db)
    w.person("bd.watcher", "bd-cert", role="observer")  # an observer of a government agency
    for username, org, role in extra:
        w.person(username, org, role=role)
    with db.session(write=True) as s:
        bd_cert = registry.get_organization(s, slug="bd-cert")
        group = registry.create_sharing_group(s, slug="bay", name="Bay", owner=bd_cert)
        registry.set_group_members(
            s,
            group=group,
            acting_org=bd_cert,
            organizations=[registry.get_organization(s, slug="in-watch")],
            member_states=["MM"],
        )
    for name in list(w.people):
        w.refresh(name)
    return w


@pytest.fixture
def world(db: Database) -> Iterator[World]:
    yield bay_world(db)


def keys_of(world: World, tlp: str, originator: str, **dist: tuple[str, ...]) -> frozenset[str]:
    org = world.orgs[originator]
    author = next(p for p in world.people.values() if p.org.id == org.id)
    return sharing.item_keys(
        tlp,
        Distribution(**dist),
        originator_user_id=author.user.id,
        originator_org_id=org.id,
    )


def readers_of_all(world: World, items: list[frozenset[str]]) -> frozenset[str]:
    with world.db.session() as s:
        return keysets.readers_of_all(s, items)


def reads(world: World, who: str, keys: frozenset[str]) -> bool:
    return bool(world.people[who].principal.keys & keys)


def test_amber_strict_of_one_agency_is_for_that_agency_alone(world: World) -> None:
    items = [keys_of(world, "amber+strict", "in-cert")] * 30
    keys = readers_of_all(world, items)
    assert [p for p in world.people if reads(world, p, keys)] == ["in.analyst"]


def test_an_observer_reads_nothing_built_over_green_reports(world: World) -> None:
    green = keys_of(world, "green", "bd-cert")
    keys = readers_of_all(world, [green, green])
    assert reads(world, "bd.analyst", keys) and reads(world, "mm.analyst", keys)
    assert not reads(world, "in.watch", keys) and not reads(world, "bd.watcher", keys)
    ours = keys_of(world, "amber", "bd-cert", member_states=("BD",))
    mixed = readers_of_all(world, [green, ours])
    assert reads(world, "bd.analyst", mixed) and reads(world, "bd.police", mixed)
    assert not reads(world, "bd.watcher", mixed)  # reads the amber one, not the green one
    assert not reads(world, "in.analyst", mixed)


def test_clear_reports_make_a_public_item_and_red_ones_none(world: World) -> None:
    clear = keys_of(world, "clear", "mm-cert")
    assert readers_of_all(world, [clear]) == frozenset({"public"})
    red = keys_of(world, "red", "in-cert")
    with pytest.raises(ValueError, match="named people"):
        readers_of_all(world, [clear, red])


MARKING = st.one_of(
    st.tuples(st.sampled_from(["clear", "green"]), st.sampled_from(ORGS), st.just(())),
    st.tuples(
        st.sampled_from(["amber", "amber+strict"]),
        st.sampled_from(ORGS),
        st.lists(
            st.one_of(
                st.tuples(st.just("state"), st.sampled_from(["BD", "IN", "MM"])),
                st.tuples(st.just("org"), st.sampled_from(ORGS)),
                st.tuples(st.just("group"), st.just("bay")),
            ),
            max_size=3,
        ).map(tuple),
    ),
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(markings=st.lists(MARKING, min_size=1, max_size=5))
def test_a_reader_reads_the_built_item_exactly_when_they_read_every_report(
    world: World, markings: list[tuple[str, str, tuple[tuple[str, str], ...]]]
) -> None:
    group_id = None
    with world.db.session() as s:
        group_id = registry.get_sharing_group(s, slug="bay").id
    items = []
    for tlp, originator, names in markings:
        dist: dict[str, tuple[str, ...]] = {}
        if tlp == "amber":
            dist["member_states"] = tuple(r for k, r in names if k == "state")
            dist["sharing_group_ids"] = tuple(group_id for k, _ in names if k == "group")
        if tlp in ("amber", "amber+strict"):
            dist["organization_ids"] = tuple(world.orgs[r].id for k, r in names if k == "org")
        items.append(keys_of(world, tlp, originator, **dist))
    keys = readers_of_all(world, items)
    for who, person in world.people.items():
        every = all(person.principal.keys & item for item in items)
        assert reads(world, who, keys) == every, (who, markings, sorted(keys))
    assert bool(keys & sharing.public_reader().keys) == all(
        sharing.public_reader().keys & item for item in items
    )
