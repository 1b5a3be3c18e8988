"""TAXII `next` cursors: opaque, one length, bound to their caller, and still resumable.

A plain cursor carried the node-wide commit number, so two of them told a reader how
many reports it may not see were filed in between. India's analyst pages through
Bangladesh's reports while Bangladesh files fifty red ones India may not read.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from rsn.store import Database
from tests.factories import Api, World
from tests.taxii.helpers import MAIN, file, get, keys, node_api, taxii_world, walk

URL = f"{MAIN}/objects/"
NOBODY = {"member_states": [], "organizations": [], "sharing_groups": [], "users": []}


@pytest.fixture
def world(db: Database) -> World:
    w = taxii_world(db)
    for i in range(2):
        file(w, "bd.analyst", title=f"Before {i}")
    for i in range(50):
        file(w, "bd.analyst", title=f"Hidden {i}", tlp="red", distribution=NOBODY)
    for i in range(2):
        file(w, "bd.analyst", title=f"After {i}")
    return w


@pytest.fixture
def api(world: World, tmp_path: Path) -> Api:
    return node_api(world, tmp_path)


def raw(cursor: str) -> bytes:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))


def test_cursors_around_hidden_writes_cannot_be_read_or_compared(world: World, api: Api) -> None:
    india = world.people["in.analyst"]
    objects, pages = walk(api, india, URL, 2)
    cursors = [p.json()["next"] for p in pages if "next" in p.json()]
    assert len(cursors) >= 3
    # Every cursor has one length and none spells a number a reader could subtract.
    assert len({len(c) for c in cursors}) == 1
    assert not any(re.search(rb"\d+\.\d+", raw(c)) for c in cursors)
    # Asking for the same page twice gives two different cursors that lead to the same place.
    again = [get(api, URL, india, limit=2).json()["next"] for _ in range(2)]
    assert again[0] != again[1]
    follow = [get(api, URL, india, limit=2, next=c).json()["objects"] for c in again]
    assert keys(follow[0]) == keys(follow[1])
    # The walk still reaches every visible object, and each report exactly once.
    whole = get(api, URL, india, limit=1000).json()["objects"]
    assert keys(objects) == keys(whole)
    titles = [o["name"] for o in objects if o["type"] == "report"]
    assert sorted(titles) == ["After 0", "After 1", "Before 0", "Before 1"]


def test_a_tampered_cursor_or_another_users_is_refused(world: World, api: Api) -> None:
    india, coast = world.people["in.analyst"], world.people["in.coast"]
    cursor = get(api, URL, india, limit=2).json()["next"]
    flipped = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    for who, value in ((india, flipped), (india, cursor[:-4]), (coast, cursor)):
        refused = get(api, URL, who, limit=2, next=value)
        assert refused.status_code == 400, refused.text
        assert "next" in refused.json()["description"]
    assert get(api, URL, india, limit=2, next=cursor).status_code == 200


def test_a_cursor_survives_a_restart(world: World, api: Api, tmp_path: Path) -> None:
    india = world.people["in.analyst"]
    cursor = get(api, URL, india, limit=2).json()["next"]
    before = get(api, URL, india, limit=2, next=cursor).json()["objects"]
    restarted = node_api(world, tmp_path)
    after = get(restarted, URL, india, limit=2, next=cursor)
    assert after.status_code == 200 and keys(after.json()["objects"]) == keys(before)
