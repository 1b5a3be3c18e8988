"""A MISP event without a date, as PyMISP writes one, imports dated as MISP would date it."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pymisp import MISPEvent
from typer.testing import CliRunner

from rsn.cli.main import app
from rsn.interop import misp
from rsn.interop.model import ImportContext, Incoming
from rsn.registry.taxonomy import load_base
from rsn.reports import service
from rsn.store import Database
from tests.conftest import Clock
from tests.factories import World, api_for, bimstec_world

CATEGORIES = load_base().ids()


def pymisp_event(*, timestamp: datetime | None = None, published: datetime | None = None) -> bytes:
    """The issue's event: info, a tlp:green tag, a domain and an ip-dst, by `to_json()`."""
    event = MISPEvent(force_timestamps=timestamp is not None)
    event.info = "Phishing wave against ministries"
    event.add_tag("tlp:green")
    event.add_attribute("domain", "login-gov.example")
    event.add_attribute("ip-dst", "203.0.113.45")
    if timestamp is not None:
        event.timestamp = timestamp
    if published is not None:
        event.publish_timestamp = published
    return event.to_json().encode()


def read(body: bytes) -> Incoming:
    [item] = misp.parse(io.BytesIO(body), ImportContext("in-cert", "IN", CATEGORIES))
    return item


def test_the_date_comes_from_the_timestamp(clock: Clock) -> None:
    changed = clock.now - timedelta(days=3, hours=5)
    item = read(pymisp_event(timestamp=changed))
    [version] = item.versions
    assert version.data.occurred_at == datetime.combine(changed.date(), datetime.min.time(), UTC)
    assert item.notes == [
        f"Event[0].date: missing; taken from timestamp ({changed.date().isoformat()})."
    ]


def test_else_from_the_publication(clock: Clock) -> None:
    published = clock.now - timedelta(days=9)
    item = read(pymisp_event(published=published))
    assert item.versions[0].data.occurred_at.date() == published.date()
    assert item.notes == [
        f"Event[0].date: missing; taken from publish_timestamp ({published.date().isoformat()})."
    ]


def test_else_the_day_of_the_import(clock: Clock) -> None:
    body = pymisp_event()
    assert "date" not in json.loads(body)  # as PyMISP writes it
    item = read(body)
    assert item.versions[0].data.occurred_at.date() == clock.now.date()
    assert item.notes == [
        f"Event[0].date: missing; taken as the day of the import ({clock.now.date().isoformat()})."
    ]


def test_an_event_with_its_date_gets_no_note(clock: Clock) -> None:
    event = json.loads(pymisp_event())
    event["date"] = (clock.now - timedelta(days=2)).date().isoformat()
    item = read(json.dumps(event).encode())
    assert item.notes == []
    assert item.versions[0].data.occurred_at.date() == (clock.now - timedelta(days=2)).date()


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


def stored(world: World, report_id: str) -> Any:
    with world.db.session() as s:
        principal = world.people["in.analyst"].principal
        return service.get(s, principal=principal, report_id=report_id)


def test_the_cli_the_api_and_the_page_say_what_was_filled_in(
    world: World, db: Database, tmp_path: Path, clock: Clock
) -> None:
    changed = clock.now - timedelta(days=4)
    body = pymisp_event(timestamp=changed)
    note = f"Event[0].date: missing; taken from timestamp ({changed.date().isoformat()})."
    path = tmp_path / "pymisp-event.json"
    path.write_bytes(body)
    config = tmp_path / "rsn.toml"
    config.write_text(f'[node]\ndatabase_url = "{db.url}"\ndata_dir = "{tmp_path}"\n')
    cli = CliRunner().invoke(
        app, ["import", str(path), "--as", "in.analyst", "--dry-run", "--config", str(config)]
    )
    assert cli.exit_code == 0, cli.output
    assert f"note: {note}" in cli.output
    api = api_for(db, tmp_path)
    answer = api.post("/api/v1/import", content=body, as_=world.people["in.analyst"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["notes"] == [note] and answer.json()["created"] == 1
    report = stored(world, answer.json()["report_ids"][0])
    assert report.occurred_at.date() == changed.date() and report.tlp == "green"
