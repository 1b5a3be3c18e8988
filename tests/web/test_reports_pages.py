"""Report pages in-process: the list, the two-minute form, one report, with real sign-in."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from rsn.audit import AuditRecord
from rsn.registry import service as registry
from rsn.reports.models import Report
from rsn.store import Database
from rsn.web.views import reports as pages
from tests.factories import (
    Api,
    Person,
    World,
    api_for,
    bimstec_world,
    days_ago,
    millis,
    report_payload,
    stamp,
)
from tests.web.webclient import WebClient

PASSWORD = "correct horse battery staple"
PHONE = "+8801712345678"


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2 at its lowest cost: these tests are about pages, not password hashing."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(registry, "_hasher", cheap)


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


@pytest.fixture
def api(db: Database, tmp_path: Any, world: World) -> Api:
    return api_for(db, tmp_path)


def browser(api: Api, world: World, username: str, org: str, role: str = "analyst") -> WebClient:
    """A signed-in browser for a new person (one argon2 hash and one check each)."""
    world.person(username, org, role=role, password=PASSWORD)
    web = WebClient(api.app)
    web.sign_in(username, PASSWORD)
    return web


def file(api: Api, person: Person, **overrides: Any) -> str:
    answer = api.post("/api/v1/reports", as_=person, json=report_payload(**overrides))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def rows(db: Database, model: Any) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def disclosures(db: Database, action: str) -> list[list[str]]:
    with db.session() as s:
        return [
            r.item_ids for r in s.scalars(select(AuditRecord).where(AuditRecord.action == action))
        ]


def shown(response: Any) -> str:
    """The page as a reader sees it: entities such as &#39; back to characters."""
    return html.unescape(response.text)


def amber_to(*states: str) -> dict[str, Any]:
    dist = {"member_states": list(states), "organizations": [], "sharing_groups": [], "users": []}
    return {"tlp": "amber", "distribution": dist}


NO_DIST = {"member_states": [], "organizations": [], "sharing_groups": [], "users": []}


def valid_form(**overrides: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "title": "Recruiters using a Bangladeshi number",
        "category": "organized-crime.human-trafficking",
        "description": "Victims moved through Cox's Bazar.",
        "occurred_at": days_ago(5).strftime("%Y-%m-%dT%H:%M"),
        "country": "BD",
        "lat": "22.33",
        "lon": "91.83",
        "sea_area": "Bay of Bengal",
        "severity": "high",
        "confidence": "70",
        "source_reliability": "B",
        "information_credibility": "2",
        "tlp": "amber",
        "member_states": ["IN"],
        "obs-0-type": "phone-number",
        "obs-0-value": "+880 1712-345678",
        "obs-1-type": "domain-name",
        "obs-1-value": "Jobs-Abroad.Example",
        "obs-2-type": "ipv4-addr",
        "obs-2-value": "",
    }
    form.update(overrides)
    return form


# --- the list ----------------------------------------------------------------------


def test_list_shows_what_an_indian_analyst_may_see(api: Api, world: World, db: Database) -> None:
    bd, mm = world.people["bd.analyst"], world.people["mm.analyst"]
    shared = file(api, bd, title="Amber for India", **amber_to("IN"))
    file(api, mm, title="Myanmar only red", tlp="red", distribution=NO_DIST)
    green = file(api, bd, title="Green for members", tlp="green", distribution=NO_DIST)
    file(api, bd, title="Clear for all", tlp="clear", distribution=NO_DIST)
    web = browser(api, world, "in.web", "in-cert")
    page = web.get("/reports")
    assert page.status_code == 200
    assert "Amber for India" in page.text and "Green for members" in page.text
    assert "Myanmar only red" not in page.text
    assert f'href="/reports/{shared}"' in page.text
    assert 'class="tlp tlp-amber"' in page.text
    [record] = disclosures(db, "report.list")  # one per page, without the clear report
    assert sorted(record) == sorted([shared, green])


