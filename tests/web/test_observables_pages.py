"""The header's look-up box and the observable page, in-process with real sign-in."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from rsn.audit import AuditRecord
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
PHONE = "+8801712345678"
THRESHOLD = 2
BOX = '<form class="topsearch" method="get" action="/observables" role="search"'


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2 at its lowest cost: these tests are about pages, not password hashing."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(registry, "_hasher", cheap)


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


@pytest.fixture
def api(db: Database, tmp_path: Path, world: World) -> Api:
    """The node's app, with a low correlation threshold so that 'common' can show."""
    return api_for(db, tmp_path, correlation_threshold=THRESHOLD)


def browser(api: Api, world: World, username: str, org: str, role: str = "analyst") -> WebClient:
    world.person(username, org, role=role, password=PASSWORD)
    web = WebClient(api.app)
    web.sign_in(username, PASSWORD)
    return web


def file(api: Api, who: Person, days: float, value: str = PHONE, **fields: Any) -> str:
    body = report_payload(
        occurred_at=stamp(days_ago(days)),
        observables=[{"type": "phone-number", "value": value}],
        **fields,
    )
    answer = api.post("/api/v1/reports", as_=who, json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def amber(*states: str) -> dict[str, Any]:
    return {"tlp": "amber", "distribution": {"member_states": list(states)}}


GREEN: dict[str, Any] = {"tlp": "green", "distribution": {}}


def shown(response: Any) -> str:
    return html.unescape(response.text)


def test_the_look_up_box_is_in_the_header_of_every_signed_in_page(api: Api, world: World) -> None:
    signed_out = WebClient(api.app)
    assert BOX not in signed_out.get("/login").text
    web = browser(api, world, "bd.web", "bd-cert")
    for path in ("/dashboard", "/reports", "/reports/new", "/map", "/exchange", "/profile"):
        page = web.get(path)
        assert page.status_code == 200, path
        header = page.text.split("<header", 1)[1].split("</header>", 1)[0]
        assert BOX in header, path
        assert '<label for="top-search"' in header and 'id="top-search" name="value"' in header


def test_the_page_shows_the_value_its_reports_and_the_states_that_saw_it(
    api: Api, world: World, db: Database
) -> None:
    theirs = file(api, world.people["bd.analyst"], 9, **amber("IN"))
    colleagues = file(api, world.people["in.analyst"], 2, country="IN", **amber("BD"))
    web = browser(api, world, "in.web", "in-cert")
    page = web.get("/observables", params={"value": "+880 1712-345678"})
    assert page.status_code == 200
    text = shown(page)
    assert f'<span class="mono observable-value">{PHONE}</span>' in text
    assert "Phone number" in text and "worked out from the value" in text
    assert "Seen in 2 reports you may read" in text
    assert days_ago(9).strftime("%Y-%m-%d %H:%M UTC") in text  # first seen
    assert days_ago(2).strftime("%Y-%m-%d %H:%M UTC") in text  # last seen
    assert "Cross-border: 2 states" in text
    assert f'href="/reports/{theirs}"' in text
    with db.session() as s:
        query = select(AuditRecord).where(AuditRecord.action == "report.observable")
        assert [(r.actor, r.item_ids) for r in s.scalars(query)] == [
            ("in.web", [colleagues, theirs])
        ]


def test_a_report_hidden_from_the_viewer_leaves_the_page_as_it_was(api: Api, world: World) -> None:
    myanmar = browser(api, world, "mm.web", "mm-cert")
    observer = browser(api, world, "in.watcher", "in-watch", role="observer")
    before = [w.get("/observables", params={"value": PHONE}).text for w in (myanmar, observer)]
    file(api, world.people["bd.analyst"], 1, **amber("IN"))
    file(api, world.people["bd.analyst"], 2, tlp="red", distribution={"users": ["in.analyst"]})
    for web, earlier in zip((myanmar, observer), before, strict=True):
        assert web.get("/observables", params={"value": PHONE}).text == earlier
    assert "No report you may read carries this value" in before[0]


def test_a_national_number_is_read_in_the_viewers_state_and_other_types_are_offered(
    api: Api, world: World
) -> None:
    report = file(api, world.people["bd.analyst"], 1, "+8801711460983", **GREEN)
    web = browser(api, world, "bd.web", "bd-cert")
    text = shown(web.get("/observables", params={"value": "01711-460983"}))
    assert "+8801711460983" in text and "You typed" in text and f"/reports/{report}" in text
    text = shown(web.get("/observables", params={"value": "3035824"}))
    assert "IMO number" in text and "/observables?value=3035824&type=phone-number" in text
    picked = shown(web.get("/observables", params={"value": "3035824", "type": "phone-number"}))
    assert '<option value="phone-number" selected>' in picked and "+8803035824" in picked


def test_a_common_value_says_so(api: Api, world: World) -> None:
    for days in range(1, THRESHOLD + 2):
        file(api, world.people["bd.analyst"], days, **GREEN)
    web = browser(api, world, "in.web", "in-cert")
    text = shown(web.get("/observables", params={"value": PHONE}))
    assert "Common value." in text and f"correlation threshold ({THRESHOLD})" in text


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"value": ""}, "value", "is empty"),
        ({"value": "x" * 2100}, "value", "2100 characters long"),
        ({"value": PHONE, "type": "colour"}, "type", "'colour' is not one of"),
        ({"value": "evil.example", "type": "ipv4-addr"}, "value", "not a valid IPv4 address"),
    ],
)
def test_bad_input_comes_back_with_the_problem_beside_its_field(
    api: Api, world: World, params: dict[str, str], field: str, words: str
) -> None:
    web = browser(api, world, "bd.web", "bd-cert")
    page = web.get("/observables", params=params)
    assert page.status_code == 422
    text = shown(page)
    error = text.split(f'id="o-{field}-error">', 1)[1].split("</p>", 1)[0]
    assert words in error
    assert f'id="o-{field}"' in text and 'aria-invalid="true"' in text


def test_signing_in_is_needed(api: Api) -> None:
    answer = WebClient(api.app).get("/observables", params={"value": PHONE})
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")


def test_a_report_page_links_each_observable_to_its_page(api: Api, world: World) -> None:
    web = browser(api, world, "bd.web", "bd-cert")
    report_id = file(api, world.people["bd.analyst"], 3, **GREEN)
    page = web.get(f"/reports/{report_id}")
    link = '<a href="/observables?value=%2B8801712345678&amp;type=phone-number"'
    assert link in page.text
    target = web.get("/observables?value=%2B8801712345678&type=phone-number")
    assert target.status_code == 200 and report_id in target.text
