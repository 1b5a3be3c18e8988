"""CAP end to end: outbound -> export -> independent checkers; file -> parse -> ingest."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import func, select

from rsn.errors import ValidationError
from rsn.interop import flows, ingest, outbound
from rsn.reports import service
from rsn.reports.models import Report
from rsn.reports.schemas import ReportCreate
from rsn.store import Database
from tests.factories import World, bimstec_world, report_payload
from tests.interop.cap_support import (
    alert_xml,
    checked,
    export,
    feed_xml,
    parse,
    sample,
)


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


def file_warning(world: World, who: str, **fields: Any) -> str:
    payload = report_payload(category="disaster.flood", title="Flash flood in Sylhet", **fields)
    with world.db.session(write=True) as s:
        data = ReportCreate.model_validate(payload)
        return service.create(s, principal=world.people[who].principal, data=data)


def count_reports(world: World) -> int:
    with world.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Report)) or 0)


def test_end_to_end_a_shared_warning_exports_and_imports_with_its_fields(world: World) -> None:
    rid = file_warning(world, "bd.analyst", observables=[])
    file_report_fields = {"category": "cyber.attack", "title": "Not a warning"}
    with world.db.session(write=True) as s:
        data = ReportCreate.model_validate(report_payload(**file_report_fields))
        service.create(s, principal=world.people["bd.analyst"].principal, data=data)
    with world.db.session() as s:
        items = outbound.items(s, principal=world.people["in.analyst"].principal)
    written, document = export(*items)
    [parsed] = checked(document)
    assert written == 1 and parsed["cap_id"] == f"{rid}.1"
    with world.db.session(write=True) as s:
        importer = world.people["in.analyst"].principal
        summary = ingest.store(s, principal=importer, items=parse(document))
        [copy] = summary.report_ids
        assert copy != rid  # a foreign report always gets a local id of its own
        back = service.get(s, principal=importer, report_id=copy)
        original = service.get(s, principal=importer, report_id=rid)
        for name in ("title", "category", "description", "occurred_at", "country", "severity"):
            assert getattr(back, name) == getattr(original, name), name
        for name in ("confidence", "tlp", "source_reliability", "information_credibility"):
            assert getattr(back, name) == getattr(original, name), name
        assert (back.lat, back.lon) == (original.lat, original.lon)
        assert back.distribution == original.distribution
        assert back.source_identity == "BD-CERT"
    with world.db.session(write=True) as s:
        again = ingest.store(s, principal=importer, items=parse(document))
    assert (again.created, again.unchanged) == (0, 1)


def test_end_to_end_an_update_file_adds_a_version(world: World) -> None:
    first = alert_xml("FF-1", sent="2026-07-01T06:00:00+06:00", headline="Flood watch")
    update = alert_xml(
        "FF-2",
        "Update",
        references="ffwc@bwdb.gov.bd,FF-1,2026-07-01T06:00:00+06:00",
        sent="2026-07-01T09:00:00+06:00",
        headline="Flood warning",
    )
    importer = world.people["bd.analyst"].principal
    with world.db.session(write=True) as s:
        [rid] = ingest.store(s, principal=importer, items=parse(first.encode())).report_ids
    with world.db.session(write=True) as s:
        summary = ingest.store(s, principal=importer, items=parse(update.encode()))
        assert (summary.report_ids, summary.versions_added) == ([rid], 1)
        report = service.get(s, principal=importer, report_id=rid)
        assert (report.version, report.title, report.tlp) == (2, "Flood warning", "clear")


def test_end_to_end_a_bad_file_stores_nothing(world: World) -> None:
    good, bad = alert_xml("FF-1"), alert_xml("FF-2").replace("<severity>Moderate", "<severity>")
    before = count_reports(world)
    with pytest.raises(ValidationError), world.db.session(write=True) as s:
        flows.import_stream(
            s,
            principal=world.people["bd.analyst"].principal,
            stream=io.BytesIO(feed_xml(good, bad)),
        )
    assert count_reports(world) == before


def test_end_to_end_import_and_export_flows_detect_and_write_cap(world: World) -> None:
    with world.db.session(write=True) as s:
        result = flows.import_stream(
            s,
            principal=world.people["bd.analyst"].principal,
            stream=io.BytesIO(sample("oasis-cap12-a3-earthquake-update.xml")),
        )
    assert result.format == "cap" and result.summary.created == 1
    file_warning(world, "bd.analyst")
    out = io.BytesIO()
    with world.db.session(write=True) as s:
        written = flows.export_stream(
            s, principal=world.people["bd.analyst"].principal, out=out, format="cap"
        )
    parsed = checked(out.getvalue())
    assert written == 2 and len(parsed) == 2
    quake = next(a for a in parsed if a["cap_info"][0]["cap_event"] == "Earthquake")
    assert quake["cap_info"][0]["cap_sender_name"] == (
        "Southern California Seismic Network (TriNet) operated by Caltech and USGS"
    )
