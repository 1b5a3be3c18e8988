"""Admin pages, enrolment links and the profile page, in-process on both stores.

Passwords are hashed with argon2 for real here, so each test signs in as few
people as it can.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from rsn.audit import AuditRecord
from rsn.registry import approvals, enrolment
from rsn.registry import service as registry
from rsn.store import Database
from tests.factories import Api, World, api_for, bimstec_world
from tests.web.webclient import WebClient

PASSWORD = "correct horse battery staple"
CHOSEN = "my own chosen passphrase"
LINK = re.compile(r"http://127\.0\.0\.1/enrol/([A-Za-z0-9_-]{20,})")
TOKEN = re.compile(r"rsn_[0-9a-f]{12}_[A-Za-z0-9_-]+")


@pytest.fixture
def world(db: Database) -> World:
    w = bimstec_world(db)
    w.person("bd.root", "bd-cert", role="node-admin", password=PASSWORD)
    w.person("bd.web", "bd-cert", password=PASSWORD)
    w.person("bd.liaison", "bd-cert", role="liaison", password=PASSWORD)
    w.org("np-cert", state="NP")
    w.person("np.cert", "np-cert", role="liaison", password=PASSWORD)
    with db.session(write=True) as s:
        approvals.set_focal_point(s, organization=registry.get_organization(s, slug="np-cert"))
    return w


@pytest.fixture
def api(db: Database, tmp_path: Path) -> Api:
    return api_for(db, tmp_path)


def browser(api: Api, username: str | None = None) -> WebClient:
    web = WebClient(api.app)
    if username:
        web.sign_in(username, PASSWORD)
    return web


def me(api: Api, token: str) -> int:
    return api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def audit_rows(db: Database, action: str) -> list[AuditRecord]:
    with db.session() as s:
        query = select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.id)
        return list(s.scalars(query))


def add_user(admin: WebClient, username: str = "bd.new", *, approver: WebClient) -> str:
    """Ask for a user on the admin page and approve them; returns the link's secret."""
    admin.get("/admin/users")
    answer = admin.post(
        "/admin/users",
        {
            "username": username,
            "display_name": "New Analyst",
            "organization": "bd-cert",
            "role": "analyst",
        },
    )
    assert answer.status_code == 303, answer.text
    assert "/enrol/" not in admin.get(answer.headers["location"]).text
    return approve_last(approver)


def approve_last(approver: WebClient) -> str:
    """Approve the newest request in the approver's queue; returns the link's secret."""
    queue = approver.get("/approvals")
    assert queue.status_code == 200, queue.text
    action = re.findall(r'action="(/approvals/[0-9a-f-]+/approve)"', queue.text)[-1]
    answer = approver.post(action)
    assert answer.status_code == 200, answer.text
    assert "no-store" in answer.headers["cache-control"]
    found = LINK.search(answer.text)
    assert found, answer.text
    return found.group(1)


def enrol(api: Api, secret: str, password: str = CHOSEN) -> WebClient:
    """Complete a link in a fresh browser with no session, as its owner would."""
    web = browser(api)
    assert web.get(f"/enrol/{secret}").status_code == 200
    answer = web.post(f"/enrol/{secret}", {"password": password, "confirm_password": password})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].startswith("/login")
    return web


def test_admin_pages_are_for_node_admins_only(api: Api, world: World) -> None:
    assert browser(api).get("/admin/users").status_code == 303  # signed out: to /login
    analyst = browser(api, "bd.web")
    for path in ("/admin/users", "/admin/organizations", "/admin/groups", "/admin/users/bd.web"):
        answer = analyst.get(path)
        assert answer.status_code == 403, path
        assert "node administrators" in answer.text
    analyst.get("/profile")
    forged = analyst.post("/admin/organizations", {"slug": "x-org", "name": "X", "type": "cso"})
    assert forged.status_code == 403


def test_an_added_user_enrols_with_a_password_only_they_chose(
    db: Database, api: Api, world: World
) -> None:
    admin = browser(api, "bd.root")
    secret = add_user(admin, approver=browser(api, "bd.liaison"))
    page = admin.get("/admin/users")
    assert "bd.new" in page.text and "invited" in page.text
    assert _user_hash(db, "bd.new") is None  # the admin never set a password

    newcomer = browser(api)
    newcomer.get(f"/enrol/{secret}")
    mismatch = newcomer.post(
        f"/enrol/{secret}", {"password": CHOSEN, "confirm_password": CHOSEN + "x"}
    )
    assert mismatch.status_code == 422
    assert 'id="f-confirm_password-error"' in mismatch.text
    assert _user_hash(db, "bd.new") is None

    enrol(api, secret)
    newcomer.sign_in("bd.new", CHOSEN)
    assert newcomer.get("/profile").status_code == 200
    reused = browser(api).get(f"/enrol/{secret}")
    assert reused.status_code == 404
    assert "already used" in reused.text


