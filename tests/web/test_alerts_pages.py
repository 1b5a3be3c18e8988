"""The `/alerts` pages: the triage list and an alert's page show only what the viewer may
read; acting on the page needs the session's token and the role, and a problem is
shown beside its field with nothing stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from rsn.store import Database
from tests.conftest import Clock
from tests.factories import Api, World, api_for, bimstec_world
from tests.warning.test_alerts import file, found, raised
from tests.web.webclient import WebClient

PASSWORD = "correct horse battery staple"


@pytest.fixture
def world(db: Database) -> World:
    w = bimstec_world(db)
    w.person("bd.web", "bd-cert", password=PASSWORD)
    w.person("bd.reader", "bd-cert", role="policymaker", password=PASSWORD)
    w.person("mm.web", "mm-cert", password=PASSWORD)
    return w


@pytest.fixture
def api(db: Database, tmp_path: Path, world: World) -> Api:
    return api_for(db, tmp_path)


def signed_in(api: Api, username: str) -> WebClient:
    web = WebClient(api.app)
    web.sign_in(username, PASSWORD)
    return web


def test_the_list_and_the_page_for_a_reader_and_an_outsider(
    api: Api, world: World, clock: Clock
) -> None:
    strict = file(world, "bd.analyst", clock, 2, tlp="amber+strict", distribution={})
    alert_id = raised(
        world,
        found(strict, clock, detail={"counts": [1, 0, 2, 1, 9]}, category="maritime.piracy"),
    )
    mine = signed_in(api, "bd.web")
    listing = mine.get("/alerts")
    assert listing.status_code == 200
    assert f"/alerts/{alert_id}" in listing.text and "New (1)" in listing.text
    assert 'id="record-title"' in listing.text  # each rule's record in triage
    page = mine.get(f"/alerts/{alert_id}")
    assert page.status_code == 200
    assert "maritime.piracy" in page.text and "<polyline" in page.text
    assert page.text.count('href="/reports/') >= 2  # its two reports, readable here
    assert 'value="acknowledge"' in page.text

    outsider = signed_in(api, "mm.web")
    assert f"/alerts/{alert_id}" not in outsider.get("/alerts").text
    assert "All (0)" in outsider.get("/alerts").text
    assert outsider.get(f"/alerts/{alert_id}").status_code == 404

    reader = signed_in(api, "bd.reader")  # reads it, may not act
    shown = reader.get(f"/alerts/{alert_id}").text
    assert "maritime.piracy" in shown and 'value="acknowledge"' not in shown
    refused = reader.post(f"/alerts/{alert_id}/act", {"action": "acknowledge"})
    assert refused.status_code == 403


def test_acting_on_the_page(api: Api, world: World, clock: Clock) -> None:
    ids = file(world, "bd.analyst", clock, 1, tlp="green", distribution={})
    alert_id = raised(world, found(ids, clock))
    web = signed_in(api, "bd.web")
    web.get(f"/alerts/{alert_id}")
    forged = web.post(f"/alerts/{alert_id}/act", {"action": "acknowledge", "csrf_token": "x"})
    assert forged.status_code in (400, 403)
    taken = web.post(f"/alerts/{alert_id}/act", {"action": "acknowledge", "note": "On it."})
    assert taken.status_code == 303, taken.text
    page = web.get(f"/alerts/{alert_id}").text
    assert "acknowledged" in page and "On it." in page

    no_reason = web.post(f"/alerts/{alert_id}/act", {"action": "close"})
    assert no_reason.status_code == 422
    assert 'id="reason-error"' in no_reason.text
    empty = web.post(f"/alerts/{alert_id}/notes", {"text": "  "})
    assert empty.status_code == 422 and 'id="text-error"' in empty.text
    again = web.post(f"/alerts/{alert_id}/act", {"action": "acknowledge"})
    assert again.status_code == 409
    closed = web.post(f"/alerts/{alert_id}/act", {"action": "close", "reason": "false-alarm"})
    assert closed.status_code == 303
    assert "False alarm" in web.get(f"/alerts/{alert_id}").text
    assert f"/alerts/{alert_id}" in web.get("/alerts?status=closed").text
    assert f"/alerts/{alert_id}" not in web.get("/alerts?status=new").text


def test_the_dashboard_shows_the_open_alerts_its_viewer_reads(
    api: Api, world: World, clock: Clock
) -> None:
    strict = file(world, "bd.analyst", clock, 2, tlp="amber+strict", distribution={})
    alert_id = raised(world, found(strict, clock))
    for name, shown in (("bd.web", True), ("mm.web", False)):
        board = signed_in(api, name).get("/dashboard").text
        assert (f"/alerts/{alert_id}" in board) is shown, name
        assert ("Open alerts (1)" in board) is shown, name
    web = signed_in(api, "bd.web")
    web.get(f"/alerts/{alert_id}")
    assert (
        web.post(f"/alerts/{alert_id}/act", {"action": "close", "reason": "real"}).status_code
        == 303
    )
    assert "Open alerts (0)" in web.get("/dashboard").text


def test_muting_a_series_from_its_page(api: Api, world: World, clock: Clock) -> None:
    ids = file(world, "bd.analyst", clock, 1, tlp="green", distribution={})
    alert_id = raised(world, found(ids, clock))
    web = signed_in(api, "bd.web")
    page = web.get(f"/alerts/{alert_id}").text
    assert 'name="days"' in page and "Mute" in page
    nothing = web.post(f"/alerts/{alert_id}/mute", {"days": "7", "mute_reason": " "})
    assert nothing.status_code == 422 and 'id="mute_reason-error"' in nothing.text
    odd = web.post(f"/alerts/{alert_id}/mute", {"days": "365", "mute_reason": "long"})
    assert odd.status_code == 422 and 'id="days-error"' in odd.text
    done = web.post(f"/alerts/{alert_id}/mute", {"days": "7", "mute_reason": "an exercise"})
    assert done.status_code == 303, done.text
    assert "Muted for your organization until" in web.get(f"/alerts/{alert_id}").text
    assert f"/alerts/{alert_id}" not in web.get("/alerts").text
    assert "muted until" in web.get("/alerts?muted=1").text
    other = signed_in(api, "mm.web")  # another organization still sees it
    assert f"/alerts/{alert_id}" in other.get("/alerts").text
    lifted = web.post(f"/alerts/{alert_id}/mute", {"lift": "1"})
    assert lifted.status_code == 303
    assert f"/alerts/{alert_id}" in web.get("/alerts").text
    again = web.post(f"/alerts/{alert_id}/mute", {"lift": "1"})
    assert again.status_code == 409


def test_the_list_page_title_is_its_name_alone(api: Api, world: World, clock: Clock) -> None:
    ids = file(world, "bd.analyst", clock, 1, tlp="green", distribution={})
    raised(world, found(ids, clock))
    page = signed_in(api, "bd.web").get("/alerts").text
    title = page[page.index("<title>") : page.index("</title>")]
    assert "<section" not in title and title.startswith("<title>Alerts")
    assert page.count('id="record-title"') == 1  # the rules' record, once, under the list
