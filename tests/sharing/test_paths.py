"""Each TLP level on each path (read, list, search, count, correlation), both ways.

Bangladesh's CERT analyst files every report. Around them: colleagues of the same
organization, a compatriot agency (police), Indian and Myanmar agencies, a node
administrator of another state, and an Indian civil-society observer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rsn.registry import service as registry
from rsn.store import Database
from tests.factories import Api, World, api_for, bimstec_world, report_payload

EVERYONE = {
    "bd.analyst",
    "bd.duty",
    "bd.policy",
    "bd.police",
    "bd.admin",
    "in.analyst",
    "in.coast",
    "mm.analyst",
    "mm.admin",
    "in.watch",
}
BD_CERT = {"bd.analyst", "bd.duty", "bd.policy", "bd.admin"}

CASES: dict[str, tuple[dict[str, Any], set[str]]] = {
    "clear": ({"tlp": "clear", "distribution": {}}, EVERYONE),
    "green": ({"tlp": "green", "distribution": {}}, EVERYONE - {"in.watch"}),
    "amber-to-state": (
        {"tlp": "amber", "distribution": {"member_states": ["IN"]}},
        BD_CERT | {"in.analyst", "in.coast"},
    ),
    "amber-to-cso": (
        {"tlp": "amber", "distribution": {"organizations": ["in-watch"]}},
        BD_CERT | {"in.watch"},
    ),
    "amber-to-group": (
        {"tlp": "amber", "distribution": {"sharing_groups": ["bob-maritime"]}},
        BD_CERT | {"in.coast", "mm.analyst", "mm.admin"},
    ),
    "amber-own-state": (
        {"tlp": "amber", "distribution": {"member_states": ["BD"]}},
        BD_CERT | {"bd.police"},
    ),
    "amber+strict": (
        {"tlp": "amber+strict", "distribution": {"organizations": ["in-cert"]}},
        BD_CERT | {"in.analyst"},
    ),
    "red": (
        {"tlp": "red", "distribution": {"users": ["in.analyst"]}},
        {"bd.analyst", "in.analyst"},
    ),
}


@pytest.fixture
def world(db: Database) -> World:
    w = bimstec_world(db)
    w.person("mm.admin", "mm-cert", role="node-admin")
    with db.session(write=True) as s:
        group = registry.create_sharing_group(
            s, slug="bob-maritime", name="Bay of Bengal maritime", owner=w.orgs["in-coastguard"]
        )
        registry.set_group_members(
            s,
            group=group,
            acting_org=w.orgs["in-coastguard"],
            organizations=[w.orgs["in-coastguard"]],
            member_states=["MM"],
        )
    for name in w.people:
        w.refresh(name)
    return w


def _file(api: Api, world: World, case: str) -> tuple[str, str]:
    """The case's hidden-or-not report X, and a clear report Y sharing its observable."""
    marking, _ = CASES[case]
    body = report_payload(
        title="Zephyrine smuggling route",
        category="maritime.trafficking",
        observables=[{"type": "domain-name", "value": "zephyr-cargo.example"}],
        **marking,
    )
    body["distribution"] = {
        "member_states": [],
        "organizations": [],
        "sharing_groups": [],
        "users": [],
        **marking["distribution"],
    }
    x = api.post("/api/v1/reports", json=body, as_=world.people["bd.analyst"])
    assert x.status_code == 201, x.text
    y = api.post(
        "/api/v1/reports",
        as_=world.people["mm.analyst"],
        json=report_payload(
            title="Public note",
            tlp="clear",
            distribution={},
            category="cyber.attack",
            country="MM",
            observables=[{"type": "domain-name", "value": "zephyr-cargo.example"}],
        ),
    )
    assert y.status_code == 201, y.text
    return x.json()["id"], y.json()["id"]


def _sees(api: Api, world: World, who: str, x: str, y: str) -> dict[str, bool]:
    person = world.people[who]
    listed = api.get("/api/v1/reports?limit=500", as_=person).json()["items"]
    found = api.get("/api/v1/reports?q=zephyrine", as_=person).json()["items"]
    counts = api.get("/api/v1/reports/counts?by=category", as_=person).json()["rows"]
    correlated = api.get(f"/api/v1/reports/{y}", as_=person).json()["correlations"]
    return {
        "read": api.get(f"/api/v1/reports/{x}", as_=person).status_code == 200,
        "list": x in {r["id"] for r in listed},
        "search": x in {r["id"] for r in found},
        "count": {"key": "maritime.trafficking", "count": 1} in counts,
        "correlation": x in {c["report_id"] for c in correlated},
    }


@pytest.mark.parametrize("case", list(CASES))
def test_who_sees_on_every_path(db: Database, tmp_path: Path, world: World, case: str) -> None:
    api = api_for(db, tmp_path)
    x, y = _file(api, world, case)
    readers = CASES[case][1]
    for who in sorted(EVERYONE):
        seen = _sees(api, world, who, x, y)
        expected = who in readers
        assert seen == dict.fromkeys(seen, expected), f"{case}: {who} should see={expected}: {seen}"


def test_hidden_and_absent_answer_alike(db: Database, tmp_path: Path, world: World) -> None:
    api = api_for(db, tmp_path)
    x, _ = _file(api, world, "red")
    hidden = api.get(f"/api/v1/reports/{x}", as_=world.people["mm.admin"])
    absent = api.get(
        "/api/v1/reports/00000000-0000-4000-8000-000000000000", as_=world.people["mm.admin"]
    )
    assert hidden.status_code == absent.status_code == 404
    assert hidden.json()["detail"].replace(x, "ID") == absent.json()["detail"].replace(
        "00000000-0000-4000-8000-000000000000", "ID"
    )
    for path in ("history", "revoke"):
        method = api.get if path == "history" else api.post
        kwargs: dict[str, Any] = {} if path == "history" else {"json": {"reason": "mistake"}}
        assert (
            method(f"/api/v1/reports/{x}/{path}", as_=world.people["bd.duty"], **kwargs).status_code
            == 404
        )


def test_only_the_owner_changes_a_group(db: Database, world: World) -> None:
    from rsn.errors import Forbidden

    with db.session(write=True) as s, pytest.raises(Forbidden):
        group = registry.get_sharing_group(s, slug="bob-maritime")
        registry.set_group_members(
            s, group=group, acting_org=world.orgs["bd-cert"], organizations=[world.orgs["bd-cert"]]
        )