def test_an_expired_link_is_refused(db: Database, api: Api, world: World) -> None:
    with db.session(write=True) as s:
        secret = enrolment.create(
            s,
            user=registry.get_user(s, username="bd.police"),
            purpose="reset",
            created_by=registry.get_user(s, username="bd.root"),
            lifetime=timedelta(seconds=-1),
        )
    answer = browser(api).get(f"/enrol/{secret}")
    assert answer.status_code == 404
    assert "has expired" in answer.text


def test_a_reset_link_sets_a_new_password_and_signs_old_browsers_out(
    api: Api, world: World
) -> None:
    old = browser(api, "bd.web")
    admin = browser(api, "bd.root")
    admin.get("/admin/users/bd.web")
    answer = admin.post("/admin/users/bd.web/reset")
    assert answer.status_code == 303
    assert "/enrol/" not in admin.get(answer.headers["location"]).text
    assert "asked for a password reset" in old.get("/profile").text  # the user is told
    secret = approve_last(browser(api, "bd.liaison"))
    assert old.get("/profile").status_code == 200  # the link alone changes nothing yet
    assert "approved by" in old.get("/profile").text

    enrol(api, secret)
    assert old.get("/profile").status_code == 303
    fresh = browser(api)
    fresh.get("/login")
    assert fresh.post("/login", {"username": "bd.web", "password": PASSWORD}).status_code == 401
    fresh.sign_in("bd.web", CHOSEN)


def test_disabling_a_user_ends_their_sessions_and_tokens(
    db: Database, api: Api, world: World
) -> None:
    user = browser(api, "bd.web")
    token = world.people["bd.web"].token
    assert me(api, token) == 200
    admin = browser(api, "bd.root")
    admin.get("/admin/users/bd.web")
    answer = admin.post("/admin/users/bd.web/disable")
    assert answer.status_code == 303
    assert "disabled" in admin.get(answer.headers["location"]).text
    assert user.get("/profile").status_code == 303
    assert me(api, token) == 401
    [record] = audit_rows(db, "user.disable")
    person = world.people["bd.web"]
    assert record.actor == "bd.root"
    assert record.item_ids == [person.user.id, person.org.id]
    assert record.detail["sessions_ended"] == 1


def test_an_admin_revokes_but_never_mints_a_users_tokens(
    db: Database, api: Api, world: World
) -> None:
    admin = browser(api, "bd.root")
    page = admin.get("/admin/users/bd.analyst")
    assert "Create token" not in page.text and "rsn_" not in page.text
    assert "Revoke all" in page.text
    token = world.people["bd.analyst"].token
    assert admin.post("/admin/users/bd.analyst/tokens/revoke").status_code == 303
    assert me(api, token) == 401
    [record] = audit_rows(db, "token.revoke")
    assert record.actor == "bd.root"
    assert world.people["bd.analyst"].user.id in record.item_ids


def test_only_the_owning_organization_changes_a_groups_members(
    db: Database, api: Api, world: World
) -> None:
    with db.session(write=True) as s:
        owner = registry.get_organization(s, slug="in-cert")
        registry.create_sharing_group(s, slug="in-maritime", name="IN maritime", owner=owner)
    admin = browser(api, "bd.root")
    page = admin.get("/admin/groups")
    assert "Only in-cert can change" in page.text
    refused = admin.post("/admin/groups/in-maritime/members", {"organizations": ["bd-cert"]})
    assert refused.status_code == 403
    assert "Only the organization that owns &#39;in-maritime&#39;" in refused.text
    with db.session() as s:
        group = registry.get_sharing_group(s, slug="in-maritime")
        assert registry.group_members(s, group=group) == []

    assert admin.post("/admin/groups", {"slug": "bd-ring", "name": "BD ring"}).status_code == 303
    admin.get("/admin/groups")
    saved = admin.post(
        "/admin/groups/bd-ring/members", {"organizations": ["in-cert"], "member_states": ["MM"]}
    )
    assert saved.status_code == 303
    with db.session() as s:
        members = registry.group_members(s, group=registry.get_sharing_group(s, slug="bd-ring"))
    assert {m.ref for m in members} == {world.orgs["in-cert"].id, "MM"}


def test_a_profile_token_is_shown_once_and_revocable(db: Database, api: Api, world: World) -> None:
    web = browser(api, "bd.web")
    web.get("/profile")
    answer = web.post("/profile/tokens", {"name": "MISP sync", "expires_days": "30"})
    assert answer.status_code == 200
    found = TOKEN.search(answer.text)
    assert found
    token = found.group(0)
    reply = api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert reply.json()["username"] == "bd.web"
    again = web.get("/profile")
    assert token not in again.text and "MISP sync" in again.text

    with db.session() as s:
        mine = registry.get_user(s, username="bd.web")
        [row] = [t for t in s.scalars(select(AuditRecord)) if t.action == "token.create"]
        token_id = row.item_ids[0]
    assert row.actor == "bd.web" and mine.id in row.item_ids
    other = browser(api, "bd.root")
    other.get("/profile")
    assert other.post(f"/profile/tokens/{token_id}/revoke").status_code == 404
    assert me(api, token) == 200
    assert web.post(f"/profile/tokens/{token_id}/revoke").status_code == 303
    assert me(api, token) == 401


