"""`/api/v1/alerts`: the contract's fields, 404 for the unseen, 4xx naming the field for
bad input with nothing stored, and acting as the roles allow."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from rsn.audit.models import AuditRecord
from rsn.store import Database
from rsn.warning.models import AlertEvent, AlertMute
from tests.conftest import Clock
from tests.factories import Api, World, api_for, bimstec_world
from tests.warning.test_alerts import file, found, raised

FIELDS = {
    "id",
    "rule",
    "status",
    "category",
    "country",
    "countries",
    "severity",
    "period_start",
    "period_end",
    "score",
    "report_ids",
    "observable",
    "created",
    "modified",
}


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


@pytest.fixture
def api(db: Database, tmp_path: Path, world: World) -> Api:
    return api_for(db, tmp_path)


@pytest.fixture
def alert_id(world: World, clock: Clock) -> str:
    green = file(world, "bd.analyst", clock, 2, tlp="green", distribution={})
    to_india = file(world, "bd.analyst", clock, 1)  # amber to IN: BD's and IN's agencies
    return raised(world, found([*green, *to_india], clock))


def steps(world: World, alert_id: str) -> int:
    with world.db.session() as s:
        query = select(func.count()).select_from(AlertEvent).where(AlertEvent.alert_id == alert_id)
        return int(s.scalar(query) or 0)


def test_list_and_read_carry_the_contract_and_hide_from_others(
    api: Api, world: World, alert_id: str
) -> None:
    people = world.people
    page = api.get("/api/v1/alerts", as_=people["in.analyst"])
    assert page.status_code == 200, page.text
    body = page.json()
    assert set(body) == {"items", "next_cursor"}
    assert [a["id"] for a in body["items"]] == [alert_id]
    assert set(body["items"][0]) >= FIELDS
    assert len(body["items"][0]["report_ids"]) == 3
    one = api.get(f"/api/v1/alerts/{alert_id}", as_=people["in.analyst"]).json()
    assert one["status"] == "new" and one["tlp"] == "amber" and one["country"] == "BD"
    for outsider in ("mm.analyst", "in.watch"):
        assert api.get(f"/api/v1/alerts/{alert_id}", as_=people[outsider]).status_code == 404
        assert api.get("/api/v1/alerts", as_=people[outsider]).json()["items"] == []
        assert (
            api.get(f"/api/v1/alerts/{alert_id}/history", as_=people[outsider]).status_code == 404
        )
    assert api.get("/api/v1/alerts").status_code == 401


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=open", "status"),
        ("country=IND", "country"),
        ("since=2026-13-01", "since"),
        ("since=2026-01-01T00:00:00", "since"),
        ("limit=0", "limit"),
        ("cursor=nonsense", "cursor"),
        ("rule=a%00b", "rule"),
    ],
)
def test_bad_filters_name_the_field(api: Api, world: World, query: str, field: str) -> None:
    answer = api.get(f"/api/v1/alerts?{query}", as_=world.people["bd.analyst"])
    assert answer.status_code == 422, answer.text
    assert field in answer.text


def test_acting_through_the_api(api: Api, world: World, alert_id: str) -> None:
    people = world.people
    url = f"/api/v1/alerts/{alert_id}"
    assert api.post(f"{url}/acknowledge", as_=people["bd.policy"]).status_code == 403
    assert api.post(f"{url}/acknowledge", as_=people["mm.analyst"]).status_code == 404
    taken = api.post(f"{url}/acknowledge", as_=people["in.analyst"], json={"note": "Looking."})
    assert taken.status_code == 200, taken.text
    assert taken.json()["status"] == "acknowledged"
    assert api.post(f"{url}/acknowledge", as_=people["bd.duty"]).status_code == 409
    noted = api.post(f"{url}/notes", as_=people["bd.duty"], json={"text": "Called the port."})
    assert noted.status_code == 201, noted.text
    escalated = api.post(f"{url}/escalate", as_=people["bd.duty"])
    assert escalated.json()["status"] == "escalated"
    closed = api.post(f"{url}/close", as_=people["bd.duty"], json={"reason": "real"})
    assert closed.json()["status"] == "closed" and closed.json()["close_reason"] == "real"
    history = api.get(f"{url}/history", as_=people["bd.policy"]).json()
    assert [(h["action"], h["status"]) for h in history] == [
        ("raised", "new"),
        ("acknowledge", "acknowledged"),
        ("note", "acknowledged"),
        ("escalate", "escalated"),
        ("close", "closed"),
    ]
    assert history[0]["actor"] is None and history[1]["text"] == "Looking."
    closed_page = api.get("/api/v1/alerts?status=closed", as_=people["in.analyst"]).json()
    assert [a["id"] for a in closed_page["items"]] == [alert_id]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("close", {}, "reason"),
        ("close", {"reason": "bored"}, "reason"),
        ("close", {"reason": "real", "extra": 1}, "extra"),
        ("acknowledge", {"reason": "real"}, "reason"),
        ("acknowledge", {"note": "x" * 4001}, "note"),
        ("notes", {"text": ""}, "text"),
        ("notes", {"text": "   "}, "text"),
        ("notes", {"text": "a\x00b"}, "text"),
        ("notes", {}, "text"),
    ],
)
def test_bad_bodies_name_the_field_and_store_nothing(
    api: Api, world: World, alert_id: str, path: str, body: dict[str, Any], field: str
) -> None:
    before = steps(world, alert_id)
    answer = api.post(f"/api/v1/alerts/{alert_id}/{path}", as_=world.people["bd.duty"], json=body)
    assert answer.status_code == 422, answer.text
    assert field in answer.text
    assert steps(world, alert_id) == before
    assert (
        api.get(f"/api/v1/alerts/{alert_id}", as_=world.people["bd.duty"]).json()["status"] == "new"
    )


def test_pages_with_a_cursor(api: Api, world: World, clock: Clock) -> None:
    made = set()
    for i in range(3):
        ids = file(world, "in.analyst", clock, 1, tlp="green", distribution={})
        made.add(raised(world, found(ids, clock, series=f"series {i}")))
        clock.advance(minutes=1)
    seen: list[str] = []
    url = "/api/v1/alerts?limit=2"
    while url:
        page = api.get(url, as_=world.people["bd.analyst"]).json()
        seen += [a["id"] for a in page["items"]]
        url = f"/api/v1/alerts?limit=2&cursor={page['next_cursor']}" if page["next_cursor"] else ""
    assert len(seen) == 3 and set(seen) == made
    newest = api.get("/api/v1/alerts?limit=1", as_=world.people["bd.analyst"]).json()
    assert newest["items"][0]["id"] == seen[0]
    since = (clock.now - timedelta(seconds=90)).isoformat()
    recent = api.get("/api/v1/alerts", params={"since": since}, as_=world.people["bd.analyst"])
    assert [a["id"] for a in recent.json()["items"]] == [seen[0]]


def test_each_rules_record(api: Api, world: World, alert_id: str) -> None:
    people = world.people
    url = f"/api/v1/alerts/{alert_id}"
    assert (
        api.post(f"{url}/close", as_=people["bd.duty"], json={"reason": "false-alarm"}).status_code
        == 200
    )
    mine = api.get("/api/v1/alerts/rules", as_=people["in.analyst"])
    assert mine.status_code == 200, mine.text
    assert mine.json() == [
        {
            "rule": "weekly",
            "raised": 1,
            "open": 0,
            "closed": {"false-alarm": 1},
            "false_alarm_share": 1.0,
            "median_minutes_to_act": 0.0,
        }
    ]
    assert api.get("/api/v1/alerts/rules", as_=people["mm.analyst"]).json() == []


def test_an_organization_mutes_a_series_for_itself_alone(
    api: Api, world: World, alert_id: str, clock: Clock
) -> None:
    people = world.people
    until = (clock.now + timedelta(days=7)).isoformat()
    body = {"until": until, "reason": "a known exercise off Chittagong"}
    watcher = api.post(f"/api/v1/alerts/{alert_id}/mute", as_=people["bd.policy"], json=body)
    assert watcher.status_code == 403  # a policymaker reads, does not act
    answer = api.post(f"/api/v1/alerts/{alert_id}/mute", as_=people["bd.analyst"], json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["muted_until"] is not None
    # Gone from bd-cert's list and tabs, still readable by id and on request ...
    assert api.get("/api/v1/alerts", as_=people["bd.duty"]).json()["items"] == []
    shown = api.get("/api/v1/alerts?muted=true", as_=people["bd.duty"]).json()["items"]
    assert [a["id"] for a in shown] == [alert_id] and shown[0]["muted_until"]
    assert api.get(f"/api/v1/alerts/{alert_id}", as_=people["bd.duty"]).status_code == 200
    # ... and untouched for everyone else who reads it.
    for other in ("in.coast", "in.analyst"):
        items = api.get("/api/v1/alerts", as_=people[other]).json()["items"]
        assert [a["id"] for a in items] == [alert_id] and items[0]["muted_until"] is None, other
    # It ends on its own ...
    clock.advance(days=8)
    assert len(api.get("/api/v1/alerts", as_=people["bd.duty"]).json()["items"]) == 1
    # ... or when lifted, and lifting twice is a conflict.
    until = (clock.now + timedelta(days=1)).isoformat()
    body = {"until": until, "reason": "snooze for a day"}
    assert (
        api.post(f"/api/v1/alerts/{alert_id}/mute", as_=people["bd.duty"], json=body).status_code
        == 200
    )
    assert api.get("/api/v1/alerts", as_=people["bd.analyst"]).json()["items"] == []
    lifted = api.post(f"/api/v1/alerts/{alert_id}/unmute", as_=people["bd.analyst"])
    assert lifted.status_code == 200 and lifted.json()["muted_until"] is None
    assert len(api.get("/api/v1/alerts", as_=people["bd.analyst"]).json()["items"]) == 1
    assert (
        api.post(f"/api/v1/alerts/{alert_id}/unmute", as_=people["bd.analyst"]).status_code == 409
    )
    with world.db.session() as s:
        actions = [
            r.action for r in s.scalars(select(AuditRecord)) if r.action.startswith("alert.")
        ]
        assert actions.count("alert.mute") == 2 and actions.count("alert.unmute") == 1
    outsider = api.post(f"/api/v1/alerts/{alert_id}/mute", as_=people["mm.analyst"], json=body)
    assert outsider.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "x"}, "until"),
        ({"until": "2020-01-01T00:00:00Z", "reason": "x"}, "until"),  # past
        ({"until": "+400d", "reason": "x"}, "until"),  # beyond 90 days
        ({"until": "+1d", "reason": ""}, "reason"),
        ({"until": "+1d", "reason": "x" * 501}, "reason"),
        ({"until": "+1d", "reason": "x", "colour": "red"}, "colour"),
    ],
)
def test_a_bad_mute_names_its_field_and_stores_nothing(
    api: Api, world: World, alert_id: str, clock: Clock, body: dict[str, Any], field: str
) -> None:
    if str(body.get("until", "")).startswith("+"):
        days = int(body["until"][1:-1])
        body = {**body, "until": (clock.now + timedelta(days=days)).isoformat()}
    answer = api.post(f"/api/v1/alerts/{alert_id}/mute", as_=world.people["bd.analyst"], json=body)
    assert 400 <= answer.status_code < 500, answer.text
    assert field in answer.text
    with world.db.session() as s:
        assert s.scalar(select(func.count()).select_from(AlertMute)) == 0
