"""Any kind of item is shared by one call, and read, listed, counted and audienced like reports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from rsn import sharing
from rsn.errors import ValidationError
from rsn.sharing import SharingGrant
from rsn.store import Database
from tests.factories import World, bimstec_world
from tests.sharing.kinds import NOTE_KIND, create_table, notes, write_note


@pytest.fixture
def world(db: Database) -> Iterator[World]:
    w = bimstec_world(db)
    with db.session(write=True) as s:
        create_table(s)
    yield w
    with db.session(write=True) as s:
        notes.drop(s.connection())


def titles(world: World, who: str) -> set[str]:
    principal = world.people[who].principal
    with world.db.session() as s:
        query = select(notes.c.title).where(sharing.visible(principal, notes.c.id))
        return set(s.scalars(query))


def count(world: World, who: str) -> int:
    principal = world.people[who].principal
    with world.db.session() as s:
        query = (
            select(func.count()).select_from(notes).where(sharing.visible(principal, notes.c.id))
        )
        return int(s.scalar(query) or 0)


def test_a_new_kind_is_listed_read_counted_and_audienced_through_sharing_alone(
    world: World,
) -> None:
    bd = world.people["bd.analyst"].principal
    with world.db.session(write=True) as s:
        green = write_note(s, by=bd, title="green", tlp="green", distribution={})
        strict = write_note(s, by=bd, title="strict", tlp="amber+strict", distribution={})
        red = write_note(s, by=bd, title="red", tlp="red", distribution={"users": ["in.analyst"]})
        amber = write_note(
            s, by=bd, title="amber", tlp="amber", distribution={"member_states": ["IN"]}
        )
    assert titles(world, "bd.analyst") == {"green", "strict", "red", "amber"}
    assert titles(world, "bd.police") == {"green"}  # another organization of the same state
    assert titles(world, "in.analyst") == {"green", "red", "amber"}
    assert titles(world, "in.watch") == set()  # an observer: no green, not a government agency
    assert count(world, "in.coast") == 2  # green, and amber to India's government agencies
    with world.db.session() as s:
        assert sharing.can_read(s, world.people["in.analyst"].principal, red.item_id)
        assert not sharing.can_read(s, world.people["in.coast"].principal, red.item_id)
        assert not sharing.can_read(s, world.people["mm.analyst"].principal, strict.item_id)
        assert red.audience(s).user_count == 2  # the author and the one named
        assert {o.slug for o in amber.audience(s).organizations} == {
            "bd-cert",
            "in-cert",
            "in-coastguard",
        }
        assert green.audience(s).user_count == sum(
            1 for p in world.people.values() if p.principal.role != "observer"
        )
        kinds = set(s.scalars(select(SharingGrant.kind).where(SharingGrant.item_id == red.item_id)))
        assert kinds == {NOTE_KIND}


def test_a_refused_distribution_writes_nothing_and_unshare_closes_an_item(world: World) -> None:
    bd = world.people["bd.analyst"].principal
    with pytest.raises(ValidationError) as refused, world.db.session(write=True) as s:
        write_note(s, by=bd, title="wrong", tlp="green", distribution={"member_states": ["IN"]})
    assert [p.field for p in refused.value.problems] == ["distribution.member_states"]
    assert count(world, "bd.analyst") == 0
    with world.db.session(write=True) as s:
        shared = write_note(s, by=bd, title="closed", tlp="clear", distribution={})
    assert count(world, "in.watch") == 1
    with world.db.session(write=True) as s:
        sharing.unshare(s, [shared.item_id])
    assert count(world, "in.watch") == count(world, "bd.analyst") == 0
