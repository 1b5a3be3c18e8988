"""An import neither confirms a hidden report by its id nor merges into another organization's.

Foreign reports get fresh local ids, so an import of a file naming a hidden
report's id answers exactly like one naming an id nobody holds. Imports are keyed
by the importing organization too, so a forged copy imported first by one
organization never stands in for the genuine item another organization imports.
"""

from __future__ import annotations

import io
import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from rsn.interop import formats
from rsn.interop.model import ExportContext, ExportItem, Originator, VersionOut, report_data
from rsn.interop.stix.ext import TLP2_IDS
from rsn.reports import rows
from rsn.reports.models import Report
from rsn.store import Database
from rsn.taxii import TAXII_21
from tests.factories import Api, World, api_for, bimstec_world, days_ago, report_payload, stamp
from tests.taxii.helpers import ACCEPT, MAIN

COUNTS = ("created", "updated", "unchanged", "versions_added", "kept_objects", "warnings", "notes")
T0 = days_ago(4)
IMPORTER = "in.analyst"


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


@pytest.fixture
def api(world: World, tmp_path: Path) -> Api:
    return api_for(world.db, tmp_path)


def hidden_report(api: Api, world: World) -> str:
    """bd.analyst's RED report, which the importer may not read."""
    body = report_payload(title="Secret", tlp="red", distribution={})
    made = api.post("/api/v1/reports", as_=world.people["bd.analyst"], json=body)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def foreign_file(fmt: str, report_id: str) -> bytes:
    """Another node's export (no seal of this node) of a report with the given id."""
    data = report_data("test", report_payload(title="Tip", tlp="green", distribution={}))
    values = data.model_dump()
    values.update(lat=None, lon=None, source_identity=None, created=T0, modified=T0)
    values.update(revoked=False, revoked_reason=None, revoked_at=None)
    snapshot = rows.snapshot(values, [(o.type, o.value) for o in data.observables])
    originator = Originator("x.analyst", "x-cert", "Elsewhere CERT", "BD")
    item = ExportItem(report_id, originator, [VersionOut(1, 1, T0, snapshot)])
    out = io.BytesIO()
    formats.get(fmt).export([item], out, ExportContext("elsewhere"))
    return out.getvalue()


def imported(api: Api, world: World, who: str, body: bytes, fmt: str, *, dry_run: bool) -> Any:
    url = f"/api/v1/import?format={fmt}&dry_run={str(dry_run).lower()}"
    done = api.post(url, content=body, as_=world.people[who])
    assert done.status_code == 200, done.text
    return done.json()


def status_of(api: Api, world: World, who: str, report_id: str) -> int:
    return api.get(f"/api/v1/reports/{report_id}", as_=world.people[who]).status_code


def untouched(world: World, report_id: str, title: str, org: str) -> None:
    with world.db.session() as s:
        report = s.get(Report, report_id)
        assert report is not None and (report.title, report.version) == (title, 1)
        assert report.originator_org_id == world.orgs[org].id


@pytest.mark.parametrize("fmt", ["stix", "csv", "misp"])
def test_an_id_held_by_a_hidden_report_answers_like_a_free_one(
    api: Api, world: World, fmt: str
) -> None:
    hidden = hidden_report(api, world)
    free = str(uuid.uuid4())
    for dry_run in (True, False):
        taken = imported(api, world, IMPORTER, foreign_file(fmt, hidden), fmt, dry_run=dry_run)
        unseen = imported(api, world, IMPORTER, foreign_file(fmt, free), fmt, dry_run=dry_run)
        assert {k: taken[k] for k in COUNTS} == {k: unseen[k] for k in COUNTS}
        assert taken["created"] == unseen["created"] == 1
        assert len(taken["report_ids"]) == len(unseen["report_ids"]) == 1
        assert not {hidden, free} & {*taken["report_ids"], *unseen["report_ids"]}
    assert status_of(api, world, IMPORTER, hidden) == status_of(api, world, IMPORTER, free) == 404
    untouched(world, hidden, "Secret", "bd-cert")


