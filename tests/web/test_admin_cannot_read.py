"""A node administrator manages who is who and never becomes a reader of what was not shared.

The attack this closes: an administrator saw every enrolment and reset link it made,
so it could enrol an account into any organization, or reset a `red` reader's
password and sign in as them; and it could create a "government agency" holding a
member state's key. Here the administrator walks every action the admin pages offer,
aimed at India's CERT, and afterwards no account anyone can use holds a key it did
not hold before, no link reached the administrator, and none of in-cert's `amber`,
`amber+strict` or `red` reports reached any page or API answer it got.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from rsn import sharing
from rsn.registry import approvals
from rsn.registry import service as registry
from rsn.registry.models import Enrolment, User
from rsn.sharing.models import SharingGrant
from rsn.store import Database
from tests.factories import Api, World, api_for, bimstec_world, report_payload
from tests.web.webclient import WebClient

PASSWORD = "correct horse battery staple"
LINK = re.compile(r"/enrol/[A-Za-z0-9_-]{20,}")
TOKEN = re.compile(r"rsn_[0-9a-f]{12}_[A-Za-z0-9_-]{20,}")
HIDDEN = {
    "amber to India": {"tlp": "amber", "distribution": {"member_states": ["IN"]}},
    "amber to in-cert": {"tlp": "amber", "distribution": {"organizations": ["in-cert"]}},
    "amber+strict": {"tlp": "amber+strict", "distribution": {}},
    "red to in.red": {"tlp": "red", "distribution": {"users": ["in.red"]}},
}


@pytest.fixture
def world(db: Database) -> World:
    w = bimstec_world(db)
    w.person("bd.root", "bd-cert", role="node-admin", password=PASSWORD)
    w.person("in.red", "in-cert", password=PASSWORD)
    w.person("in.liaison", "in-cert", role="liaison", password=PASSWORD)
    with db.session(write=True) as s:
        for slug in ("bd-police", "in-coastguard", "mm-cert"):
            approvals.set_focal_point(s, organization=registry.get_organization(s, slug=slug))
    return w


@pytest.fixture
def api(db: Database, tmp_path: Path) -> Api:
    return api_for(db, tmp_path)


def hidden_reports(api: Api, world: World) -> dict[str, str]:
    """in-cert's reports no one in Bangladesh may read, by a secret word in each title."""
    made = {}
    for n, (name, marking) in enumerate(HIDDEN.items()):
        word = f"SECRETWORD{n}"
        body = report_payload(
            title=f"{word} {name}",
            tlp=marking["tlp"],
            distribution={
                "member_states": [],
                "organizations": [],
                "sharing_groups": [],
                "users": [],
                **marking["distribution"],
            },
        )
        answer = api.post("/api/v1/reports", json=body, headers=world.people["in.analyst"].auth)
        assert answer.status_code == 201, answer.text
        made[word] = answer.json()["id"]
    return made


def all_keys(db: Database) -> dict[str, frozenset[str]]:
    """The keys of every account that can act (not disabled, not awaiting approval)."""
    with db.session() as s:
        users = s.scalars(select(User).where(User.disabled.is_(False)))
        return {u.username: frozenset(sharing.for_user(s, u).keys) for u in users}


def every_admin_action(admin: WebClient, ids: dict[str, str]) -> list[httpx.Response]:
    """Each page and form the admin pages offer, aimed at in-cert and its state."""
    seen: list[httpx.Response] = []

    def get(path: str) -> None:
        seen.append(admin.get(path))

    def post(path: str, form: dict[str, object] | None = None) -> None:
        seen.append(admin.post(path, form or {}))

    for path in ("/admin/users", "/admin/organizations", "/admin/groups"):
        get(path)
    post(
        "/admin/users",
        {
            "username": "in.mole",
            "display_name": "Mole",
            "organization": "in-cert",
            "role": "analyst",
        },
    )
    post(
        "/admin/users",
        {
            "username": "bd.mole",
            "display_name": "Mole",
            "organization": "bd-cert",
            "role": "liaison",
        },
    )
    post("/admin/users/in.red/reset")
    post("/admin/users/in.mole/reset")
    post("/admin/users/in.red/role", {"role": "duty-officer"})
    post("/admin/users/bd.analyst/role", {"role": "liaison"})
    post("/admin/users/in.analyst/tokens/revoke")
    post("/admin/users/bd.police/disable")
    for kind in ("government-agency", "regional-body"):
        post(
            "/admin/organizations",
            {"slug": f"in-{kind}", "name": "Mole", "type": kind, "member_state": "IN"},
        )
    post("/admin/organizations", {"slug": "xx-mole", "name": "Stateless", "type": "cso"})
    post("/admin/organizations/bd-cert/change", {"type": "government-agency", "member_state": "IN"})
    post(
        "/admin/organizations/in-watch/change", {"type": "government-agency", "member_state": "IN"}
    )
    post("/admin/organizations/in-cert/release", {})
    post("/admin/groups", {"slug": "bd-circle", "name": "Circle"})
    post("/admin/groups/bd-circle/members", {"organizations": ["bd-cert", "in-cert"]})
    for path in ("/approvals", "/releases", "/dashboard", "/reports", "/map", "/profile"):
        get(path)
    for username in ("in.mole", "bd.mole", "in.red", "in.liaison", "bd.analyst", "bd.root"):
        get(f"/admin/users/{username}")
    for report_id in ids.values():
        get(f"/reports/{report_id}")
        seen.append(admin.get(f"/api/v1/reports/{report_id}/history"))
    return seen


