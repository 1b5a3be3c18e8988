"""Subscriptions over HTTP: their owner's alone, their filters checked like a list's query."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rsn.store import Database
from tests.factories import Api, World, api_for, bimstec_world, days_ago, stamp


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


@pytest.fixture
def api(db: Database, tmp_path: Path, world: World) -> Api:
    return api_for(db, tmp_path)


def fields(answer: Any) -> list[str]:
    assert answer.status_code == 422, answer.text
    return [e["field"] for e in answer.json()["errors"]]


def test_an_owner_makes_reads_lists_and_deletes_a_subscription(api: Api, world: World) -> None:
    owner = world.people["in.analyst"]
    made = api.post(
        "/api/v1/subscriptions",
        as_=owner,
        json={
            "name": "Trafficking in Bangladesh",
            "filters": {"category": "trafficking", "country": "BD", "since": stamp(days_ago(30))},
        },
    )
    assert made.status_code == 201, made.text
    sub = made.json()
    assert (sub["kind"], sub["channel"], sub["mode"]) == ("reports", "inbox", "immediate")
    assert sub["filters"]["category"] == "trafficking"
    assert api.get(f"/api/v1/subscriptions/{sub['id']}", as_=owner).json() == sub
    assert [s["id"] for s in api.get("/api/v1/subscriptions", as_=owner).json()] == [sub["id"]]
    assert api.request("DELETE", f"/api/v1/subscriptions/{sub['id']}", as_=owner).status_code == 204
    assert api.get(f"/api/v1/subscriptions/{sub['id']}", as_=owner).status_code == 404
    assert api.get("/api/v1/subscriptions", as_=owner).json() == []


def test_no_one_else_sees_or_deletes_a_subscription(api: Api, world: World) -> None:
    owner = world.people["in.analyst"]
    sub = api.post("/api/v1/subscriptions", as_=owner, json={"name": "mine"}).json()["id"]
    for other in ("in.coast", "mm.analyst", "in.watch", "bd.admin"):
        person = world.people[other]
        assert api.get(f"/api/v1/subscriptions/{sub}", as_=person).status_code == 404, other
        assert api.get("/api/v1/subscriptions", as_=person).json() == [], other
        deleted = api.request("DELETE", f"/api/v1/subscriptions/{sub}", as_=person)
        assert deleted.status_code == 404, other
        missing = api.get("/api/v1/subscriptions/no-such-id", as_=person)
        theirs = api.get(f"/api/v1/subscriptions/{sub}", as_=person)
        assert missing.json()["detail"].replace("no-such-id", "X") == theirs.json()[
            "detail"
        ].replace(sub, "X")
    assert api.get(f"/api/v1/subscriptions/{sub}", as_=owner).status_code == 200
    assert api.get("/api/v1/subscriptions").status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"filters": {"category": "no-such-thing-at-all"}}, "filters.category"),
        ({"filters": {"tlp": "purple"}}, "filters.tlp"),
        ({"filters": {"country": "BDX"}}, "filters.country"),
        ({"filters": {"since": days_ago(30).replace(tzinfo=None).isoformat()}}, "filters.since"),
        ({"filters": {"q": "bad\u0000byte"}}, "filters.q"),
        ({"filters": {"colour": "blue"}}, "filters.colour"),
        ({"kind": "alerts"}, "kind"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_filters_are_refused_naming_the_field(
    api: Api, world: World, body: dict[str, Any], field: str
) -> None:
    answer = api.post(
        "/api/v1/subscriptions", as_=world.people["in.analyst"], json={"name": "x", **body}
    )
    assert fields(answer) == [field]
