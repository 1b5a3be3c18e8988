"""Import and export in the browser, as the signed-in user and no one else."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from argon2 import PasswordHasher
from pymisp import MISPEvent
from sqlalchemy import func, select

from rsn.registry import service as registry
from rsn.reports.models import Report
from rsn.store import Database
from tests.conftest import Clock
from tests.factories import Api, World, api_for, bimstec_world, report_payload
from tests.web.webclient import WebClient

PASSWORD = "correct horse battery staple"
CSV_HEAD = "title,category,country,occurred_at,severity,confidence,tlp,observables\n"


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(registry, "_hasher", cheap)


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


@pytest.fixture
def api(db: Database, tmp_path: Any, world: World) -> Api:
    return api_for(db, tmp_path)


def browser(api: Api, world: World, username: str, org: str, role: str = "analyst") -> WebClient:
    world.person(username, org, role=role, password=PASSWORD)
    web = WebClient(api.app)
    web.sign_in(username, PASSWORD)
    return web


def reports(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Report)) or 0)


def upload(web: WebClient, body: str, **fields: str) -> Any:
    files = {"file": ("reports.csv", body.encode(), "text/csv")}
    return web.request(
        "POST", "/exchange/import", data={"csrf_token": web.csrf, **fields}, files=files
    )


def test_export_downloads_what_the_viewer_may_read(api: Api, world: World) -> None:
    bd = world.people["bd.analyst"]
    shared = api.post("/api/v1/reports", as_=bd, json=report_payload(title="to India"))
    hidden = report_payload(title="not for India", tlp="amber", distribution={})
    assert api.post("/api/v1/reports", as_=bd, json=hidden).status_code == 201
    web = browser(api, world, "in.web", "in-cert")
    page = web.get("/exchange")
    assert page.status_code == 200 and "Import and export" in page.text
    got = web.get("/exchange/export?format=csv")
    assert got.status_code == 200
    assert "attachment" in got.headers["content-disposition"]
    titles = [row["title"] for row in csv.DictReader(io.StringIO(got.text))]
    assert titles == ["to India"] and shared.json()["id"] in got.text
    assert web.get("/exchange/export?format=nope").status_code == 422


def test_import_stores_all_or_nothing_and_checks_csrf(api: Api, world: World, db: Database) -> None:
    web = browser(api, world, "in.web", "in-cert")
    web.get("/exchange")
    good = (
        CSV_HEAD + "scan,cyber.attack,IN,2026-11-01T10:00:00Z,high,70,green,ipv4-addr:203.0.113.5\n"
    )
    bad = good + "scan 2,cyber.attack,IN,2026-11-01T10:00:00Z,high,70,green,ipv4-addr:999.1.1.1\n"
    refused = upload(web, bad)
    assert refused.status_code == 422 and "rows[1]" in refused.text and reports(db) == 0
    checked = upload(web, good, dry_run="on")
    assert checked.status_code == 200 and "Checked, not stored" in checked.text
    assert reports(db) == 0
    done = upload(web, good)
    assert done.status_code == 200 and "Imported (csv)" in done.text and reports(db) == 1
    forged = web.request(
        "POST",
        "/exchange/import",
        data={"csrf_token": "forged"},
        files={"file": ("r.csv", good.encode(), "text/csv")},
    )
    assert forged.status_code == 403 and reports(db) == 1


def test_readers_export_but_do_not_import(api: Api, world: World, db: Database) -> None:
    web = browser(api, world, "in.viewer", "in-watch", role="observer")
    page = web.get("/exchange")
    assert "may export what they can read" in page.text
    line = CSV_HEAD + "x,cyber.attack,IN,2026-11-01T10:00:00Z,high,70,green,\n"
    assert upload(web, line).status_code == 403 and reports(db) == 0


def test_the_own_download_uploaded_again_is_already_here(
    api: Api, world: World, db: Database
) -> None:
    web = browser(api, world, "bd.web", "bd-cert")
    bd = world.people["bd.analyst"]
    for title in ("first", "second"):
        assert api.post("/api/v1/reports", as_=bd, json=report_payload(title=title)).is_success
    bundle = web.get("/exchange/export?format=stix").content
    web.get("/exchange")
    for fields in ({"dry_run": "on"}, {}):
        files = {"file": ("rsn.json", bundle, "application/json")}
        page = web.request(
            "POST", "/exchange/import", data={"csrf_token": web.csrf, **fields}, files=files
        )
        assert page.status_code == 200, page.text
        assert "<dt>New reports</dt><dd>0</dd>" in page.text
        assert "<dt>Already here, unchanged</dt><dd>2</dd>" in page.text
        assert reports(db) == 2


def test_a_date_filled_in_is_said_on_the_page(api: Api, world: World, clock: Clock) -> None:
    web = browser(api, world, "in.web", "in-cert")
    web.get("/exchange")
    event = MISPEvent()
    event.info = "Phishing wave"
    event.add_tag("tlp:green")
    event.add_attribute("domain", "login-gov.example")
    files = {"file": ("event.json", event.to_json().encode(), "application/json")}
    page = web.request("POST", "/exchange/import", data={"csrf_token": web.csrf}, files=files)
    assert page.status_code == 200, page.text
    day = clock.now.date().isoformat()
    assert f"Event[0].date: missing; taken as the day of the import ({day})." in page.text
