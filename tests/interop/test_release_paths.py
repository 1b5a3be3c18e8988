"""Imports and TAXII POSTs wait for release like filing does, when the importer's organization asks.

The feed's envelope holds a GREEN report (readable outside the organization:
held for release) and an unmarked one (AMBER+STRICT to the importer's own
organization: stored as it is).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from rsn.interop.stix.ext import TLP2_IDS
from rsn.registry import service as registry
from rsn.store import Database
from tests.factories import Api, World
from tests.taxii.helpers import MAIN, node_api, taxii_world
from tests.taxii.helpers import walk as walk_pages
from tests.taxii.test_post import GREEN_REPORT, UNMARKED_REPORT, feed_envelope, post

OUTSIDE = ("bd.police", "mm.analyst")


@pytest.fixture
def world(db: Database) -> World:
    w = taxii_world(db)
    with db.session(write=True) as s:
        org = registry.get_organization(s, slug="bd-cert")
        registry.set_release_required(s, organization=org, required=True)
    return w


@pytest.fixture
def api(world: World, tmp_path: Path) -> Api:
    return node_api(world, tmp_path)


def names(api: Api, world: World, who: str) -> set[str]:
    objects, _ = walk_pages(api, world.people[who], f"{MAIN}/objects/", 100)
    return {o["name"] for o in objects if o["type"] == "report"}


def api_import(api: Api, world: World, envelope: dict[str, Any]) -> dict[str, Any]:
    bundle = {"type": "bundle", "id": "bundle--6f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b", **envelope}
    answer = api.post(
        "/api/v1/import", content=json.dumps(bundle).encode(), as_=world.people["bd.analyst"]
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def release_all(api: Api, world: World) -> None:
    duty = world.people["bd.duty"]
    for queued in api.get("/api/v1/releases", as_=duty).json():
        released = api.post(f"/api/v1/reports/{queued['report_id']}/release", as_=duty)
        assert released.status_code == 200, released.text


@pytest.mark.parametrize("path", ["taxii", "import"])
def test_a_green_object_waits_for_release(api: Api, world: World, path: str) -> None:
    if path == "taxii":
        answer = post(api, world.people["bd.analyst"], feed_envelope())
        assert answer.status_code == 202, answer.text
    else:
        assert api_import(api, world, feed_envelope())["awaiting_release"] == 1
    assert names(api, world, "bd.duty") == {"Boarding off Paradip", "Unmarked tip"}
    assert names(api, world, "bd.analyst") == {"Boarding off Paradip", "Unmarked tip"}
    assert names(api, world, "bd.policy") == {"Unmarked tip"}
    for who in OUTSIDE:
        assert names(api, world, who) == set()
    queue = api.get("/api/v1/releases", as_=world.people["bd.duty"]).json()
    assert [q["title"] for q in queue] == ["Boarding off Paradip"]

    release_all(api, world)
    for who in OUTSIDE:
        assert names(api, world, who) == {"Boarding off Paradip"}


def test_a_newer_version_that_widens_is_held(api: Api, world: World) -> None:
    api_import(api, world, feed_envelope())
    release_all(api, world)
    later = copy.deepcopy(feed_envelope())
    for obj in later["objects"]:
        if obj["id"] == UNMARKED_REPORT:
            obj["modified"] = "2026-11-03T06:00:00.000Z"
            obj["name"] = "Tip, now for everyone"
            obj["object_marking_refs"] = [TLP2_IDS["clear"]]
        if obj["id"] == GREEN_REPORT:
            obj["modified"] = "2026-11-03T06:00:00.000Z"
            obj["name"] = "Boarding off Paradip, confirmed"
    summary = api_import(api, world, later)
    assert summary["awaiting_release"] == 1
    assert names(api, world, "bd.policy") == {"Unmarked tip", "Boarding off Paradip, confirmed"}
    assert names(api, world, "mm.analyst") == {"Boarding off Paradip, confirmed"}
    release_all(api, world)
    assert names(api, world, "mm.analyst") == {
        "Tip, now for everyone",
        "Boarding off Paradip, confirmed",
    }
