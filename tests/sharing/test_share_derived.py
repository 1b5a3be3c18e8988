"""`sharing.share_derived`: an item built from others is shared with exactly the readers
of every source, through the same grants as any item, and names its marking in TLP."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from rsn import sharing
from rsn.sharing.models import SharingGrant
from rsn.store import Database
from tests.factories import World, bimstec_world

READERS = ["bd.analyst", "bd.police", "in.analyst", "in.coast", "mm.analyst", "in.watch"]


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


def source(world: World, author: str, tlp: str, **distribution: Any) -> str:
    """A throwaway item of the kind `note`, shared as its author marked it."""
    item_id = str(uuid.uuid4())
    with world.db.session(write=True) as s:
        sharing.share(
            s,
            kind="note",
            item_id=item_id,
            tlp=tlp,
            distribution=distribution,
            originator=world.people[author].principal,
        )
    return item_id


def derive(world: World, sources: list[str]) -> tuple[str, frozenset[str]]:
    item_id = str(uuid.uuid4())
    with world.db.session(write=True) as s:
        keys = sharing.share_derived(
            s, kind="summary", item_id=item_id, sources=sources, source_kind="note", fresh=True
        )
    return item_id, keys


def who_reads(world: World, item_id: str) -> set[str]:
    with world.db.session() as s:
        return {r for r in READERS if sharing.can_read(s, world.people[r].principal, item_id)}


def test_the_built_item_is_read_by_those_who_read_every_source(world: World) -> None:
    green = source(world, "bd.analyst", "green")
    to_india = source(world, "bd.analyst", "amber", member_states=["IN"])
    built, keys = derive(world, [green, to_india])
    both = who_reads(world, green) & who_reads(world, to_india)
    assert who_reads(world, built) == both
    assert "in.analyst" in both and "mm.analyst" not in both  # the amber source decides
    assert sharing.derived_tlp(keys) == "amber"


def test_markings_named_in_tlp(world: World) -> None:
    clear = [source(world, "bd.analyst", "clear") for _ in range(2)]
    green = source(world, "in.analyst", "green")
    _, open_keys = derive(world, clear)
    _, member_keys = derive(world, [*clear, green])
    assert sharing.derived_tlp(open_keys) == "clear"
    assert sharing.derived_tlp(member_keys) == "green"
    built, _ = derive(world, [green])
    assert "in.watch" not in who_reads(world, built)  # an observer reads no green item


@pytest.mark.parametrize("closed", ["unshared", "red"])
def test_a_source_open_to_no_one_or_to_named_people_writes_nothing(
    world: World, closed: str
) -> None:
    green = source(world, "bd.analyst", "green")
    other = (
        str(uuid.uuid4())
        if closed == "unshared"
        else source(world, "bd.analyst", "red", users=["in.analyst"])
    )
    item_id = str(uuid.uuid4())
    with world.db.session(write=True) as s, pytest.raises(ValueError):
        sharing.share_derived(
            s,
            kind="summary",
            item_id=item_id,
            sources=[green, other],
            source_kind="note",
            fresh=True,
        )
    with world.db.session() as s:
        grants = s.scalar(
            select(func.count()).select_from(SharingGrant).where(SharingGrant.item_id == item_id)
        )
    assert grants == 0
