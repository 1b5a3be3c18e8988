"""What the pages say in a person's words, in-process on both stores.

Observable types by their labels (the API keeps the ids), dates typed and shown as ISO
UTC rather than in the browser's locale, distribution pickers that are plain checkboxes
without JavaScript, and an admin legend in the badges' own words.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher

from rsn.observables import OBSERVABLE_LABELS, OBSERVABLE_TYPES
from rsn.registry import approvals, enrolment
from rsn.registry import service as registry
from rsn.store import Database
from tests.factories import (
    Api,
    Person,
    World,
    api_for,
    bimstec_world,
    days_ago,
    report_payload,
    stamp,
)
from tests.web.webclient import WebClient

PASSWORD = "correct horse battery staple"
IP = "203.0.113.77"
LONG_NAME = "Department of Disaster Management (Bangladesh)"
NO_DIST = {"member_states": [], "organizations": [], "sharing_groups": [], "users": []}


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
    world.person(username, org, role=role, password=PASSWORD)
    web = WebClient(api.app)
    web.sign_in(username, PASSWORD)
    return web


def file(api: Api, person: Person, **overrides: Any) -> str:
    answer = api.post("/api/v1/reports", as_=person, json=report_payload(**overrides))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def problems(response: Any) -> list[str]:
    """The form's error messages, for a failure to show."""
    return [
        html.unescape(m) for m in re.findall(r'class="field-error"[^>]*>([^<]+)<', response.text)
    ]


def text_of(response: Any) -> str:
    """The page's text without tags, entities read back: what a reader sees."""
    return html.unescape(re.sub(r"<[^>]+>", " ", response.text))


def new_report_form(**overrides: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "title": "Scanner seen from one address",
        "category": "organized-crime.human-trafficking",
        "occurred_at": days_ago(2).strftime("%Y-%m-%dT%H:%M"),
        "country": "BD",
        "severity": "medium",
        "confidence": "50",
        "tlp": "amber",
        "member_states": ["IN"],
        "obs-0-type": "ipv4-addr",
        "obs-0-value": IP,
    }
    form.update(overrides)
    return form


# --- observable types by their labels ----------------------------------------------


def test_every_observable_type_has_a_label_that_is_not_its_id() -> None:
    assert set(OBSERVABLE_LABELS) == set(OBSERVABLE_TYPES)
    assert OBSERVABLE_LABELS["ipv4-addr"] == "IPv4 address"
    for kind, label in OBSERVABLE_LABELS.items():
        assert label != kind and label[:1].isupper(), (kind, label)


def test_pages_name_observable_types_in_words_and_the_api_keeps_ids(api: Api, world: World) -> None:
    bd, in_analyst = world.people["bd.analyst"], world.people["in.analyst"]
    ip = [{"type": "ipv4-addr", "value": IP}]
    theirs = file(api, bd, observables=ip, title="Bangladeshi scanner report")
    file(api, in_analyst, observables=ip, title="Indian scanner report", country="IN")
    public = file(api, bd, observables=ip, tlp="clear", distribution=NO_DIST)
    more = [*ip, {"type": "vessel-imo", "value": "IMO 9074729"}]
    edited = api.patch(f"/api/v1/reports/{theirs}", as_=bd, json={"observables": more})
    assert edited.status_code == 200, edited.text
    web = browser(api, world, "in.web", "in-cert")

    report = web.get(f"/reports/{theirs}")
    cell = r"<td>IPv4 address</td><td class=\"mono\"><a [^>]+>203\.0\.113\.77</a>"
    assert re.search(cell, report.text)
    assert '<span class="muted">IPv4 address</span> <span class="mono">203.0.113.77' in report.text
    assert "IPv4 address: 203.0.113.77; Vessel IMO number: IMO9074729" in text_of(report)  # history
    dashboard = web.get("/dashboard")
    assert 'IPv4 address</span> <code class="value">203.0.113.77' in dashboard.text
    form = web.get("/reports/new")
    for kind in OBSERVABLE_TYPES:
        assert (
            f'<option value="{kind}">{html.escape(OBSERVABLE_LABELS[kind])}</option>' in form.text
        )
    anyone = WebClient(api.app).get(f"/public/reports/{public}")
    assert "IPv4 address" in anyone.text
    for page in (report, dashboard, anyone):
        assert ">ipv4-addr<" not in page.text

    answer = api.get(f"/api/v1/reports/{theirs}", as_=in_analyst).json()
    assert [o["type"] for o in answer["observables"]] == ["ipv4-addr", "vessel-imo"]


