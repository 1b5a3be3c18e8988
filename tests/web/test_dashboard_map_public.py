"""Dashboard, map and public page in-process: every figure through the sharing policy.

A BIMSTEC world where Bangladesh (A) shares an amber report with India (B) only;
Myanmar (C) must find no trace of it on any of these pages, and the map's counts
must be the API's counts for the same user.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from rsn import clock
from rsn.audit import AuditRecord
from rsn.registry import service as registry
from rsn.registry.models import User
from rsn.reports import geo, listing
from rsn.sharing import Principal
from rsn.store import Database
from rsn.web.views.dashboard import window_start
from tests.factories import Api, Person, World, api_for, bimstec_world, report_payload
from tests.web.webclient import WebClient

PASSWORD = "correct horse battery staple"
PHONE = "+8801712345678"
DAY = timedelta(days=1)
BAR = re.compile(r'data-by="(\w+)" data-key="([^"]+)" data-count="(\d+)"')
ASSET = re.compile(r'(?:src|href)="([^"]*)"')


@dataclass
class Scene:
    world: World
    api: Api
    ids: dict[str, str]

    def web(self, username: str | None = None) -> WebClient:
        client = WebClient(self.api.app)
        if username:
            client.sign_in(username, PASSWORD)
        return client

    def person(self, username: str) -> Person:
        return self.world.people[username]


@functools.cache
def password_hash() -> str:
    """One argon2 hash for every web user here: hashing costs half a second each time."""
    return registry.hash_password(PASSWORD)


def ago(days: float) -> str:
    return (clock.now() - days * DAY).isoformat(timespec="seconds").replace("+00:00", "Z")


def dist(**names: list[str]) -> dict[str, list[str]]:
    return {"member_states": [], "organizations": [], "sharing_groups": [], "users": [], **names}


def file(api: Api, who: Person, **fields: Any) -> str:
    if fields.get("tlp", "amber") != "amber":
        fields.setdefault("distribution", dist())
    response = api.post("/api/v1/reports", json=report_payload(**fields), as_=who)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.fixture
def scene(db: Database, tmp_path: Path) -> Scene:
    w = bimstec_world(db)
    for username, org in (("bd.web", "bd-cert"), ("in.web", "in-cert"), ("mm.web", "mm-cert")):
        person = w.person(username, org)
        with db.session(write=True) as s:
            s.get(User, person.user.id).password_hash = password_hash()  # type: ignore[union-attr]
    api = api_for(db, tmp_path)
    bd, india, mm = w.people["bd.analyst"], w.people["in.analyst"], w.people["mm.analyst"]
    phone = [{"type": "phone-number", "value": PHONE}]
    ids = {
        "amber": file(
            api,
            bd,
            title="Amber for India only",
            occurred_at=ago(2),
            observables=[*phone, {"type": "domain-name", "value": "jobs-abroad.example"}],
        ),
        "india": file(
            api,
            india,
            title="Indian sighting of the number",
            country="IN",
            location={"lat": 22.57, "lon": 88.36},
            category="cyber.attack",
            occurred_at=ago(5),
            distribution=dist(member_states=["BD"]),
            observables=phone,
        ),
        "green": file(
            api,
            mm,
            title="Green from Myanmar",
            country="MM",
            tlp="green",
            location={"lat": 16.8, "lon": 96.15},
            occurred_at=ago(10),
            observables=[],
        ),
        "clear": file(
            api,
            india,
            title="Clear cyclone warning",
            country="IN",
            tlp="clear",
            category="disaster.cyclone",
            location=None,
            occurred_at=ago(20),
            observables=[],
        ),
        "old": file(
            api, bd, title="Clear but old", tlp="clear", occurred_at=ago(200), observables=[]
        ),
        "red": file(
            api,
            mm,
            title="Red from Myanmar",
            country="MM",
            tlp="red",
            occurred_at=ago(3),
            observables=phone,
        ),
    }
    return Scene(w, api, ids)


def bars(html: str) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {"category": {}, "country": {}}
    for by, key, count in BAR.findall(html):
        found[by][key] = int(count)
    return found


def expected(db: Database, principal: Principal, by: str, **filters: Any) -> dict[str, int]:
    with db.session() as s:
        rows = listing.counts(s, principal=principal, by=by, filters=listing.Filters(**filters))
    return dict(rows)


def records(db: Database, action: str) -> list[AuditRecord]:
    with db.session() as s:
        query = select(AuditRecord).where(AuditRecord.action == action)
        return list(s.scalars(query.order_by(AuditRecord.id)))


# ---------------------------------------------------------------- dashboard


def test_dashboard_counts_are_the_listing_counts_for_each_viewer(scene: Scene) -> None:
    db = scene.world.db
    since = window_start(30)
    for username in ("bd.web", "in.web", "mm.web"):
        page = scene.web(username).get("/dashboard")
        assert page.status_code == 200
        principal = scene.person(username).principal
        shown = bars(page.text)
        assert shown["category"] == expected(db, principal, "category", since=since)
        assert shown["country"] == expected(db, principal, "country", since=since)
    # Myanmar's dashboard holds nothing of the amber report Bangladesh gave India.
    mm = scene.web("mm.web").get("/dashboard").text
    assert "Amber for India only" not in mm and scene.ids["amber"] not in mm
    assert bars(mm)["country"].get("BD", 0) == 0


def test_dashboard_lists_newest_and_cross_border_matches(scene: Scene) -> None:
    page = scene.web("bd.web").get("/dashboard").text
    assert f'href="/reports/{scene.ids["india"]}"' in page  # among the newest
    section = page.split('id="crossborder-h"', 1)[1].split("</section>", 1)[0]
    assert "Indian sighting of the number" in section and PHONE in section
    assert f'href="/reports/{scene.ids["amber"]}"' in section  # the own report it matched
    assert "Red from Myanmar" not in page and scene.ids["red"] not in page
    # India sees the match from its side; Myanmar has none to see.
    india = scene.web("in.web").get("/dashboard").text.split('id="crossborder-h"', 1)[1]
    assert "Amber for India only" in india.split("</section>", 1)[0]
    mm = scene.web("mm.web").get("/dashboard").text.split('id="crossborder-h"', 1)[1]
    assert "None yet" in mm.split("</section>", 1)[0]


def test_dashboard_records_one_disclosure_with_the_ids_shown(scene: Scene) -> None:
    web = scene.web("bd.web")  # signing in lands on the dashboard once
    before = len(records(scene.world.db, "report.dashboard"))
    web.get("/dashboard")
    after = records(scene.world.db, "report.dashboard")
    assert len(after) == before + 1
    record = after[-1]
    assert record.actor == "bd.web"
    assert scene.ids["india"] in record.item_ids and scene.ids["amber"] in record.item_ids
    assert scene.ids["clear"] not in record.item_ids and scene.ids["red"] not in record.item_ids


def test_dashboard_and_map_need_a_session(scene: Scene) -> None:
    web = scene.web()
    for path in ("/dashboard", "/map", "/map/data.json", "/map/region.json"):
        answer = web.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


# ---------------------------------------------------------------- map


def map_data(web: WebClient, **params: Any) -> dict[str, Any]:
    answer = web.get("/map/data.json?" + urlencode(params))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.mark.parametrize("username", ["bd.web", "in.web", "mm.web"])
def test_map_counts_are_the_api_counts_for_that_user(scene: Scene, username: str) -> None:
    web = scene.web(username)
    person = scene.person(username)
    for params in ({"days": 7}, {"days": 30}, {"days": 365}, {"days": 30, "category": "cyber"}):
        data = map_data(web, **params)
        query = {"by": "country", "since": data["since"]}
        if "category" in params:
            query["category"] = str(params["category"])
        api = scene.api.get("/api/v1/reports/counts?" + urlencode(query), as_=person).json()
        assert data["counts"] == {row["key"]: row["count"] for row in api["rows"]}
        by_code = {c["code"]: c["count"] for c in data["countries"]}
        assert all(by_code[code] == n for code, n in data["counts"].items())


def test_map_shows_members_points_and_no_hidden_report(scene: Scene) -> None:
    india = map_data(scene.web("in.web"), days=30)
    members = [c["code"] for c in india["countries"] if c["member"]]
    assert members == ["BD", "BT", "IN", "MM", "NP", "LK", "TH"]
    assert {c["code"]: c["numeric"] for c in india["countries"]}["BD"] == "050"
    points = {p["id"] for p in india["points"]}
    assert scene.ids["amber"] in points and scene.ids["india"] in points
    assert scene.ids["clear"] not in points  # it has no point
    assert india["counts"]["BD"] == 1
    bd_row = next(c for c in india["countries"] if c["code"] == "BD")
    assert bd_row["url"] == f"/reports?since={india['since_date']}&country=BD"
    # Myanmar, state C, finds the amber report in neither counts nor points.
    mm = map_data(scene.web("mm.web"), days=30)
    assert "BD" not in mm["counts"]
    assert scene.ids["amber"] not in {p["id"] for p in mm["points"]}
    assert {p["id"] for p in mm["points"]} == {scene.ids["green"]}  # red names only its author
    assert "Amber for India only" not in str(mm)
    page = scene.web("mm.web").get("/map")
    assert page.status_code == 200
    assert re.search(r'data-code="BD" data-count="0"', page.text)


def test_map_filters_are_checked_and_points_are_audited(scene: Scene) -> None:
    web = scene.web("in.web")
    assert web.get("/map/data.json?days=12").status_code == 422
    assert web.get("/map/data.json?category=no.such.thing").status_code == 422
    cyber = map_data(web, days=30, category="cyber")
    assert cyber["counts"] == {"IN": 1} and cyber["category"] == "cyber"
    [record] = records(scene.world.db, "report.map")
    assert record.actor == "in.web" and record.item_ids == [scene.ids["india"]]
    # The originator's own points disclose nothing to them.
    own = file(scene.api, scene.person("bd.web"), category="terrorism.attack", observables=[])
    mine = map_data(scene.web("bd.web"), days=30, category="terrorism")
    assert [p["id"] for p in mine["points"]] == [own]
    assert [r.actor for r in records(scene.world.db, "report.map")] == ["in.web"]


def test_map_page_references_only_local_assets(scene: Scene) -> None:
    web = scene.web("bd.web")
    page = web.get("/map?days=90&category=cyber")
    assert page.status_code == 200
    assert '<label for="days">' in page.text and '<label for="category">' in page.text
    links = ASSET.findall(page.text)
    assert "/static/map.js" in links and "/static/vendor/leaflet-1.9.4/leaflet.js" in links
    for link in links:
        local = link.startswith(("/", "#")) and not link.startswith("//")
        assert local or link.startswith("http://127.0.0.1/"), link
    assert 'data-atlas="/static/vendor/world-atlas-2.0.2-countries-50m.json"' in page.text
    script = web.get("/static/map.js")
    assert script.status_code == 200
    assert not re.search(r"https?://", script.text)
    assert web.get("/static/vendor/world-atlas-2.0.2-countries-50m.json").status_code == 200


def test_region_json_names_members_for_the_point_picker(scene: Scene) -> None:
    body = scene.web("bd.web").get("/map/region.json").json()
    assert [c["code"] for c in body["countries"]] == ["BD", "BT", "IN", "MM", "NP", "LK", "TH"]
    assert all(c["numeric"] and c["count"] == 0 for c in body["countries"])


def test_located_reports_are_capped_newest_first(scene: Scene) -> None:
    principal = scene.person("in.web").principal
    with scene.world.db.session() as s:
        points, capped = geo.located(s, principal=principal, filters=listing.Filters(), limit=1)
        every, more = geo.located(s, principal=principal, filters=listing.Filters())
    assert capped and not more
    assert [p.report_id for p in points] == [scene.ids["amber"]]
    order = ["amber", "india", "green", "old"]  # "clear" has no point, "red" is not theirs
    assert [p.report_id for p in every] == [scene.ids[name] for name in order]


# ---------------------------------------------------------------- public


def test_public_page_shows_clear_reports_only_without_sign_in(scene: Scene) -> None:
    web = scene.web()
    page = web.get("/public")
    assert page.status_code == 200
    assert "Clear cyclone warning" in page.text and "Clear but old" in page.text
    for hidden in ("amber", "india", "green", "red"):
        assert scene.ids[hidden] not in page.text
    for title in ("Amber for India only", "Indian sighting", "Green from Myanmar", "Red from"):
        assert title not in page.text
    counted = bars(page.text)
    assert counted["country"] == {"IN": 1, "BD": 1}
    assert counted["category"] == {"disaster.cyclone": 1, "organized-crime.human-trafficking": 1}
    filtered = web.get("/public?country=in").text
    assert "Clear cyclone warning" in filtered and "Clear but old" not in filtered
    assert web.get("/public?country=XX").status_code == 422


def test_public_report_pages_open_clear_reports_alone(scene: Scene) -> None:
    web = scene.web()
    clear = web.get(f"/public/reports/{scene.ids['clear']}")
    assert clear.status_code == 200 and "Clear cyclone warning" in clear.text
    missing = web.get("/public/reports/00000000-0000-0000-0000-000000000000")
    for hidden in ("amber", "india", "green", "red"):
        answer = web.get(f"/public/reports/{scene.ids[hidden]}")
        assert answer.status_code == 404
        assert answer.text.replace(scene.ids[hidden], "X") == missing.text.replace(
            "00000000-0000-0000-0000-000000000000", "X"
        )
    with scene.world.db.session() as s:
        assert s.scalars(select(AuditRecord).where(AuditRecord.actor == "public")).all() == []
