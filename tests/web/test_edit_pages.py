"""Changing a report in the browser: edit, add an update, confirmations, revoke.

Bangladesh's CERT (bd-cert) files; India's CERT may read what is shared with India but
not change it; Myanmar's CERT may not read it at all. Every page goes through the
update and revoke services the API uses, so the same people may change the same reports.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from rsn.registry import service as registry
from rsn.reports.models import Report, ReportVersion
from rsn.store import Database
from tests.conftest import Clock
from tests.factories import Api, World, api_for, bimstec_world, days_ago, millis, report_payload
from tests.web.webclient import WebClient

PASSWORD = "correct horse battery staple"
HUMAN_REASON = "Say why you revoke it (at least 3 characters)."
EDITOR_ONLY = ("/edit", "/updates", "/revoke")


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


def file(api: Api, world: World, username: str = "bd.analyst", **overrides: Any) -> str:
    answer = api.post(
        "/api/v1/reports", as_=world.people[username], json=report_payload(**overrides)
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def stored(db: Database, report_id: str) -> Report:
    with db.session() as s:
        report = s.get(Report, report_id)
        assert report is not None
        return report


def versions(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(ReportVersion)) or 0)


def shown(response: Any) -> str:
    return html.unescape(response.text)


class FormFields(HTMLParser):
    """What a browser would send for one form: its inputs as they stand on the page."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside, self.skipping = form_id, False, 0
        self.fields: dict[str, list[str]] = {}
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        if not self.inside:
            return
        if tag == "template":
            self.skipping += 1
        if self.skipping or (not a.get("name") and tag != "option"):
            return
        if tag == "input" and (a.get("type") not in {"checkbox", "radio"} or "checked" in a):
            self.fields.setdefault(a["name"], []).append(a.get("value", ""))
        elif tag == "select":
            self.select = a["name"]
        elif tag == "option" and self.select and "selected" in a:
            self.fields.setdefault(self.select, []).append(a.get("value", ""))
        elif tag == "textarea":
            self.textarea = a["name"]
            self.fields.setdefault(a["name"], []).append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "template" and self.skipping:
            self.skipping -= 1
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None
        elif tag == "form":
            self.inside = False

    def handle_data(self, data: str) -> None:
        if self.textarea and not self.skipping:
            self.fields[self.textarea][-1] += data


def form_fields(page: Any, form_id: str = "report-form") -> dict[str, list[str]]:
    parser = FormFields(form_id)
    parser.feed(page.text)
    return parser.fields


def one(fields: dict[str, list[str]], name: str) -> str:
    [value] = fields[name]
    return value


# --- edit ----------------------------------------------------------------------------


def test_the_edit_form_is_filled_with_the_current_version(api: Api, world: World) -> None:
    report_id = file(
        api,
        world,
        title="Recruiters seen at Benapole",
        description="Two recruiters.\nOne vehicle.",
        sea_area="Bay of Bengal",
        observables=[
            {"type": "phone-number", "value": "+8801712345678"},
            {"type": "domain-name", "value": "jobs-abroad.example"},
        ],
    )
    web = browser(api, world, "bd.web", "bd-cert")
    assert f'href="/reports/{report_id}/edit"' in web.get(f"/reports/{report_id}").text
    page = web.get(f"/reports/{report_id}/edit")
    assert page.status_code == 200
    fields = form_fields(page)
    assert one(fields, "title") == "Recruiters seen at Benapole"
    assert one(fields, "description") == "Two recruiters.\nOne vehicle."
    assert one(fields, "category") == "organized-crime.human-trafficking"
    assert one(fields, "country") == "BD"
    assert (one(fields, "lat"), one(fields, "lon")) == ("22.33", "91.83")
    assert one(fields, "sea_area") == "Bay of Bengal"
    assert (one(fields, "severity"), one(fields, "confidence")) == ("high", "70")
    assert (one(fields, "source_reliability"), one(fields, "information_credibility")) == (
        "B",
        "2",
    )
    assert one(fields, "tlp") == "amber" and fields["member_states"] == ["IN"]
    assert one(fields, "obs-0-value") == "+8801712345678"
    assert one(fields, "obs-1-type") == "domain-name"
    assert one(fields, "version") == "1"
    assert f'action="/reports/{report_id}/edit"' in page.text
    assert f'hx-post="/reports/{report_id}/_audience"' in page.text
    assert "Save changes" in page.text and "India (IN)" in page.text