# --- ISO dates, in UTC ----------------------------------------------------------------


def test_date_inputs_are_iso_text_labelled_utc_not_the_browsers_locale(
    api: Api, world: World
) -> None:
    web = browser(api, world, "bd.web", "bd-cert")
    form = web.get("/reports/new").text
    occurred = re.search(r"<input id=\"occurred_at\"[^>]*>", form)
    assert occurred and "type=" not in occurred.group(0), occurred
    assert 'placeholder="YYYY-MM-DDTHH:MM"' in occurred.group(0)
    assert "When it happened (UTC)" in form
    listing = web.get("/reports").text
    for name in ("since", "until"):
        found = re.search(rf"<input id=\"f-{name}\"[^>]*>", listing)
        assert found and "type=" not in found.group(0), found
        assert 'placeholder="YYYY-MM-DD"' in found.group(0)
    assert "Occurred from (UTC)" in listing and "Occurred until (UTC)" in listing
    assert 'type="date"' not in web.get("/exchange").text


def test_the_form_reads_iso_times_as_utc_and_names_the_notation_otherwise(
    api: Api, world: World
) -> None:
    web = browser(api, world, "bd.web", "bd-cert")
    web.get("/reports/new")
    typed = days_ago(3).strftime("%m/%d/%Y %I:%M %p")  # what a US-locale date input shows
    refused = web.post("/reports/new", new_report_form(occurred_at=typed))
    assert refused.status_code == 422
    message = "When it happened must be written YYYY-MM-DDTHH:MM in UTC"
    assert re.search(rf'id="occurred_at-error">{message}', refused.text), problems(refused)
    assert f'value="{typed}"' in refused.text

    when = days_ago(3, hour=7).replace(minute=45)
    for typed in (when.strftime("%Y-%m-%dT%H:%M"), when.strftime("%Y-%m-%d %H:%M")):
        answer = web.post("/reports/new", new_report_form(occurred_at=typed))
        assert answer.status_code == 303, problems(answer)
        rid = answer.headers["location"].rsplit("/", 1)[-1]
        stored = api.get(f"/api/v1/reports/{rid}", as_=world.people["bd.analyst"]).json()
        assert stored["occurred_at"].startswith(stamp(when)[:-1])


def test_list_filters_take_iso_dates_and_times_in_utc(api: Api, world: World) -> None:
    bd = world.people["bd.analyst"]
    morning, evening = days_ago(4, hour=6), days_ago(4, hour=18)
    file(api, bd, title="Morning sighting", occurred_at=stamp(morning))
    file(api, bd, title="Evening sighting", occurred_at=stamp(evening))
    web = browser(api, world, "in.web", "in-cert")
    day = morning.strftime("%Y-%m-%d")

    both = text_of(web.get(f"/reports?since={day}&until={day}"))
    assert "Morning sighting" in both and "Evening sighting" in both
    for separator in ("T", " "):
        noon = f"{day}{separator}12:00"
        after = text_of(web.get("/reports", params={"since": noon}))
        assert "Evening sighting" in after and "Morning sighting" not in after
        before = text_of(web.get("/reports", params={"until": noon}))
        assert "Morning sighting" in before and "Evening sighting" not in before
    wrong = web.get("/reports", params={"since": morning.strftime("%m/%d/%Y")})
    assert wrong.status_code == 422
    assert "YYYY-MM-DDTHH:MM" in text_of(wrong)