def test_filters_work_and_the_next_link_keeps_them(
    api: Api, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    bd = world.people["bd.analyst"]
    for n in range(3):
        file(api, bd, title=f"Phishing wave {n}", category="cyber.attack", **amber_to("IN"))
    file(api, bd, title="Cyclone warning", category="disaster.cyclone", **amber_to("IN"))
    web = browser(api, world, "in.web", "in-cert")
    first = web.get("/reports?q=phishing&tlp=amber&country=bd")
    assert first.text.count("Phishing wave") == 2
    assert "Cyclone warning" not in first.text
    next_url = re.search(r'href="(/reports\?[^"]*cursor=[^"]+)"', first.text)
    assert next_url is not None
    link = next_url.group(1).replace("&amp;", "&")
    assert "q=phishing" in link and "tlp=amber" in link and "country=bd" in link
    second = web.get(link)
    assert second.text.count("Phishing wave") == 1
    assert 'href="/reports?q=phishing&amp;country=bd&amp;tlp=amber"' in second.text  # first page
    by_category = web.get("/reports?category=cyber")
    assert "Phishing wave" in by_category.text and "Cyclone warning" not in by_category.text
    by_observable = web.get(f"/reports?observable={PHONE.replace('+', '%2B')}")
    assert "Phishing wave" in by_observable.text
    assert "No report you may see matches" in web.get("/reports?until=2020-01-01").text
    day = days_ago(5).date().isoformat()
    assert "Phishing wave" in web.get(f"/reports?since={day}&until={day}").text
    later = stamp(days_ago(5) + timedelta(seconds=1))
    assert "Phishing wave" not in web.get(f"/reports?since={later}").text


def test_bad_filters_show_beside_the_filter(api: Api, world: World) -> None:
    web = browser(api, world, "in.web", "in-cert")
    page = web.get("/reports?since=garbage&tlp=purple")
    assert page.status_code == 422
    assert re.search(r'id="f-since-error">\'garbage\' is not a date', shown(page))
    assert re.search(r'id="f-tlp-error">\'purple\' is not one of', shown(page))
    assert 'aria-invalid="true" aria-describedby="f-since-hint f-since-error"' in page.text
    cursor = web.get("/reports?cursor=not-a-cursor")
    assert cursor.status_code == 422 and "not a cursor this node issued" in cursor.text


def test_htmx_gets_only_the_results(api: Api, world: World) -> None:
    file(api, world.people["bd.analyst"], title="Amber for India", **amber_to("IN"))
    web = browser(api, world, "in.web", "in-cert")
    asked = "/reports?q=amber&category=&country=&tlp=&since=&until=&observable="
    part = web.get(asked, headers={"HX-Request": "true"})
    assert part.status_code == 200
    assert "<html" not in part.text and "Amber for India" in part.text
    assert part.headers["vary"] == "HX-Request"
    assert part.headers["hx-push-url"] == "/reports?q=amber"
    bad = web.get("/reports?since=garbage", headers={"HX-Request": "true"})
    assert "<html" not in bad.text
    assert 'id="f-since-error" hx-swap-oob="true">' in bad.text
    restore = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    assert "<html" in web.get("/reports", headers=restore).text
    full = web.get("/reports")
    assert 'hx-get="/reports"' in full.text and 'hx-push-url="true"' in full.text


# --- the form ----------------------------------------------------------------------

FIELD = re.compile(r"<(input|select|textarea)\b([^>]*)>")


def test_the_form_labels_every_input(api: Api, world: World) -> None:
    web = browser(api, world, "bd.web", "bd-cert")
    page = web.get("/reports/new")
    assert page.status_code == 200
    ids = []
    for _, attrs in FIELD.findall(page.text):
        if 'type="hidden"' in attrs:
            continue
        found = re.search(r'\bid="([^"]+)"', attrs)
        assert found, f"an input without an id: {attrs}"
        ids.append(found.group(1))
    assert {"title", "category", "occurred_at", "country", "lat", "lon", "sea_area"} <= set(ids)
    assert {"obs-0-value", "obs-2-value", "tlp-amber-strict", "ms-IN", "users-1"} <= set(ids)
    for input_id in ids:
        assert f'<label for="{input_id}"' in page.text, input_id
    assert '<div id="point-picker" data-lat-input="lat" data-lon-input="lon">' in page.text
    assert "Your organization and the states, organizations and groups you name." in page.text
    assert "Bay of Bengal" in page.text and "Completely reliable" in page.text
    assert page.text.index("India (IN)") < page.text.index("Afghanistan (AF)")
    assert "Who will see this" in page.text and "bd-cert" in page.text


def test_only_analysts_and_duty_officers_get_the_form(api: Api, world: World) -> None:
    web = browser(api, world, "bd.web.policy", "bd-cert", role="policymaker")
    assert web.get("/reports/new").status_code == 403
    assert web.post("/reports/new", valid_form()).status_code == 403


def test_a_valid_form_files_the_report(api: Api, world: World, db: Database) -> None:
    web = browser(api, world, "bd.web", "bd-cert")
    web.get("/reports/new")
    answer = web.post("/reports/new", valid_form())
    assert answer.status_code == 303, answer.text
    report_id = answer.headers["location"].removeprefix("/reports/")
    read = api.get(f"/api/v1/reports/{report_id}", as_=world.people["in.analyst"])
    assert read.status_code == 200
    body = read.json()
    assert body["occurred_at"] == millis(days_ago(5))
    assert body["distribution"]["member_states"] == ["IN"]
    assert body["location"] == {"lat": 22.33, "lon": 91.83}
    assert body["observables"] == [
        {"type": "phone-number", "value": PHONE},
        {"type": "domain-name", "value": "jobs-abroad.example"},
    ]
    assert body["originator"]["user"] == "bd.web"
    assert "Recruiters using a Bangladeshi number" in web.get(f"/reports/{report_id}").text


def test_bad_input_is_refused_beside_each_field_and_nothing_is_stored(
    api: Api, world: World, db: Database
) -> None:
    web = browser(api, world, "bd.web", "bd-cert")
    web.get("/reports/new")
    before = rows(db, Report), rows(db, AuditRecord)
    bad = valid_form(
        category="cyber.nonsense",
        tlp="red",
        member_states=[],
        organizations=["in-cert"],
        **{"obs-1-type": "phone-number", "obs-1-value": "+88 017"},
    )
    page = web.post("/reports/new", bad)
    assert page.status_code == 422
    text = shown(page)
    assert re.search(r'id="obs-1-value-error">\'\+88 017\' is not a valid phone number', text)
    assert re.search(r"id=\"category-error\">'cyber.nonsense' is not a category", text)
    assert re.search(r'id="organizations-error">TLP:RED takes users', page.text)
    assert 'aria-describedby="obs-1-value-error obs-1-check"' in page.text
    assert 'value="+88 017"' in page.text and 'value="cyber.nonsense"' in page.text
    assert 'value="Recruiters using a Bangladeshi number"' in page.text
    assert 'name="organizations" value="in-cert" checked>' in page.text
    assert 'id="tlp-red" name="tlp" value="red" checked' in page.text
    untyped = web.post("/reports/new", valid_form(**{"obs-2-type": "", "obs-2-value": "x"}))
    assert 'id="obs-2-type-error">Choose the type of this observable.' in untyped.text
    only_distribution = web.post("/reports/new", valid_form(tlp="red", organizations=["in-cert"]))
    assert only_distribution.status_code == 422
    assert "must be empty" in only_distribution.text
    assert (rows(db, Report), rows(db, AuditRecord)) == before


def test_the_inline_observable_check_uses_the_api_validator(api: Api, world: World) -> None:
    web = browser(api, world, "bd.web", "bd-cert")
    web.get("/reports/new")
    row = {"row": "4", "obs-4-type": "phone-number"}
    good = web.post("/reports/_observable", {**row, "obs-4-value": "+880 1712-345678"})
    assert good.status_code == 200 and PHONE in good.text and "<html" not in good.text
    bad = web.post("/reports/_observable", {**row, "obs-4-value": "+88 017"})
    assert "is not a valid phone number" in bad.text
    untyped = web.post("/reports/_observable", {"row": "1", "obs-1-type": "", "obs-1-value": PHONE})
    assert "Choose the type of this observable." in untyped.text
    forged = web.request("POST", "/reports/_observable", data={**row, "obs-4-value": PHONE})
    assert forged.status_code == 403


def test_who_will_see_this_names_the_audience(api: Api, world: World) -> None:
    web = browser(api, world, "bd.web", "bd-cert")
    web.get("/reports/new")
    panel = web.post("/reports/_audience", {"tlp": "amber", "member_states": ["IN"]})
    assert panel.status_code == 200
    assert "India (IN)" in panel.text and "bd-cert" in panel.text and "in-cert" in panel.text
    assert "(MM)" not in panel.text and "mm-cert" not in panel.text and "in-watch" not in panel.text
    red = web.post("/reports/_audience", {"tlp": "red", "organizations": ["in-cert"]})
    assert "TLP:RED takes users" in red.text


# --- one report ----------------------------------------------------------------------


def test_report_page_shows_banner_and_only_visible_correlations(
    api: Api, world: World, db: Database
) -> None:
    web = browser(api, world, "bd.web", "bd-cert")
    mine = file(api, world.people["bd.web"], title="Ours", **amber_to("IN"))
    theirs = file(api, world.people["in.analyst"], title="Indian sighting", **amber_to("BD"))
    hidden = file(api, world.people["mm.analyst"], title="Myanmar secret", **amber_to("TH"))
    page = web.get(f"/reports/{mine}")
    assert page.status_code == 200
    assert 'class="tlp-banner"' in page.text and "TLP:AMBER" in page.text
    assert "states IN" in page.text
    assert f'href="/reports/{theirs}"' in page.text and "Indian sighting" in page.text
    assert hidden not in page.text and "Myanmar secret" not in page.text
    assert PHONE in page.text
    assert "B2" in page.text
    assert "usually reliable" in page.text
    assert [theirs] in disclosures(db, "report.read")
    assert 'action="/reports/' + mine + '/revoke"' in page.text


def test_history_shows_what_changed(api: Api, world: World) -> None:
    web = browser(api, world, "bd.web", "bd-cert")
    report_id = file(api, world.people["bd.web"], title="First title", **amber_to("IN"))
    patched = api.patch(
        f"/api/v1/reports/{report_id}",
        as_=world.people["bd.web"],
        json={"title": "Second title", "severity": "critical"},
    )
    assert patched.status_code == 200
    page = web.get(f"/reports/{report_id}")
    assert "Version 2" in page.text and "Version 1" in page.text
    assert re.search(r"<del>First title</del></td><td[^>]*><ins>Second title</ins>", page.text)
    assert re.search(r"<del>high</del></td><td[^>]*><ins>critical</ins>", page.text)


def test_the_originator_revokes_and_others_cannot(api: Api, world: World) -> None:
    report_id = file(api, world.people["bd.analyst"], title="To revoke", **amber_to("IN"))
    reader = browser(api, world, "in.web", "in-cert")
    seen = reader.get(f"/reports/{report_id}")
    assert seen.status_code == 200 and "/revoke" not in seen.text
    refused = reader.post(f"/reports/{report_id}/revoke", {"reason": "Not mine to revoke"})
    assert refused.status_code == 403
    owner = browser(api, world, "bd.web", "bd-cert")
    owner.get(f"/reports/{report_id}")
    short = owner.post(f"/reports/{report_id}/revoke", {"reason": "no", "confirmed": "yes"})
    assert short.status_code == 422 and 'id="reason-error"' in short.text
    reason = {"reason": "Duplicate of an earlier report", "confirmed": "yes"}
    done = owner.post(f"/reports/{report_id}/revoke", reason)
    assert done.status_code == 303
    assert done.headers["location"] == f"/reports/{report_id}?notice=revoked"
    page = owner.get(f"/reports/{report_id}")
    assert "Revoked" in page.text and "Duplicate of an earlier report" in page.text
    assert "/revoke" not in page.text


def test_a_state_c_user_gets_the_same_404_as_for_nothing(api: Api, world: World) -> None:
    report_id = file(api, world.people["bd.analyst"], title="Amber for India", **amber_to("IN"))
    web = browser(api, world, "mm.web", "mm-cert")
    hidden = web.get(f"/reports/{report_id}")
    absent = web.get("/reports/00000000-0000-0000-0000-000000000000")
    assert hidden.status_code == absent.status_code == 404
    assert hidden.text.replace(report_id, "X") == absent.text.replace(absent.url.path[9:], "X")
    assert "Amber for India" not in web.get("/reports").text
    assert web.get("/reports/%00").status_code == 404
