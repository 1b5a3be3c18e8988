"""POSTing an envelope: checks before reading, all-or-nothing storage, status resources.

A feed's envelope holds a GREEN report (readable by every member) and an
unmarked one, which becomes AMBER+STRICT to the poster's organization only.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from rsn.interop.stix.ext import TLP2_IDS, sco
from rsn.reports.models import Report
from rsn.store import Database
from rsn.taxii import TAXII_21, walk
from rsn.taxii.schemas import MAX_CONTENT_LENGTH
from tests.factories import Api, Person, World
from tests.taxii.helpers import (
    ACCEPT,
    MAIN,
    ROOT,
    get,
    group_id,
    node_api,
    report_ids,
    taxii_world,
)
from tests.taxii.helpers import walk as walk_pages

T = "2026-11-02T06:00:00.000Z"
FEED = "identity--5f2b8f7e-3c1d-4e2a-9b7c-6d5e4f3a2b1c"
GREEN_REPORT = "report--1d4f6a8b-2c3e-4f5a-8b9c-0d1e2f3a4b5c"
UNMARKED_REPORT = "report--9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
MALWARE = "malware--3a7c9e1b-5d2f-4a8c-9e6b-1f3d5a7c9e2b"


def stix(kind: str, ident: str, **props: Any) -> dict[str, Any]:
    return {"type": kind, "spec_version": "2.1", "id": ident, "created": T, "modified": T, **props}


def feed_envelope() -> dict[str, Any]:
    place = f"location--{uuid.uuid4()}"
    green_ip, plain_ip = sco("ipv4-addr", "45.66.66.66"), sco("ipv4-addr", "45.66.66.67")
    return {
        "objects": [
            stix("identity", FEED, name="Coastal Watch Feed", identity_class="organization"),
            stix("location", place, country="IN", latitude=20.26, longitude=86.67),
            {"type": "ipv4-addr", "spec_version": "2.1", **green_ip},
            {"type": "ipv4-addr", "spec_version": "2.1", **plain_ip},
            stix("malware", MALWARE, name="SeaRat", is_family=False, created_by_ref=FEED),
            stix(
                "report",
                GREEN_REPORT,
                name="Boarding off Paradip",
                published=T,
                report_types=["threat-report"],
                labels=["maritime.piracy"],
                created_by_ref=FEED,
                object_marking_refs=[TLP2_IDS["green"]],
                object_refs=[place, green_ip["id"], MALWARE],
            ),
            stix(
                "report",
                UNMARKED_REPORT,
                name="Unmarked tip",
                published=T,
                report_types=["threat-report"],
                labels=["maritime.piracy"],
                created_by_ref=FEED,
                object_refs=[place, plain_ip["id"]],
            ),
        ]
    }


@pytest.fixture
def world(db: Database) -> World:
    return taxii_world(db)


@pytest.fixture
def api(world: World, tmp_path: Path) -> Api:
    return node_api(world, tmp_path)


def post(
    api: Api, who: Person | None, body: Any, url: str = f"{MAIN}/objects/", **headers: str
) -> Any:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    merged = {**ACCEPT, "Content-Type": TAXII_21, **headers}
    return api.post(url, as_=who, content=content, headers=merged)


def count_reports(world: World) -> int:
    with world.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Report)) or 0)


def test_an_envelope_becomes_reports_for_the_right_readers(world: World, api: Api) -> None:
    bd = world.people["bd.analyst"]
    answer = post(api, bd, feed_envelope())
    assert answer.status_code == 202, answer.text
    assert answer.headers["content-type"] == TAXII_21
    status = answer.json()
    assert status["status"] == "complete" and status["total_count"] == 7
    assert (status["success_count"], status["failure_count"], status["pending_count"]) == (7, 0, 0)
    assert {d["id"] for d in status["successes"]} >= {GREEN_REPORT, UNMARKED_REPORT, FEED}
    assert all(d["version"] for d in status["successes"])

    again = get(api, f"{ROOT}/status/{status['id']}/", bd)
    assert again.status_code == 200 and again.json() == status
    assert get(api, f"{ROOT}/status/{status['id']}", bd).json() == status  # taxii2-client's URL
    other = get(api, f"{ROOT}/status/{status['id']}/", world.people["bd.duty"])
    assert other.status_code == 404 and other.json()["http_status"] == "404"

    def names(who: str) -> set[str]:
        objects, _ = walk_pages(api, world.people[who], f"{MAIN}/objects/", 100)
        return {o["name"] for o in objects if o["type"] == "report"}

    assert names("bd.duty") == {"Boarding off Paradip", "Unmarked tip"}
    assert names("bd.police") == names("mm.analyst") == {"Boarding off Paradip"}
    assert names("in.watch") == set()  # an observer is no member: GREEN is not for them

    replay = post(api, bd, feed_envelope()).json()  # the same objects again change nothing
    assert replay["success_count"] == 7 and count_reports(world) == 2

    # the malware object was kept with the GREEN report: found by its id through the index
    with world.db.session() as s:
        [holder] = walk.holders(s, frozenset({MALWARE})) or []
        assert walk.holders(s, frozenset({MALWARE, f"report--{holder}"})) == [holder]
        assert walk.holders(s, frozenset({MALWARE, "indicator--0"})) is None
    kept = get(api, f"{MAIN}/objects/{MALWARE}/", world.people["mm.analyst"])
    assert [o["name"] for o in kept.json()["objects"]] == ["SeaRat"]


def test_one_bad_object_stores_nothing_and_is_named(world: World, api: Api) -> None:
    envelope = feed_envelope()
    envelope["objects"][5]["confidence"] = "very"
    answer = post(api, world.people["bd.analyst"], envelope)
    assert answer.status_code == 202, answer.text
    status = answer.json()
    assert (status["success_count"], status["failure_count"]) == (0, 7)
    blamed = [d for d in status["failures"] if d["id"] == GREEN_REPORT]
    assert "objects[5].confidence" in blamed[0]["message"]
    others = [d["message"] for d in status["failures"] if d["id"] != GREEN_REPORT]
    assert all("objects[5].confidence" in m and "all or nothing" in m for m in others)
    assert count_reports(world) == 0
    assert (
        report_ids(walk_pages(api, world.people["bd.analyst"], f"{MAIN}/objects/", 100)[0]) == set()
    )


def test_a_post_is_checked_before_anything_is_read(world: World, api: Api) -> None:
    bd, watch, coast = (world.people[n] for n in ("bd.analyst", "in.watch", "in.coast"))
    envelope = feed_envelope()
    cases = [
        (post(api, bd, envelope, **{"Content-Type": "application/json"}), 415),
        (post(api, bd, envelope, **{"Content-Type": "application/taxii+json;version=2.0"}), 415),
        (post(api, bd, b"{not json"), 400),
        (post(api, bd, {"objects": "none"}), 400),
        (post(api, bd, [1, 2]), 400),
        (post(api, bd, b"x" * (MAX_CONTENT_LENGTH + 1)), 413),
        (post(api, None, envelope), 401),
        (post(api, watch, envelope), 403),
        (post(api, coast, envelope, url=f"{ROOT}/collections/{group_id(world)}/objects/"), 403),
        (post(api, bd, envelope, url=f"{ROOT}/collections/{group_id(world)}/objects/"), 404),
    ]
    for answer, code in cases:
        assert answer.status_code == code, (code, answer.text)
        assert answer.headers["content-type"] == TAXII_21
        assert answer.json()["http_status"] == str(code)
    assert count_reports(world) == 0
    assert post(api, bd, {"objects": []}).json()["total_count"] == 0
