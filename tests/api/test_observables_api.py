"""GET /api/v1/observables as a client uses it, on both stores.

The answer for a value only hidden reports carry must be byte for byte the answer
for a value nobody reported; each answer that shows another organization's
non-public report leaves one disclosure record, as the report list does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from rsn.audit import AuditRecord
from rsn.store import Database
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

PHONE = "+8801712345678"
URL = "/api/v1/observables"
FIELDS = {
    "type",
    "value",
    "other_types",
    "reports",
    "first_seen",
    "last_seen",
    "total",
    "states",
    "organizations",
    "cross_border",
    "common",
    "next_cursor",
}


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


@pytest.fixture
def api(db: Database, tmp_path: Path, world: World) -> Api:
    return api_for(db, tmp_path)


def file(api: Api, who: Person, days: float, value: str = PHONE, **fields: Any) -> str:
    body = report_payload(
        occurred_at=stamp(days_ago(days)),
        observables=[{"type": "phone-number", "value": value}],
        **fields,
    )
    answer = api.post("/api/v1/reports", as_=who, json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def look(api: Api, who: Person, status: int = 200, **params: Any) -> Any:
    answer = api.get(URL, as_=who, params={"value": PHONE, **params})
    assert answer.status_code == status, answer.text
    return answer.json()


def amber(*states: str) -> dict[str, Any]:
    return {"tlp": "amber", "distribution": {"member_states": list(states)}}


def disclosures(db: Database) -> list[tuple[str, list[str]]]:
    with db.session() as s:
        query = select(AuditRecord).where(AuditRecord.action == "report.observable")
        return [(r.actor, r.item_ids) for r in s.scalars(query.order_by(AuditRecord.id))]


def test_the_answer_names_the_value_and_the_reports_carrying_it(api: Api, world: World) -> None:
    bd, india = world.people["bd.analyst"], world.people["in.analyst"]
    report = file(api, bd, 3, "+880 1712-345678", **amber("IN"))
    body = look(api, india, value="+880 1712 345678")
    assert set(body) == FIELDS
    assert (body["type"], body["value"], body["total"]) == ("phone-number", PHONE, 1)
    assert body["reports"] == [
        {
            "id": report,
            "title": report_payload()["title"],
            "country": "BD",
            "organization": "bd-cert",
            "occurred_at": millis(days_ago(3)),
        }
    ]
    assert body["first_seen"] == body["last_seen"] == millis(days_ago(3))
    assert body["states"] == [{"member_state": "BD", "reports": 1}]
    assert body["organizations"] == [
        {"organization": "bd-cert", "member_state": "BD", "reports": 1}
    ]
    assert (body["cross_border"], body["common"], body["next_cursor"]) == (False, False, None)


def test_a_report_hidden_from_the_caller_answers_like_a_value_nobody_reported(
    api: Api, world: World
) -> None:
    """An amber report of bd-cert for India: Myanmar and an observer learn nothing of it."""
    strangers = [world.people["mm.analyst"], world.people["in.watch"]]
    before = [look(api, who) for who in strangers]
    file(api, world.people["bd.analyst"], 2, **amber("IN"))
    file(api, world.people["bd.analyst"], 1, tlp="red", distribution={"users": ["in.analyst"]})
    assert look(api, world.people["in.analyst"])["total"] == 2
    for who, earlier in zip(strangers, before, strict=True):
        assert look(api, who) == earlier
        assert earlier["reports"] == [] and earlier["first_seen"] is None


def test_a_red_report_is_for_the_named_users_only(api: Api, world: World) -> None:
    red = {"tlp": "red", "distribution": {"users": ["in.analyst"]}}
    report = file(api, world.people["bd.analyst"], 1, **red)
    assert [r["id"] for r in look(api, world.people["in.analyst"])["reports"]] == [report]
    for name in ("bd.duty", "bd.admin", "in.coast", "mm.analyst"):
        assert look(api, world.people[name])["total"] == 0, name


def test_pages_follow_the_cursor_and_first_and_last_seen_cover_visible_reports(
    api: Api, world: World
) -> None:
    bd, india = world.people["bd.analyst"], world.people["in.analyst"]
    shown = [file(api, bd, d, **amber("IN")) for d in (2, 4, 6)]
    file(api, india, 1, country="IN", **amber())  # newest, but Bangladesh may not read it
    file(api, india, 30, country="IN", **amber())  # oldest, likewise
    first = look(api, bd, limit=2)
    rest = look(api, bd, limit=2, cursor=first["next_cursor"])
    assert [r["id"] for r in first["reports"] + rest["reports"]] == shown
    assert rest["next_cursor"] is None
    assert (first["first_seen"], first["last_seen"]) == (millis(days_ago(6)), millis(days_ago(2)))
    everything = look(api, india, limit=500)
    assert (everything["first_seen"], everything["last_seen"], everything["total"]) == (
        millis(days_ago(30)),
        millis(days_ago(1)),
        5,
    )
    assert everything["cross_border"] and len(everything["states"]) == 2


def test_a_bangladeshi_user_may_type_a_national_number(api: Api, world: World) -> None:
    report = file(api, world.people["bd.police"], 1, "+8801711460983", tlp="green", distribution={})
    body = look(api, world.people["bd.analyst"], value="01711-460983")
    assert (body["type"], body["value"]) == ("phone-number", "+8801711460983")
    assert [r["id"] for r in body["reports"]] == [report]


def test_the_type_is_inferred_and_can_be_picked(api: Api, world: World) -> None:
    bd = world.people["bd.analyst"]
    phone = file(api, bd, 1, "+8803035824")
    guessed = look(api, bd, value="3035824")
    assert (guessed["type"], guessed["total"]) == ("vessel-imo", 0)
    assert "phone-number" in guessed["other_types"]
    picked = look(api, bd, value="3035824", type="phone-number")
    assert [r["id"] for r in picked["reports"]] == [phone]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"value": ""}, "value"),
        ({"value": "   "}, "value"),
        ({"value": "x" * 2049}, "value"),
        ({"value": "!!"}, "value"),
        ({"type": "colour"}, "type"),
        ({"type": "ipv4-addr"}, "value"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"cursor": "bm90IGEgY3Vyc29y"}, "cursor"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    api: Api, world: World, params: dict[str, Any], field: str
) -> None:
    body = look(api, world.people["bd.analyst"], status=422, **params)
    assert [e["field"] for e in body["errors"]] == [field]


def test_a_missing_value_is_named(api: Api, world: World) -> None:
    answer = api.get(URL, as_=world.people["bd.analyst"])
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "value"


def test_only_readers_other_than_the_originator_leave_disclosures(
    api: Api, world: World, db: Database
) -> None:
    bd, india = world.people["bd.analyst"], world.people["in.analyst"]
    amber_id = file(api, bd, 2, **amber("IN"))
    file(api, bd, 3, tlp="clear", distribution={})
    look(api, bd)  # the originator's own reports and a clear one disclose nothing
    look(api, india, value="+8801999999999")  # nothing shown, nothing recorded
    assert disclosures(db) == []
    look(api, india)
    assert disclosures(db) == [("in.analyst", [amber_id])]


def test_a_token_is_needed(api: Api) -> None:
    assert api.get(URL, params={"value": PHONE}).status_code == 401