def test_saving_as_it_was_filled_changes_nothing(api: Api, world: World, db: Database) -> None:
    when = days_ago(3) + timedelta(seconds=6, milliseconds=789)
    report_id = file(api, world, occurred_at=millis(when))
    web = browser(api, world, "bd.web", "bd-cert")
    fields = form_fields(web.get(f"/reports/{report_id}/edit"))
    assert one(fields, "occurred_at") == when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    saved = web.post(f"/reports/{report_id}/edit", fields)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/reports/{report_id}?notice=unchanged"
    assert stored(db, report_id).version == 1
    assert "Nothing was changed" in web.get(saved.headers["location"]).text


def test_an_edit_saves_a_new_version_shown_in_the_history(
    api: Api, world: World, db: Database
) -> None:
    report_id = file(api, world, title="First title")
    web = browser(api, world, "bd.web", "bd-cert")
    fields = form_fields(web.get(f"/reports/{report_id}/edit"))
    fields |= {"title": ["Second title"], "severity": ["critical"], "lat": [""], "lon": [""]}
    fields["member_states"] = ["IN", "MM"]
    saved = web.post(f"/reports/{report_id}/edit", fields)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"/reports/{report_id}?notice=saved"
    report = stored(db, report_id)
    assert (report.version, report.title, report.severity) == (2, "Second title", "critical")
    assert report.lat is None and report.distribution["member_states"] == ["IN", "MM"]
    page = web.get(saved.headers["location"])
    assert 'class="notice" role="status">Saved.' in page.text
    assert "Version 2" in page.text
    assert re.search(r"<del>First title</del></td><td[^>]*><ins>Second title</ins>", page.text)
    assert re.search(r"<del>22.33, 91.83</del></td><td[^>]*><ins>—</ins>", page.text)
    seen_by_mm = api.get(f"/api/v1/reports/{report_id}", as_=world.people["mm.analyst"])
    assert seen_by_mm.status_code == 200 and seen_by_mm.json()["title"] == "Second title"


def test_who_may_not_change_it_gets_403_or_404_and_nothing_changes(
    api: Api, world: World, db: Database
) -> None:
    report_id = file(api, world, title="Shared with India")
    before = versions(db)
    attempts = [
        ("get", f"/reports/{report_id}/edit", {}),
        ("post", f"/reports/{report_id}/edit", {"title": "Changed", "version": "1"}),
        ("post", f"/reports/{report_id}/_audience", {"tlp": "clear"}),
        ("post", f"/reports/{report_id}/updates", {"note": "An Indian note"}),
        ("get", f"/reports/{report_id}/revoke", {}),
        ("post", f"/reports/{report_id}/revoke", {"reason": "Not ours", "confirmed": "yes"}),
    ]
    reader = browser(api, world, "in.web", "in-cert")  # may read it, may not change it
    page = reader.get(f"/reports/{report_id}")
    assert page.status_code == 200
    assert not any(f"/reports/{report_id}{path}" in page.text for path in EDITOR_ONLY)
    policy = browser(api, world, "bd.pol", "bd-cert", role="policymaker")  # same org, no editor
    outsider = browser(api, world, "mm.web", "mm-cert")  # may not read it
    for web, status in ((reader, 403), (policy, 403), (outsider, 404)):
        web.get("/dashboard")
        for method, url, data in attempts:
            answer = web.get(url) if method == "get" else web.post(url, data)
            assert answer.status_code == status, (web, url, answer.status_code)
            assert status == 403 or "Shared with India" not in answer.text
    assert versions(db) == before
    report = stored(db, report_id)
    assert (report.version, report.title, report.revoked) == (1, "Shared with India", False)


def test_edit_errors_keep_the_form_and_store_nothing(api: Api, world: World, db: Database) -> None:
    report_id = file(api, world, title="Keep me")
    web = browser(api, world, "bd.web", "bd-cert")
    fields = form_fields(web.get(f"/reports/{report_id}/edit"))
    fields |= {
        "title": [""],
        "confidence": ["140"],
        "obs-0-value": ["+88 017"],
        "description": ["Typed again"],
    }
    before = versions(db)
    refused = web.post(f"/reports/{report_id}/edit", fields)
    assert refused.status_code == 422
    for key in ("title", "confidence", "obs-0-value"):
        assert f'id="{key}-error"' in refused.text, key
    assert "The changes were not saved" in refused.text
    again = form_fields(refused)
    assert one(again, "description") == "Typed again" and one(again, "obs-0-value") == "+88 017"
    assert one(again, "version") == "1"
    assert versions(db) == before and stored(db, report_id).title == "Keep me"


