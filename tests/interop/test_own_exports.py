"""A node knows its own export when it comes back, and only by its MAC, only for its readers."""

from __future__ import annotations

import io
import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from rsn.interop import formats, outbound, provenance
from rsn.interop.model import ExportContext
from rsn.interop.stix.ext import REPORT_EXTENSION, SEAL_PROPERTY
from rsn.reports import service
from rsn.reports.models import Report, ReportVersion
from rsn.reports.schemas import ReportCreate
from rsn.store import Database
from tests.factories import Api, World, api_for, bimstec_world, report_payload

COUNTS = ("created", "updated", "unchanged", "versions_added", "kept_objects", "warnings", "notes")


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


@pytest.fixture
def api(db: Database, tmp_path: Path, world: World) -> Api:
    return api_for(db, tmp_path)


def rows(world: World) -> tuple[int, int]:
    with world.db.session() as s:
        reports = s.scalar(select(func.count()).select_from(Report))
        versions = s.scalar(select(func.count()).select_from(ReportVersion))
        return int(reports or 0), int(versions or 0)


def file(api: Api, world: World, who: str, **fields: Any) -> str:
    made = api.post("/api/v1/reports", as_=world.people[who], json=report_payload(**fields))
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def export(api: Api, world: World, who: str, fmt: str) -> bytes:
    got = api.get(f"/api/v1/export?format={fmt}", as_=world.people[who])
    assert got.status_code == 200, got.text
    return got.content


def imported(api: Api, world: World, who: str, body: bytes, *, dry_run: bool) -> dict[str, Any]:
    url = f"/api/v1/import?dry_run={str(dry_run).lower()}"
    done = api.post(url, content=body, as_=world.people[who])
    assert done.status_code == 200, done.text
    return dict(done.json())


def counts(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: answer[k] for k in COUNTS}


def reports_of(bundle: bytes) -> list[dict[str, Any]]:
    return [o for o in json.loads(bundle)["objects"] if o["type"] == "report"]


def rewritten(bundle: bytes, change: Any) -> bytes:
    """The bundle with `change` applied to each report version's RSN extension."""
    data = json.loads(bundle)
    for obj in data["objects"]:
        if obj["type"] == "report":
            change(obj, obj["extensions"][REPORT_EXTENSION])
    return json.dumps(data).encode()


def several(api: Api, world: World) -> list[str]:
    """bd.analyst's reports (one edited twice) and one of India's that bd.analyst may read."""
    edited = file(api, world, "bd.analyst", title="edited")
    for title in ("edited once", "edited twice"):
        changed = api.patch(
            f"/api/v1/reports/{edited}", as_=world.people["bd.analyst"], json={"title": title}
        )
        assert changed.status_code == 200, changed.text
    plain = file(api, world, "bd.analyst", title="plain", tlp="green", distribution={})
    theirs = file(api, world, "in.analyst", title="India's", tlp="green", distribution={})
    return [edited, plain, theirs]


@pytest.mark.parametrize("fmt", ["stix", "misp"])
def test_own_export_comes_back_unchanged(api: Api, world: World, fmt: str) -> None:
    ids = several(api, world)
    body = export(api, world, "bd.analyst", fmt)
    before = rows(world)
    for dry_run in (True, False):
        answer = imported(api, world, "bd.analyst", body, dry_run=dry_run)
        assert (answer["created"], answer["updated"], answer["unchanged"]) == (0, 0, 3)
        assert answer["versions_added"] == 0 and sorted(answer["report_ids"]) == sorted(ids)
        assert rows(world) == before
    # A colleague who may read the same reports gets the same answer.
    answer = imported(api, world, "bd.duty", body, dry_run=False)
    assert answer["unchanged"] == 3 and rows(world) == before


def test_an_export_older_than_the_report_is_still_unchanged(api: Api, world: World) -> None:
    rid = file(api, world, "bd.analyst")
    body = export(api, world, "bd.analyst", "stix")
    api.patch(f"/api/v1/reports/{rid}", as_=world.people["bd.analyst"], json={"title": "newer"})
    before = rows(world)
    answer = imported(api, world, "bd.analyst", body, dry_run=False)
    assert (answer["unchanged"], answer["report_ids"]) == (1, [rid]) and rows(world) == before


def _other_node(obj: dict[str, Any], ext: dict[str, Any]) -> None:
    """Sealed as another node would: a right MAC under a key this node does not hold."""
    other = provenance.NodeMac(secrets.token_bytes(32))
    unsealed = {k: v for k, v in ext.items() if k != SEAL_PROPERTY}
    head = {**obj, "extensions": {**obj["extensions"], REPORT_EXTENSION: unsealed}}
    digest = provenance.digest(head)
    assert digest is not None
    ext[SEAL_PROPERTY] = other.sign(obj["id"].split("--", 1)[1], ext["version"], digest)


TAMPERINGS = {
    "edited content": lambda obj, ext: obj.update(name=obj["name"] + "!"),
    "edited version": lambda obj, ext: ext.update(version=ext["version"] + 1),
    "forged MAC": lambda obj, ext: ext.update({SEAL_PROPERTY: "0" * 64}),
    "no MAC": lambda obj, ext: ext.pop(SEAL_PROPERTY),
    "another node's MAC": _other_node,
}