def envelope(report_id: str, *, title: str, modified: str, marking: str = "green") -> Any:
    feed = "identity--5f2b8f7e-3c1d-4e2a-9b7c-6d5e4f3a2b1c"
    at = stamp(T0)
    common = {"spec_version": "2.1", "created": at}
    return {
        "objects": [
            {
                **common,
                "type": "identity",
                "id": feed,
                "modified": at,
                "name": "Coastal Watch Feed",
                "identity_class": "organization",
            },
            {
                **common,
                "type": "report",
                "id": f"report--{report_id}",
                "modified": modified,
                "name": title,
                "published": at,
                "report_types": ["threat-report"],
                "labels": ["maritime.piracy"],
                "created_by_ref": feed,
                "object_marking_refs": [TLP2_IDS[marking]],
                "object_refs": [feed],
            },
        ]
    }


def taxii_post(api: Api, world: World, who: str, body: Any) -> Any:
    headers = {**ACCEPT, "Content-Type": TAXII_21}
    answer = api.post(
        f"{MAIN}/objects/",
        as_=world.people[who],
        content=json.dumps(body).encode(),
        headers=headers,
    )
    assert answer.status_code == 202, answer.text
    return answer.json()


def test_a_taxii_post_answers_alike_for_a_hidden_id_and_a_free_one(api: Api, world: World) -> None:
    hidden = hidden_report(api, world)
    free = str(uuid.uuid4())
    answers = []
    for rid in (hidden, free):
        status = taxii_post(api, world, IMPORTER, envelope(rid, title="Tip", modified=stamp(T0)))
        text = json.dumps(status["successes"] + status["failures"]).replace(rid, "RID")
        counts = [status[k] for k in ("status", "total_count", "success_count", "failure_count")]
        answers.append((text, counts))
        found = api.get(
            f"{MAIN}/objects/",
            as_=world.people[IMPORTER],
            headers=ACCEPT,
            params={"match[id]": f"report--{rid}"},
        )
        assert found.json() == {"more": False}
    assert answers[0] == answers[1]
    assert status_of(api, world, IMPORTER, hidden) == status_of(api, world, IMPORTER, free) == 404
    untouched(world, hidden, "Secret", "bd-cert")


def test_a_forged_copy_imported_first_never_stands_in_for_the_genuine(
    api: Api, world: World
) -> None:
    rid = str(uuid.uuid4())
    far = stamp(days_ago(-365 * 70))
    forged = json.dumps(envelope(rid, title="Forged", modified=far)).encode()
    genuine = json.dumps(envelope(rid, title="Genuine", modified=stamp(T0))).encode()
    first = imported(api, world, "mm.analyst", forged, "stix", dry_run=False)
    [squatted] = first["report_ids"]

    answer = imported(api, world, IMPORTER, genuine, "stix", dry_run=False)
    assert (answer["created"], answer["unchanged"]) == (1, 0)
    [own] = answer["report_ids"]
    assert own not in (squatted, rid)
    got = api.get(f"/api/v1/reports/{own}", as_=world.people[IMPORTER])
    assert got.status_code == 200 and got.json()["title"] == "Genuine"
    untouched(world, squatted, "Forged", "mm-cert")
    untouched(world, own, "Genuine", "in-cert")

    again = imported(api, world, IMPORTER, genuine, "stix", dry_run=False)
    assert (again["created"], again["unchanged"], again["report_ids"]) == (0, 1, [own])
    later = envelope(rid, title="Genuine, corrected", modified=stamp(T0 + timedelta(days=1)))
    newer = imported(api, world, IMPORTER, json.dumps(later).encode(), "stix", dry_run=False)
    assert (newer["created"], newer["updated"], newer["report_ids"]) == (0, 1, [own])
    untouched(world, squatted, "Forged", "mm-cert")