def test_no_administrator_action_opens_another_organizations_reports(
    db: Database, api: Api, world: World
) -> None:
    ids = hidden_reports(api, world)
    before = all_keys(db)
    admin = WebClient(api.app)
    admin.sign_in("bd.root", PASSWORD)
    seen = every_admin_action(admin, ids)

    assert not [r for r in seen if r.status_code >= 500]
    for answer in seen:
        body = answer.text
        assert not LINK.search(body), f"{answer.request.url} showed a one-time link"
        assert not TOKEN.search(body), f"{answer.request.url} showed an API token"
        assert "SECRETWORD" not in body, f"{answer.request.url} showed a hidden report"

    # No account appeared that can act, and the only keys gained are the new sharing
    # group's, which open nothing stored: only what is distributed to it from now on.
    after = all_keys(db)
    assert set(after) <= set(before)
    gained = set().union(*(after[n] - before[n] for n in after))
    with db.session() as s:
        circle = registry.get_sharing_group(s, slug="bd-circle").id
        opened = s.scalars(select(SharingGrant.item_id).where(SharingGrant.key.in_(gained)))
        assert list(opened) == []
    assert gained == {f"group:{circle}"}
    with db.session() as s:
        links = s.scalars(select(Enrolment)).all()
        assert links == []  # nothing to hand over yet: no approver has decided
        for name in ("in.mole", "bd.mole"):
            mole = registry.get_user(s, username=name)
            assert mole.pending and mole.disabled and mole.password_hash is None
        assert registry.get_user(s, username="in.red").role == "analyst"
        assert registry.get_organization(s, slug="bd-cert").member_state == "BD"
        assert registry.get_organization(s, slug="in-government-agency").pending
    # The admin's own token reads none of it through the API either.
    token = {"Authorization": f"Bearer {world.people['bd.root'].token}"}
    for report_id in ids.values():
        assert api.get(f"/api/v1/reports/{report_id}", headers=token).status_code == 404
    listed = api.get("/api/v1/reports", params={"q": "SECRETWORD0"}, headers=token).json()
    assert listed["items"] == []
    # The admin cannot decide what it asked for, even by posting to the queue directly.
    with db.session() as s:
        asked = [a.id for a in approvals.pending_organizations(s).values()]
    admin.get("/profile")
    assert admin.post(f"/approvals/{asked[0]}/approve", {}).status_code in {403, 404}


def test_the_approvers_decide_and_receive_the_links_the_admin_never_sees(
    db: Database, api: Api, world: World
) -> None:
    admin = WebClient(api.app)
    admin.sign_in("bd.root", PASSWORD)
    admin.get("/admin/users")
    admin.post(
        "/admin/users",
        {"username": "in.new", "display_name": "New", "organization": "in-cert", "role": "analyst"},
    )
    admin.get("/admin/users/in.red")
    admin.post("/admin/users/in.red/reset", {})

    liaison = WebClient(api.app)
    liaison.sign_in("in.liaison", PASSWORD)
    menu = liaison.get("/dashboard").text
    assert 'href="/approvals"' in menu and "2 waiting" in menu
    queue = liaison.get("/approvals").text
    assert "in.new as analyst of in-cert" in queue and "Password reset" in queue
    links = []
    for action in re.findall(r'action="(/approvals/[0-9a-f-]+/approve)"', queue):
        answer = liaison.post(action, {})
        assert answer.status_code == 200
        found = LINK.search(answer.text)
        assert found
        links.append(found.group(0))
    assert len(links) == 2
    red = WebClient(api.app)
    red.sign_in("in.red", PASSWORD)  # the old password works until the link is used
    told = red.get("/dashboard").text
    assert "password reset of your account was approved by" in told
    assert "asked for a password reset" in told
    assert "Your request for a new member" in admin.get("/admin/users").text