@pytest.mark.parametrize("tampering", TAMPERINGS)
def test_what_the_node_cannot_prove_is_new(api: Api, world: World, tampering: str) -> None:
    rid = file(api, world, "bd.analyst", tlp="green", distribution={})
    original = export(api, world, "bd.analyst", "stix")
    assert imported(api, world, "bd.analyst", original, dry_run=True)["unchanged"] == 1
    body = rewritten(original, TAMPERINGS[tampering])
    for dry_run in (True, False):
        answer = imported(api, world, "bd.analyst", body, dry_run=dry_run)
        assert (answer["created"], answer["unchanged"]) == (1, 0)
        assert answer["report_ids"] != [rid]
    assert rows(world)[0] == 2


def test_a_misp_event_edited_after_export_is_new(api: Api, world: World) -> None:
    file(api, world, "bd.analyst", tlp="green", distribution={})
    original = export(api, world, "bd.analyst", "misp")
    assert imported(api, world, "bd.analyst", original, dry_run=True)["unchanged"] == 1
    data = json.loads(original)
    data["response"][0]["Event"]["info"] = "edited after export"
    answer = imported(api, world, "bd.analyst", json.dumps(data).encode(), dry_run=True)
    assert (answer["created"], answer["unchanged"]) == (1, 0)


def sealed_export_of_an_absent_report(world: World, fmt: str) -> bytes:
    """What this node would export of a report bd.analyst files and that then never was."""
    author = world.people["bd.analyst"].principal
    with world.db.session() as s:
        try:
            data = ReportCreate.model_validate(report_payload(tlp="amber", distribution={}))
            absent = service.create(s, principal=author, data=data)
            out = io.BytesIO()
            context = ExportContext("rsn", seal=provenance.node_mac(s).sign)
            formats.get(fmt).export(
                outbound.items(s, principal=author, report_ids=[absent]), out, context
            )
            return out.getvalue()
        finally:
            s.rollback()


@pytest.mark.parametrize("fmt", ["stix", "misp"])
def test_a_hidden_report_answers_as_an_absent_one(api: Api, world: World, fmt: str) -> None:
    """bd.analyst's own export, imported by others who may not read it: new to them."""
    hidden = file(api, world, "bd.analyst", tlp="amber", distribution={})
    body = export(api, world, "bd.analyst", fmt)
    gone = sealed_export_of_an_absent_report(world, fmt)
    assert imported(api, world, "bd.analyst", body, dry_run=True)["unchanged"] == 1
    for who in ("in.analyst", "bd.police"):
        for dry_run in (True, False):
            seen = imported(api, world, who, body, dry_run=dry_run)
            unseen = imported(api, world, who, gone, dry_run=dry_run)
            assert counts(seen) == counts(unseen)
            assert (seen["created"], seen["unchanged"]) == (1, 0)
            assert seen["report_ids"] != [hidden]
    with world.db.session() as s:
        kept = s.get(Report, hidden)
        assert (
            kept is not None
            and kept.version == 1
            and kept.originator_org_id == world.orgs["bd-cert"].id
        )


DATA = Path(__file__).parent.parent / "data"


@pytest.mark.parametrize("fmt", ["stix", "misp"])
def test_reports_with_kept_objects_come_back_unchanged_unless_one_is_edited(
    api: Api, world: World, fmt: str
) -> None:
    """Imported from third parties (what RSN has no field for kept), exported, re-imported."""
    for name in ("stix/poisonivy.json", "misp/circl-osint-xorist.json"):
        first = imported(api, world, "in.analyst", (DATA / name).read_bytes(), dry_run=False)
        assert first["created"] == 1 and first["kept_objects"] > 0
    body = export(api, world, "in.analyst", fmt)
    before = rows(world)
    answer = imported(api, world, "in.analyst", body, dry_run=False)
    assert (answer["created"], answer["unchanged"]) == (0, 2) and rows(world) == before
    if fmt == "stix":
        data = json.loads(body)
        malware = next(o for o in data["objects"] if o["type"] == "malware")
        malware["name"] += " (edited)"
        edited = imported(api, world, "in.analyst", json.dumps(data).encode(), dry_run=True)
        assert (edited["created"], edited["unchanged"]) == (1, 1)


def test_an_export_sealed_before_a_key_rotation_is_still_unchanged(api: Api, world: World) -> None:
    several(api, world)
    old = export(api, world, "bd.analyst", "stix")
    with world.db.session(write=True) as s:
        assert provenance.rotate(s)
    new = export(api, world, "bd.analyst", "stix")
    seals = [r["extensions"][REPORT_EXTENSION][SEAL_PROPERTY] for r in reports_of(old)]
    resealed = [r["extensions"][REPORT_EXTENSION][SEAL_PROPERTY] for r in reports_of(new)]
    assert not set(seals) & set(resealed)  # new exports are sealed with the new key only
    before = rows(world)
    for body in (old, new):
        answer = imported(api, world, "bd.analyst", body, dry_run=False)
        assert (answer["created"], answer["unchanged"]) == (0, 3) and rows(world) == before
