"""`rsn import` / `rsn export` and their REST twins, as an operator and a client use them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from rsn.audit.models import AuditRecord
from rsn.cli.main import app
from rsn.reports import service
from rsn.reports.models import Report
from rsn.reports.schemas import ReportCreate
from rsn.store import Database
from tests.factories import World, api_for, bimstec_world, report_payload

runner = CliRunner()


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


@pytest.fixture
def node_args(db: Database, tmp_path: Path) -> list[str]:
    config = tmp_path / "rsn.toml"
    config.write_text(f'[node]\ndatabase_url = "{db.url}"\ndata_dir = "{tmp_path}"\n')
    return ["--config", str(config)]


def rsn(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def file_report(world: World, who: str, **fields: Any) -> str:
    with world.db.session(write=True) as s:
        data = ReportCreate.model_validate(report_payload(**fields))
        return service.create(s, principal=world.people[who].principal, data=data)


def reports(world: World) -> int:
    with world.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Report)) or 0)


def actions(world: World, prefix: str) -> list[dict[str, Any]]:
    with world.db.session() as s:
        rows = s.scalars(select(AuditRecord).where(AuditRecord.action.like(prefix + "%")))
        return [{"actor": r.actor, "action": r.action, "detail": r.detail} for r in rows]


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_export_carries_exactly_what_the_user_may_read(
    world: World, node_args: list[str], tmp_path: Path
) -> None:
    shared = file_report(world, "bd.analyst", title="to India")
    file_report(world, "bd.police", title="Police only", tlp="amber", distribution={})
    out = tmp_path / "in.csv"
    code, output = rsn(
        "export", "--format", "csv", "--as", "in.analyst", "-o", str(out), *node_args
    )
    assert code == 0, output
    assert [r["id"] for r in csv_rows(out.read_text())] == [shared]
    # A node-admin of the same state but another organization gets no more than shared.
    code, output = rsn("export", "--format", "csv", "--as", "bd.admin", *node_args)
    assert code == 0, output
    assert "to India" in output and "Police only" not in output
    [record] = [a for a in actions(world, "operator.export") if a["detail"]["as"] == "in.analyst"]
    assert record["actor"].startswith("operator:") and record["detail"]["reports"] == 1
    assert actions(world, "report.export.csv")  # the disclosure is on the record


def test_import_is_atomic_and_names_the_bad_row(
    world: World, node_args: list[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "title,category,country,occurred_at,severity,confidence,tlp,observables\n"
        "fine,cyber.attack,IN,2026-11-01T10:00:00Z,high,70,green,ipv4-addr:203.0.113.5\n"
        "broken,cyber.attack,IN,2026-11-01T10:00:00Z,high,70,green,ipv4-addr:999.1.1.1\n"
    )
    code, output = rsn("import", str(bad), "--as", "in.analyst", *node_args)
    assert code == 1
    assert "rows[1]" in output and "999.1.1.1" in output
    assert reports(world) == 0
    [record] = actions(world, "operator.import")  # the refusal is on the record
    assert record["detail"]["as"] == "in.analyst" and "rows[1]" in record["detail"]["refused"]


def test_dry_run_counts_and_stores_nothing_then_import_and_reimport(
    world: World, node_args: list[str], tmp_path: Path
) -> None:
    good = tmp_path / "good.csv"
    good.write_text(
        "title,category,country,occurred_at,severity,confidence,tlp,observables\n"
        "scan,cyber.attack,IN,2026-11-01T10:00:00Z,high,70,green,ipv4-addr:203.0.113.5\n"
    )
    code, output = rsn("import", str(good), "--as", "in.analyst", "--dry-run", *node_args)
    assert code == 0, output
    assert "Would import csv: 1 created" in output and reports(world) == 0
    code, output = rsn("import", str(good), "--as", "in.analyst", *node_args)
    assert code == 0 and "Imported csv: 1 created" in output
    code, output = rsn("import", str(good), "--as", "in.analyst", *node_args)
    assert code == 0 and "0 created, 0 updated, 1 unchanged" in output and reports(world) == 1
    records = [a["detail"] for a in actions(world, "operator.import")]
    assert [(r["dry_run"], r.get("created")) for r in records] == [
        (True, None),
        (False, 1),
        (False, 0),
    ]


def test_import_refuses_a_reader_and_an_unknown_format(
    world: World, node_args: list[str], tmp_path: Path
) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01\x02 not a known format")
    code, output = rsn("import", str(junk), "--as", "in.analyst", *node_args)
    assert code == 1 and "file" in output
    code, output = rsn("export", "--format", "pdf", "--as", "in.analyst", *node_args)
    assert code == 1 and "format" in output and "pdf" in output


def test_rest_import_and_export(world: World, db: Database, tmp_path: Path) -> None:
    api = api_for(db, tmp_path)
    body = (
        "title,category,country,occurred_at,severity,confidence,tlp,observables\n"
        "scan,cyber.attack,IN,2026-11-01T10:00:00Z,high,70,green,domain-name:bad.example\n"
    )
    analyst, watch = world.people["in.analyst"], world.people["in.watch"]
    refused = api.post("/api/v1/import", content=body, as_=watch)
    assert refused.status_code == 403 and reports(world) == 0
    dry = api.post("/api/v1/import?dry_run=true", content=body, as_=analyst)
    assert dry.status_code == 200 and dry.json()["created"] == 1 and reports(world) == 0
    done = api.post("/api/v1/import", content=body, as_=analyst)
    assert done.status_code == 200, done.text
    assert done.json()["format"] == "csv" and reports(world) == 1
    exported = api.get("/api/v1/export?format=csv", as_=analyst)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert [r["title"] for r in csv_rows(exported.text)] == ["scan"]
    assert api.get("/api/v1/export?format=csv", as_=watch).text.count("\n") == 1  # header only
    bad = api.get("/api/v1/export?format=nope", as_=analyst)
    assert bad.status_code == 422 and "format" in json.dumps(bad.json())
    empty = api.post("/api/v1/import", content=b"", as_=analyst)
    assert empty.status_code == 422
