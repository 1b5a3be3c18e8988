"""Drafts and release: who reads a report before its organization lets it out, on every path.

Bangladesh's CERT requires release. Its analyst files; its duty officer and
liaison officer release. Around them: a policymaker and a node administrator of
the same organization (not releasers), a compatriot agency, Indian and Myanmar
agencies (with a duty officer of their own, a releaser of another organization)
and an Indian civil-society observer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from rsn.audit.models import AuditRecord
from rsn.registry import service as registry
from rsn.store import Database
from rsn.taxii import MAIN_COLLECTION, TAXII_21
from tests.factories import Api, World, api_for, bimstec_world, report_payload

EVERYONE = {
    "bd.analyst",
    "bd.duty",
    "bd.liaison",
    "bd.policy",
    "bd.police",
    "bd.admin",
    "in.analyst",
    "in.duty",
    "in.coast",
    "mm.analyst",
    "in.watch",
}
AUTHOR_AND_RELEASERS = {"bd.analyst", "bd.duty", "bd.liaison"}
TITLE = "Zephyrine smuggling route"

# marking, who reads it published, who reads it as a draft
CASES: dict[str, tuple[dict[str, Any], set[str], set[str]]] = {
    "clear": ({"tlp": "clear"}, EVERYONE, AUTHOR_AND_RELEASERS),
    "green": ({"tlp": "green"}, EVERYONE - {"in.watch"}, AUTHOR_AND_RELEASERS),
    "amber-to-state": (
        {"tlp": "amber", "distribution": {"member_states": ["IN"]}},
        {"bd.analyst", "bd.duty", "bd.liaison", "bd.policy", "bd.admin"}
        | {"in.analyst", "in.duty", "in.coast"},
        AUTHOR_AND_RELEASERS,
    ),
    "amber+strict": (
        {"tlp": "amber+strict", "distribution": {"organizations": ["in-cert"]}},
        {"bd.analyst", "bd.duty", "bd.liaison", "bd.policy", "bd.admin", "in.analyst", "in.duty"},
        AUTHOR_AND_RELEASERS,
    ),
    "red-to-a-releaser": (
        {"tlp": "red", "distribution": {"users": ["bd.duty", "in.duty"]}},
        {"bd.analyst", "bd.duty", "in.duty"},
        {"bd.analyst", "bd.duty"},
    ),
    "red-to-others": (
        {"tlp": "red", "distribution": {"users": ["in.analyst"]}},
        {"bd.analyst", "in.analyst"},
        {"bd.analyst"},
    ),
}


@pytest.fixture
def world(db: Database) -> World:
    w = bimstec_world(db)
    w.person("bd.liaison", "bd-cert", role="liaison")
    w.person("in.duty", "in-cert", role="duty-officer")
    require_release(w, "bd-cert")
    return w


def require_release(world: World, slug: str, required: bool = True) -> None:
    with world.db.session(write=True) as s:
        org = registry.get_organization(s, slug=slug)
        registry.set_release_required(s, organization=org, required=required)


def body(marking: dict[str, Any], **fields: Any) -> dict[str, Any]:
    payload = report_payload(
        title=TITLE,
        category="maritime.trafficking",
        observables=[{"type": "domain-name", "value": "zephyr-cargo.example"}],
        **fields,
    )
    payload["tlp"] = marking["tlp"]
    payload["distribution"] = {
        "member_states": [],
        "organizations": [],
        "sharing_groups": [],
        "users": [],
        **marking.get("distribution", {}),
    }
    return payload


def file(api: Api, world: World, marking: dict[str, Any], *, draft: bool = False) -> str:
    url = "/api/v1/reports?draft=true" if draft else "/api/v1/reports"
    x = api.post(url, json=body(marking), as_=world.people["bd.analyst"])
    assert x.status_code == 201, x.text
    return str(x.json()["id"])


def clear_neighbour(api: Api, world: World) -> str:
    """A clear report of Myanmar's that shares the draft's observable, read by everyone."""
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
    return str(y.json()["id"])


def sees(api: Api, world: World, who: str, x: str, y: str) -> dict[str, bool]:
    """Whether `who` meets report `x` on each path a reader has."""
    person = world.people[who]
    listed = api.get("/api/v1/reports?limit=500", as_=person).json()["items"]
    found = api.get("/api/v1/reports?q=zephyrine", as_=person).json()["items"]
    counts = api.get("/api/v1/reports/counts?by=category", as_=person).json()["rows"]
    correlated = api.get(f"/api/v1/reports/{y}", as_=person).json()["correlations"]
    exported = api.get("/api/v1/export?format=csv", as_=person).text
    taxii = api.get(
        f"/taxii2/rsn/collections/{MAIN_COLLECTION}/objects/",
        as_=person,
        headers={"Accept": TAXII_21},
    ).text
    return {
        "read": api.get(f"/api/v1/reports/{x}", as_=person).status_code == 200,
        "history": api.get(f"/api/v1/reports/{x}/history", as_=person).status_code == 200,
        "list": x in {r["id"] for r in listed},
        "search": x in {r["id"] for r in found},
        "count": any(r["key"] == "maritime.trafficking" for r in counts),
        "correlation": x in {c["report_id"] for c in correlated},
        "export": x in exported,
        "taxii": f"report--{x}" in taxii,
    }


def assert_readers(api: Api, world: World, x: str, y: str, readers: set[str], case: str) -> None:
    for who in sorted(EVERYONE):
        seen = sees(api, world, who, x, y)
        expected = who in readers
        assert seen == dict.fromkeys(seen, expected), f"{case}: {who} should see={expected}: {seen}"


def assert_not_public(api: Api, x: str) -> None:
    assert api.get(f"/public/reports/{x}").status_code == 404
    assert TITLE not in api.get("/public").text


@pytest.mark.parametrize("case", list(CASES))
def test_a_draft_is_read_by_its_author_and_releasers_only(
    db: Database, tmp_path: Path, world: World, case: str
) -> None:
    api = api_for(db, tmp_path)
    marking, _, draft_readers = CASES[case]
    x = file(api, world, marking, draft=True)
    y = clear_neighbour(api, world)
    assert api.get(f"/api/v1/reports/{x}", as_=world.people["bd.analyst"]).json()["status"] == (
        "draft"
    )
    assert_readers(api, world, x, y, draft_readers, case)
    assert_not_public(api, x)


@pytest.mark.parametrize("case", ["clear", "amber-to-state"])
def test_filing_what_leaves_the_organization_waits_for_release(
    db: Database, tmp_path: Path, world: World, case: str
) -> None:
    api = api_for(db, tmp_path)
    marking, readers, draft_readers = CASES[case]
    x = file(api, world, marking)
    y = clear_neighbour(api, world)
    assert api.get(f"/api/v1/reports/{x}", as_=world.people["bd.analyst"]).json()["status"] == (
        "pending"
    )
    assert_readers(api, world, x, y, draft_readers, case)
    assert_not_public(api, x)

    released = api.post(f"/api/v1/reports/{x}/release", as_=world.people["bd.liaison"])
    assert released.status_code == 200, released.text
    assert released.json()["status"] == "published"
    assert_readers(api, world, x, y, readers, case)


@pytest.mark.parametrize(
    "marking",
    [
        {"tlp": "amber", "distribution": {}},
        {"tlp": "amber", "distribution": {"organizations": ["bd-cert"]}},
        {"tlp": "amber+strict", "distribution": {}},
        {"tlp": "red", "distribution": {"users": ["bd.policy"]}},
    ],
)
def test_what_stays_in_the_organization_needs_no_release(
    db: Database, tmp_path: Path, world: World, marking: dict[str, Any]
) -> None:
    api = api_for(db, tmp_path)
    x = file(api, world, marking)
    read = api.get(f"/api/v1/reports/{x}", as_=world.people["bd.analyst"]).json()
    assert read["status"] == "published"


def test_without_the_setting_nothing_waits(db: Database, tmp_path: Path, world: World) -> None:
    require_release(world, "bd-cert", required=False)
    api = api_for(db, tmp_path)
    x = file(api, world, CASES["green"][0])
    assert api.get(f"/api/v1/reports/{x}", as_=world.people["mm.analyst"]).status_code == 200


def test_a_releasers_own_filing_is_released_by_filing(
    db: Database, tmp_path: Path, world: World
) -> None:
    api = api_for(db, tmp_path)
    x = api.post("/api/v1/reports", json=body(CASES["green"][0]), as_=world.people["bd.duty"])
    assert x.json()["status"] == "published"


def test_refusal_keeps_it_hidden_and_the_author_resubmits(
    db: Database, tmp_path: Path, world: World
) -> None:
    api = api_for(db, tmp_path)
    marking, readers, draft_readers = CASES["amber-to-state"]
    x = file(api, world, marking)
    y = clear_neighbour(api, world)

    short = api.post(
        f"/api/v1/reports/{x}/refuse", json={"reason": ""}, as_=world.people["bd.duty"]
    )
    assert short.status_code == 422
    refused = api.post(
        f"/api/v1/reports/{x}/refuse",
        json={"reason": "Names a source; take it out."},
        as_=world.people["bd.duty"],
    )
    assert refused.status_code == 200, refused.text
    assert refused.json()["status"] == "draft"
    assert refused.json()["refusal_reason"] == "Names a source; take it out."
    assert_readers(api, world, x, y, draft_readers, "refused")
    queue = api.get("/api/v1/releases", as_=world.people["bd.liaison"]).json()
    assert x not in {q["report_id"] for q in queue}

    changed = api.patch(
        f"/api/v1/reports/{x}",
        json={"description": "No source named."},
        as_=world.people["bd.analyst"],
    )
    assert changed.status_code == 200 and changed.json()["status"] == "draft"
    again = api.post(f"/api/v1/reports/{x}/submit", as_=world.people["bd.analyst"])
    assert again.json()["status"] == "pending"
    assert x in {
        q["report_id"] for q in api.get("/api/v1/releases", as_=world.people["bd.duty"]).json()
    }
    api.post(f"/api/v1/reports/{x}/release", as_=world.people["bd.duty"])
    assert_readers(api, world, x, y, readers, "released")
    history = api.get(f"/api/v1/reports/{x}/history", as_=world.people["in.analyst"]).json()
    assert [v["snapshot"]["description"] for v in history] == ["No source named."]

    with db.session() as s:
        actions = list(s.scalars(select(AuditRecord.action).where(AuditRecord.actor == "bd.duty")))
    assert "report.refuse" in actions and "report.release" in actions


def test_a_draft_submitted_within_the_organization_is_published(
    db: Database, tmp_path: Path, world: World
) -> None:
    api = api_for(db, tmp_path)
    x = file(api, world, {"tlp": "amber", "distribution": {}}, draft=True)
    assert api.get(f"/api/v1/reports/{x}", as_=world.people["bd.policy"]).status_code == 404
    submitted = api.post(f"/api/v1/reports/{x}/submit", as_=world.people["bd.analyst"])
    assert submitted.json()["status"] == "published"
    assert api.get(f"/api/v1/reports/{x}", as_=world.people["bd.policy"]).status_code == 200


def test_only_the_organizations_releasers_release(
    db: Database, tmp_path: Path, world: World
) -> None:
    api = api_for(db, tmp_path)
    x = file(api, world, CASES["green"][0])
    for who, status in (("bd.analyst", 403), ("bd.admin", 404), ("in.duty", 404)):
        answer = api.post(f"/api/v1/reports/{x}/release", as_=world.people[who])
        assert answer.status_code == status, (who, answer.text)
        refusal = {"reason": "not mine to refuse"}
        answer = api.post(f"/api/v1/reports/{x}/refuse", json=refusal, as_=world.people[who])
        assert answer.status_code == status, (who, answer.text)
    assert api.get("/api/v1/releases", as_=world.people["bd.analyst"]).status_code == 403
    assert api.get("/api/v1/releases", as_=world.people["in.duty"]).json() == []
    queue = api.get("/api/v1/releases", as_=world.people["bd.liaison"]).json()
    assert [(q["report_id"], q["submitted_by"], q["next_version"]) for q in queue] == [
        (x, "bd.analyst", False)
    ]
    assert (
        api.post(f"/api/v1/reports/{x}/release", as_=world.people["bd.liaison"]).status_code == 200
    )
    again = api.post(f"/api/v1/reports/{x}/release", as_=world.people["bd.liaison"])
    assert again.status_code == 409


def test_a_widening_edit_waits_and_readers_keep_the_published_version(
    db: Database, tmp_path: Path, world: World
) -> None:
    require_release(world, "bd-cert", required=False)
    api = api_for(db, tmp_path)
    x = file(api, world, {"tlp": "amber", "distribution": {"member_states": ["BD"]}})
    y = clear_neighbour(api, world)
    require_release(world, "bd-cert")
    published = {"bd.analyst", "bd.duty", "bd.liaison", "bd.policy", "bd.admin", "bd.police"}
    assert_readers(api, world, x, y, published, "published to Bangladesh")

    widen = {
        "title": "Zephyrine route reaches India",
        "distribution": {"member_states": ["BD", "IN"]},
    }
    held = api.patch(f"/api/v1/reports/{x}", json=widen, as_=world.people["bd.analyst"])
    assert held.status_code == 200, held.text
    assert held.json()["title"] == TITLE
    assert held.json()["next_version"]["status"] == "pending"
    assert held.json()["next_version"]["fields"]["title"] == "Zephyrine route reaches India"
    assert_readers(api, world, x, y, published, "held")
    police = api.get(f"/api/v1/reports/{x}", as_=world.people["bd.police"]).json()
    assert police["title"] == TITLE and police["next_version"] is None
    duty = api.get(f"/api/v1/reports/{x}", as_=world.people["bd.duty"]).json()
    assert duty["next_version"]["submitted_by"] == "bd.analyst"
    assert (
        api.get(f"/api/v1/reports/{x}", as_=world.people["bd.policy"]).json()["next_version"]
        is None
    )
    queue = api.get("/api/v1/releases", as_=world.people["bd.duty"]).json()
    assert [(q["report_id"], q["next_version"]) for q in queue] == [(x, True)]

    released = api.post(f"/api/v1/reports/{x}/release", as_=world.people["bd.duty"])
    assert released.json()["title"] == "Zephyrine route reaches India"
    assert released.json()["next_version"] is None
    assert_readers(api, world, x, y, published | {"in.analyst", "in.duty", "in.coast"}, "widened")
    versions = api.get(f"/api/v1/reports/{x}/history", as_=world.people["in.analyst"]).json()
    assert versions[-1]["submitted_by"] == "bd.analyst"


def test_a_refused_widening_edit_leaves_the_published_version(
    db: Database, tmp_path: Path, world: World
) -> None:
    api = api_for(db, tmp_path)
    x = file(api, world, {"tlp": "amber", "distribution": {}})
    api.patch(f"/api/v1/reports/{x}", json={"tlp": "green"}, as_=world.people["bd.analyst"])
    refused = api.post(
        f"/api/v1/reports/{x}/refuse",
        json={"reason": "Not for everyone."},
        as_=world.people["bd.duty"],
    )
    assert refused.json()["tlp"] == "amber"
    mine = api.get(f"/api/v1/reports/{x}", as_=world.people["bd.analyst"]).json()
    assert mine["next_version"]["status"] == "draft"
    assert mine["next_version"]["refusal_reason"] == "Not for everyone."
    assert api.get(f"/api/v1/reports/{x}", as_=world.people["mm.analyst"]).status_code == 404
    assert api.get("/api/v1/releases", as_=world.people["bd.duty"]).json() == []


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({"tlp": "clear"}, {"tlp": "green"}),
        (
            {"tlp": "amber", "distribution": {"member_states": ["IN", "MM"]}},
            {"tlp": "amber", "distribution": {"member_states": ["IN"]}},
        ),
    ],
)
def test_a_narrowing_edit_needs_no_release(
    db: Database, tmp_path: Path, world: World, before: dict[str, Any], after: dict[str, Any]
) -> None:
    require_release(world, "bd-cert", required=False)
    api = api_for(db, tmp_path)
    x = file(api, world, before)
    require_release(world, "bd-cert")
    change = {
        "tlp": after["tlp"],
        "distribution": after.get("distribution", {}),
        "title": "Narrower",
    }
    narrowed = api.patch(f"/api/v1/reports/{x}", json=change, as_=world.people["bd.analyst"])
    assert narrowed.json()["title"] == "Narrower" and narrowed.json()["next_version"] is None
    assert api.get(f"/api/v1/reports/{x}", as_=world.people["in.analyst"]).json()["title"] == (
        "Narrower"
    )