def test_profile_forms_show_errors_beside_fields(api: Api, world: World) -> None:
    web = browser(api, "bd.web")
    web.get("/profile")
    bad = web.post("/profile/tokens", {"name": "", "expires_days": "forever"})
    assert bad.status_code == 422
    assert 'id="f-name-error"' in bad.text
    wrong = web.post(
        "/profile/password",
        {"current_password": "nope", "new_password": CHOSEN, "confirm_password": CHOSEN},
    )
    assert wrong.status_code == 422
    assert 'id="f-current_password-error"' in wrong.text


def test_changing_ones_password_signs_out_other_browsers(api: Api, world: World) -> None:
    other = browser(api, "bd.web")
    here = browser(api, "bd.web")
    here.get("/profile")
    answer = here.post(
        "/profile/password",
        {"current_password": PASSWORD, "new_password": CHOSEN, "confirm_password": CHOSEN},
    )
    assert answer.status_code == 303
    assert here.get("/profile").status_code == 200
    assert other.get("/profile").status_code == 303


def test_every_admin_action_is_audited_with_the_admin_as_actor(
    db: Database, api: Api, world: World
) -> None:
    admin = browser(api, "bd.root")
    liaison = browser(api, "bd.liaison")
    add_user(admin, "bd.audited", approver=liaison)
    admin.get("/admin/users/bd.audited")
    admin.post("/admin/users/bd.audited/reset")
    approve_last(liaison)
    admin.post("/admin/users/bd.audited/disable")
    admin.post("/admin/users/bd.police/tokens/revoke")
    admin.get("/admin/organizations")
    org = admin.post(
        "/admin/organizations",
        {"slug": "np-new", "name": "NP Police", "type": "government-agency", "member_state": "np"},
    )
    assert org.status_code == 303
    admin.post("/admin/groups", {"slug": "bd-circle", "name": "BD circle"})
    admin.post("/admin/groups/bd-circle/members", {"member_states": ["IN"]})
    actions = ("approval.request", "user.disable", "token.revoke", "group.create", "group.members")
    for action in actions:
        rows = audit_rows(db, action)
        assert rows and all(r.actor == "bd.root" for r in rows), action
    assert [r.detail["kind"] for r in audit_rows(db, "approval.request")] == [
        "member",
        "reset",
        "organization",
    ]
    links = audit_rows(db, "user.enrol-link")  # made by the approver, never by the admin
    assert [r.actor for r in links] == ["bd.liaison", "bd.liaison"]
    with db.session() as s:
        asked = registry.get_organization(s, slug="np-new")
        assert asked.member_state == "NP" and asked.pending


def test_bad_admin_input_is_shown_beside_the_field_and_not_stored(
    db: Database, api: Api, world: World
) -> None:
    admin = browser(api, "bd.root")
    admin.get("/admin/organizations")
    bad = admin.post("/admin/organizations", {"slug": "Bad Slug", "name": "X", "type": "cso"})
    assert bad.status_code == 422
    assert 'id="f-slug-error"' in bad.text and 'value="Bad Slug"' not in bad.text
    admin.get("/admin/users")
    taken = admin.post(
        "/admin/users",
        {"username": "bd.web", "display_name": "Dup", "organization": "bd-cert", "role": "analyst"},
    )
    assert taken.status_code == 409
    assert 'id="f-username-error"' in taken.text and "already exists" in taken.text
    assert not audit_rows(db, "approval.request") and not audit_rows(db, "user.enrol-link")


def test_posts_without_the_csrf_token_are_refused(db: Database, api: Api, world: World) -> None:
    admin = browser(api, "bd.root")
    form = {
        "username": "bd.sneaky",
        "display_name": "S",
        "organization": "bd-cert",
        "role": "analyst",
    }
    assert admin.request("POST", "/admin/users", data=form).status_code == 403
    assert admin.request("POST", "/admin/users/bd.web/disable", data={}).status_code == 403
    assert admin.request("POST", "/profile/tokens", data={"name": "x"}).status_code == 403
    with db.session() as s:
        assert "bd.sneaky" not in {u.username for u in registry.get_users(s)}
        assert not registry.get_user(s, username="bd.web").disabled
    secret = add_user(admin, approver=browser(api, "bd.liaison"))
    stranger = browser(api)
    forged = stranger.request(
        "POST", f"/enrol/{secret}", data={"password": CHOSEN, "confirm_password": CHOSEN}
    )
    assert forged.status_code == 403
    assert _user_hash(db, "bd.new") is None


def _user_hash(db: Database, username: str) -> str | None:
    with db.session() as s:
        return registry.get_user(s, username=username).password_hash