def test_an_edit_over_a_newer_version_is_stopped(api: Api, world: World, db: Database) -> None:
    report_id = file(api, world, title="Old title")
    web = browser(api, world, "bd.web", "bd-cert")
    fields = form_fields(web.get(f"/reports/{report_id}/edit"))
    patched = api.request(
        "PATCH",
        f"/api/v1/reports/{report_id}",
        as_=world.people["bd.duty"],
        json={"title": "Duty officer's title"},
    )
    assert patched.status_code == 200
    fields["title"] = ["My title"]
    stopped = web.post(f"/reports/{report_id}/edit", fields)
    assert stopped.status_code == 422 and "Someone saved version 2" in stopped.text
    assert stored(db, report_id).title == "Duty officer's title"
    again = form_fields(stopped)
    assert one(again, "title") == "My title" and one(again, "version") == "2"
    assert web.post(f"/reports/{report_id}/edit", again).status_code == 303
    assert stored(db, report_id).title == "My title"


def test_the_edit_panel_counts_the_filer_of_a_red_report(api: Api, world: World) -> None:
    web = browser(api, world, "bd.web", "bd-cert")
    red = {"member_states": [], "organizations": [], "sharing_groups": [], "users": ["bd.web"]}
    report_id = file(api, world, tlp="red", distribution=red)
    page = web.get(f"/reports/{report_id}/edit")
    assert "<strong>Only 2 people</strong>" in page.text and "(bd.analyst," in page.text
    panel = web.post(f"/reports/{report_id}/_audience", {"tlp": "red", "users": ["bd.web"]})
    assert panel.status_code == 200 and "<strong>Only 2 people</strong>" in panel.text
    assert "(bd.analyst," in panel.text  # the report's filer, not the editor, is its originator


def test_a_revoked_report_cannot_be_edited(api: Api, world: World, db: Database) -> None:
    report_id = file(api, world)
    revoked = api.post(
        f"/api/v1/reports/{report_id}/revoke",
        as_=world.people["bd.analyst"],
        json={"reason": "Duplicate"},
    )
    assert revoked.status_code == 200
    web = browser(api, world, "bd.web", "bd-cert")
    assert f"/reports/{report_id}/edit" not in web.get(f"/reports/{report_id}").text
    assert web.get(f"/reports/{report_id}/edit").status_code == 403
    refused = web.post(f"/reports/{report_id}/updates", {"note": "More news"})
    assert refused.status_code == 403 and "A revoked report cannot be edited." in refused.text
    assert stored(db, report_id).version == 2


# --- add an update -------------------------------------------------------------------


def test_an_update_is_appended_as_a_new_version(
    api: Api, world: World, db: Database, clock: Clock
) -> None:
    report_id = file(api, world, description="First sighting.")
    web = browser(api, world, "bd.web", "bd-cert")
    page = web.get(f"/reports/{report_id}")
    assert f'action="/reports/{report_id}/updates"' in page.text
    added = web.post(f"/reports/{report_id}/updates", {"note": "  Second boat seen.  "})
    assert added.status_code == 303
    assert added.headers["location"] == f"/reports/{report_id}?notice=noted"
    stamp = clock.now.strftime("%Y-%m-%d %H:%M")
    expected = f"First sighting.\n\nUpdate, {stamp} UTC, by bd.web:\nSecond boat seen."
    report = stored(db, report_id)
    assert (report.version, report.description) == (2, expected)
    shown_page = shown(web.get(added.headers["location"]))
    assert "Your update is added" in shown_page and "Version 2" in shown_page
    assert f"Update, {stamp} UTC, by bd.web:" in shown_page


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ("", "Write the update (at least 3 characters)."),
        ("x" * 2001, "Keep the update to 2,000 characters; it has 2,001."),
        ("bad \x00 byte", "Remove the control character"),
    ],
)
def test_a_bad_update_is_named_and_not_stored(
    api: Api, world: World, db: Database, note: str, message: str
) -> None:
    report_id = file(api, world, description="First sighting.")
    web = browser(api, world, "bd.web", "bd-cert")
    web.get(f"/reports/{report_id}")
    refused = web.post(f"/reports/{report_id}/updates", {"note": note})
    assert refused.status_code == 422
    error = re.search(r'<p class="field-error" id="note-error">([^<]*)</p>', shown(refused))
    assert error and error.group(1).startswith(message)
    assert 'aria-invalid="true" aria-describedby="note-error note-hint"' in refused.text
    report = stored(db, report_id)
    assert (report.version, report.description) == (1, "First sighting.")


