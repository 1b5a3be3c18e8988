"""The approvers' queue over REST: the same decisions as `/approvals`, for their own only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rsn.registry import approvals, enrolment
from rsn.registry import service as registry
from rsn.store import Database
from tests.factories import Api, World, api_for, bimstec_world


@pytest.fixture
def world(db: Database) -> World:
    w = bimstec_world(db)
    w.person("in.liaison", "in-cert", role="liaison")
    with db.session(write=True) as s:
        admin = registry.get_user(s, username="bd.admin")
        approvals.request_member(
            s,
            by=admin,
            username="in.new",
            display_name="In New",
            organization=registry.get_organization(s, slug="in-cert"),
            role="analyst",
        )
        approvals.request_role(
            s, by=admin, user=registry.get_user(s, username="in.analyst"), role="observer"
        )
    return w


@pytest.fixture
def api(db: Database, tmp_path: Path) -> Api:
    return api_for(db, tmp_path)


def test_an_approver_lists_and_decides_their_organizations_requests(
    db: Database, api: Api, world: World
) -> None:
    liaison = world.people["in.liaison"].auth
    queue = api.get("/api/v1/approvals", headers=liaison)
    assert queue.status_code == 200
    kinds = [(a["kind"], a["summary"], a["requested_by"]) for a in queue.json()]
    assert kinds == [
        ("member", "in.new as analyst of in-cert", "bd.admin"),
        ("role", "in.analyst: analyst → observer", "bd.admin"),
    ]
    member, role = (a["id"] for a in queue.json())
    approved = api.post(f"/api/v1/approvals/{member}/approve", headers=liaison)
    assert approved.status_code == 200
    assert approved.headers["cache-control"] == "no-store"
    link = approved.json()["enrolment_link"]
    assert re.fullmatch(r"http://[^/]+/enrol/[A-Za-z0-9_-]{20,}", link)
    with db.session(write=True) as s:
        enrolment.complete(s, secret=link.rsplit("/", 1)[1], password="a password of my own")
    refused = api.post(f"/api/v1/approvals/{role}/refuse", headers=liaison)
    assert refused.json()["approval"]["decision"] == "refused"
    assert refused.json()["enrolment_link"] is None
    assert api.get("/api/v1/approvals", headers=liaison).json() == []
    again = api.post(f"/api/v1/approvals/{member}/approve", headers=liaison)
    assert again.status_code == 409


def test_others_are_refused_and_another_organizations_requests_answer_404(
    api: Api, world: World
) -> None:
    queue = api.get("/api/v1/approvals", headers=world.people["in.liaison"].auth).json()
    for name in ("bd.admin", "in.analyst", "in.watch"):
        answer = api.get("/api/v1/approvals", headers=world.people[name].auth)
        assert answer.status_code == 403, name
        assert "liaison and duty officers" in answer.json()["detail"]
    outsider = world.people["bd.duty"].auth  # an approver, of another organization
    assert api.get("/api/v1/approvals", headers=outsider).json() == []
    for item in queue:
        answer = api.post(f"/api/v1/approvals/{item['id']}/approve", headers=outsider)
        assert answer.status_code == 404
    unknown = api.post("/api/v1/approvals/no-such-id/approve", headers=outsider)
    assert unknown.status_code == 404  # and reads the same as one that exists elsewhere
    hidden = answer.json()["detail"].replace(queue[-1]["id"], "ID")
    assert hidden == unknown.json()["detail"].replace("no-such-id", "ID")
