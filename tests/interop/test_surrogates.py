"""A lone UTF-16 surrogate is refused by every JSON import, naming where, as REST refuses it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from rsn.reports.models import Report
from rsn.store import Database
from rsn.taxii import TAXII_21
from tests.factories import Api, World, api_for, bimstec_world
from tests.taxii.helpers import ACCEPT, MAIN

LONE = "x\ud800y"  # json.dumps writes it as the escape "x\\ud800y"
PAIR = "ship \U0001f6a2"  # written as a surrogate pair, which is a character
T = "2026-11-02T06:00:00.000Z"


def indicator(name: str) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": T,
        "modified": T,
        "name": name,
        "pattern": "[ipv4-addr:value = '198.51.100.1']",
        "pattern_type": "stix",
        "valid_from": T,
    }


def stix(name: str) -> bytes:
    bundle = {"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d"}
    return json.dumps({**bundle, "objects": [indicator(name)]}).encode()


def misp(info: str) -> bytes:
    event = {
        "info": info,
        "date": "2026-02-01",
        "Attribute": [{"type": "domain", "value": "a.example"}],
    }
    return json.dumps({"Event": event}).encode()


def reports(world: World) -> int:
    with world.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Report)) or 0)


def imported(api: Api, world: World, body: bytes) -> Any:
    return api.post("/api/v1/import", content=body, as_=world.people["in.analyst"])


def test_files_with_a_lone_surrogate_are_refused_by_path(db: Database, tmp_path: Path) -> None:
    world, api = bimstec_world(db), api_for(db, tmp_path)
    for body, field in ((stix(LONE), "objects[0].name"), (misp(LONE), "Event.info")):
        answer = imported(api, world, body)
        assert answer.status_code == 422, answer.text
        assert [e["field"] for e in answer.json()["errors"]] == [field]
        assert "lone UTF-16 surrogate ('\\ud800')" in answer.json()["errors"][0]["message"]
    assert reports(world) == 0
    rest = api.post(
        "/api/v1/reports",
        content=json.dumps({"title": LONE}),
        headers={"Content-Type": "application/json"},
        as_=world.people["in.analyst"],
    )
    assert rest.status_code == 422 and "title" in [e["field"] for e in rest.json()["errors"]]
    assert imported(api, world, misp(PAIR)).status_code == 200  # a pair is a character
    with world.db.session() as s:
        assert s.scalars(select(Report.title)).all() == [PAIR]


def test_a_taxii_envelope_with_a_lone_surrogate_stores_nothing(
    db: Database, tmp_path: Path
) -> None:
    world, api = bimstec_world(db), api_for(db, tmp_path)
    answer = api.post(
        f"{MAIN}/objects/",
        content=json.dumps({"objects": [indicator(LONE)]}).encode(),
        as_=world.people["in.analyst"],
        headers={**ACCEPT, "Content-Type": TAXII_21},
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["failure_count"] == 1
    assert "objects[0].name" in answer.json()["failures"][0]["message"]
    assert reports(world) == 0