# --- confirmations -------------------------------------------------------------------


def test_filing_says_report_filed_and_notices_come_from_a_fixed_list(
    api: Api, world: World, db: Database
) -> None:
    web = browser(api, world, "bd.web", "bd-cert")
    form = form_fields(web.get("/reports/new"))
    form |= {"title": ["Filed in the browser"], "country": ["BD"]}
    form["category"] = ["organized-crime.human-trafficking"]
    filed = web.post("/reports/new", form)
    assert filed.status_code == 303
    location = filed.headers["location"]
    assert location.endswith("?notice=filed")
    assert 'class="notice" role="status">Report filed.' in web.get(location).text
    report_id = location.split("/")[-1].split("?")[0]
    forged = web.get(f"/reports/{report_id}?notice=%3Cb%3EYou+won%3C%2Fb%3E")
    assert forged.status_code == 200
    assert 'class="notice"' not in forged.text and "You won" not in shown(forged)


# --- revoke --------------------------------------------------------------------------


def test_revoking_needs_the_confirmation_step(api: Api, world: World, db: Database) -> None:
    report_id = file(api, world, title="To revoke")
    web = browser(api, world, "bd.web", "bd-cert")
    page = web.get(f"/reports/{report_id}")
    assert 'method="get" action="/reports/' + report_id + '/revoke"' in page.text
    assert 'name="reason"' not in page.text
    confirm = web.get(f"/reports/{report_id}/revoke")
    assert confirm.status_code == 200
    assert "stops correlating" in confirm.text and "cannot be undone" in confirm.text
    assert 'name="confirmed" value="yes"' in confirm.text and 'id="reason"' in confirm.text
    unconfirmed = web.post(f"/reports/{report_id}/revoke", {"reason": "Duplicate report"})
    assert unconfirmed.status_code == 200 and "Revoke this report" in unconfirmed.text
    assert one(form_fields(unconfirmed, "revoke-form"), "reason") == "Duplicate report"
    assert stored(db, report_id).revoked is False
    done = web.post(
        f"/reports/{report_id}/revoke", {"reason": "Duplicate report", "confirmed": "yes"}
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/reports/{report_id}?notice=revoked"
    assert stored(db, report_id).revoked is True
    after = web.get(done.headers["location"])
    assert "Report revoked." in after.text and "Duplicate report" in after.text
    assert web.get(f"/reports/{report_id}/revoke").status_code == 303


@pytest.mark.parametrize("reason", ["", "  ", "no"])
def test_a_short_reason_gets_a_human_message(
    api: Api, world: World, db: Database, reason: str
) -> None:
    report_id = file(api, world)
    web = browser(api, world, "bd.web", "bd-cert")
    web.get(f"/reports/{report_id}/revoke")
    refused = web.post(f"/reports/{report_id}/revoke", {"reason": reason, "confirmed": "yes"})
    assert refused.status_code == 422
    text = shown(refused)
    assert f'<p class="field-error" id="reason-error">{HUMAN_REASON}</p>' in text
    assert "String should have" not in text
    assert stored(db, report_id).revoked is False


def test_the_history_shows_revoked_at_formatted(
    api: Api, world: World, db: Database, clock: Clock
) -> None:
    report_id = file(api, world)
    web = browser(api, world, "bd.web", "bd-cert")
    web.get(f"/reports/{report_id}/revoke")
    done = web.post(f"/reports/{report_id}/revoke", {"reason": "Duplicate", "confirmed": "yes"})
    assert done.status_code == 303
    page = web.get(f"/reports/{report_id}").text
    stamp = clock.now.strftime("%Y-%m-%d %H:%M")
    row = re.search(r'<th scope="row">revoked at</th>.*?<ins>([^<]*)</ins>', page, re.S)
    assert row and row.group(1) == f"{stamp} UTC"
    assert clock.now.strftime("%Y-%m-%dT%H:%M") not in page