def test_an_export_since_takes_an_iso_time(api: Api, world: World) -> None:
    bd = world.people["bd.analyst"]
    file(api, bd, title="Old enough", occurred_at=stamp(days_ago(4)))
    web = browser(api, world, "in.web", "in-cert")
    web.get("/exchange")
    later = (days_ago(0) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    empty = web.get("/exchange/export", params={"format": "csv", "since": later})
    assert empty.status_code == 200 and "Old enough" not in empty.text
    earlier = days_ago(30).strftime("%Y-%m-%d %H:%M")
    full = web.get("/exchange/export", params={"format": "csv", "since": earlier})
    assert full.status_code == 200 and "Old enough" in full.text


# --- distribution pickers without JavaScript ----------------------------------------------


def test_without_javascript_the_pickers_are_checkboxes_with_full_names(
    api: Api, world: World, db: Database
) -> None:
    with db.session(write=True) as s:
        registry.create_organization(
            s, slug="bd-ddm", name=LONG_NAME, type="government-agency", member_state="BD"
        )
    web = browser(api, world, "bd.web", "bd-cert")
    form = web.get("/reports/new").text
    assert not re.search(r"<select[^>]*\bmultiple\b", form)
    for name in ("organizations", "sharing_groups", "users"):
        assert f'<select id="{name}"' not in form
        assert f'<fieldset id="{name}" class="dist picker"' in form
    box = re.search(
        r'<input type="checkbox" id="(organizations-\d+)" name="organizations" '
        r'value="bd-ddm">',
        form,
    )
    assert box, "no checkbox for the organization"
    assert re.search(rf'<label for="{box.group(1)}">{re.escape(html.escape(LONG_NAME))} ', form)
    assert "Ctrl" not in form
    assert '<script src="/static/picker.js" defer></script>' in form

    web.get("/reports/new")
    answer = web.post(
        "/reports/new",
        new_report_form(tlp="amber+strict", member_states=[], organizations=["bd-ddm", "in-cert"]),
    )
    assert answer.status_code == 303, problems(answer)
    rid = answer.headers["location"].rsplit("/", 1)[-1]
    stored = api.get(f"/api/v1/reports/{rid}", as_=world.people["bd.analyst"]).json()
    assert sorted(stored["distribution"]["organizations"]) == ["bd-ddm", "in-cert"]


def test_a_form_with_errors_keeps_the_ticked_boxes(api: Api, world: World) -> None:
    web = browser(api, world, "bd.web", "bd-cert")
    web.get("/reports/new")
    answer = web.post(
        "/reports/new",
        new_report_form(title="", tlp="amber", member_states=[], organizations=["in-coastguard"]),
    )
    assert answer.status_code == 422
    assert re.search(r'name="organizations" value="in-coastguard" checked>', answer.text)
    assert not re.search(r'name="organizations" value="in-cert" checked>', answer.text)


# --- the admin's users page ---------------------------------------------------------------


def test_the_users_legend_explains_every_badge_in_the_same_words(
    api: Api, world: World, db: Database
) -> None:
    admin = browser(api, world, "bd.root", "bd-cert", role="node-admin")
    with db.session(write=True) as s:
        org = registry.get_organization(s, slug="bd-cert")
        for name in ("bd.nopass", "bd.invited"):
            registry.create_user(
                s, username=name, display_name=name, organization=org, role="analyst"
            )
        enrolment.create(
            s,
            user=registry.get_user(s, username="bd.invited"),
            purpose="enrol",
            created_by=registry.get_user(s, username="bd.root"),
        )
        registry.disable_user(s, username="bd.police")
        approvals.request_member(
            s,
            by=registry.get_user(s, username="bd.root"),
            username="bd.asked",
            display_name="Asked For",
            organization=org,
            role="analyst",
        )
    page = admin.get("/admin/users").text
    table, _, legend = page.partition('class="status-legend')
    badges = set(re.findall(r'<span class="badge status-[a-z-]+">([^<]+)</span>', table))
    assert badges == {"active", "invited", "no password", "disabled", "awaiting approval"}, badges
    explained = set(
        re.findall(r'<dt><span class="badge status-[a-z-]+">([^<]+)</span></dt>', legend)
    )
    assert explained == badges
    assert '"Invited"' not in page
