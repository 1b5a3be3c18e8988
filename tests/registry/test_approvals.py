"""Approvals: what a node administrator asks, the organization or state concerned decides."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from rsn import sharing
from rsn.audit import AuditRecord
from rsn.errors import Conflict, Forbidden, NotFound, ValidationError
from rsn.registry import approvals, enrolment, notices
from rsn.registry import service as registry
from rsn.registry.models import Approval, User
from rsn.store import Database
from tests.factories import World


@pytest.fixture
def world(db: Database) -> World:
    """Two states: BD with a focal point (bd-police), IN with one (in-cert); an admin in bd-cert."""
    w = World(db)
    for slug, state in (("bd-cert", "BD"), ("bd-police", "BD"), ("in-cert", "IN")):
        w.org(slug, state=state)
    w.org("bd-empty", state="BD")  # no one who approves yet: its state's focal point does
    w.person("bd.admin", "bd-cert", role="node-admin")
    w.person("bd.liaison", "bd-cert", role="liaison")
    w.person("bd.duty", "bd-cert", role="duty-officer")
    w.person("bd.analyst", "bd-cert")
    w.person("bd.police.duty", "bd-police", role="duty-officer")
    w.person("in.liaison", "in-cert", role="liaison")
    with db.session(write=True) as s:
        for slug in ("bd-police", "in-cert"):
            approvals.set_focal_point(s, organization=registry.get_organization(s, slug=slug))
    return w


def act(db: Database, fn: Callable[..., Any], /, **names: str) -> Any:
    """Run a service call in one write transaction, passing users by username."""
    with db.session(write=True) as s:
        kwargs: dict[str, Any] = {}
        for key, value in names.items():
            if key in {"by", "user", "approver"}:
                kwargs[key] = registry.get_user(s, username=value)
            elif key == "organization":
                kwargs[key] = registry.get_organization(s, slug=value)
            else:
                kwargs[key] = value
        result = fn(s, **kwargs)
        if isinstance(result, Approval):
            return result.id
        if isinstance(result, approvals.Decision):
            return result.link
        return result


def ask_member(db: Database, username: str, org: str, role: str = "analyst") -> str:
    return act(
        db,
        approvals.request_member,
        by="bd.admin",
        username=username,
        display_name=username.title(),
        organization=org,
        role=role,
    )


def decide(db: Database, approval_id: str, approver: str, approve: bool = True) -> str | None:
    with db.session(write=True) as s:
        found = approvals.decide(
            s,
            approval_id=approval_id,
            approver=registry.get_user(s, username=approver),
            approve=approve,
        )
        return found.link


def user(db: Database, username: str) -> User:
    with db.session() as s:
        return registry.get_user(s, username=username)


def keys(db: Database, username: str) -> frozenset[str]:
    with db.session() as s:
        return frozenset(sharing.for_user(s, registry.get_user(s, username=username)).keys)


def test_a_new_member_is_inert_until_their_organization_approves(
    db: Database, world: World
) -> None:
    asked = ask_member(db, "bd.new", "bd-cert")
    new = user(db, "bd.new")
    assert new.pending and new.disabled and new.password_hash is None
    with db.session() as s:
        assert not registry.check_password(new, "anything at all")
        directory = {u.username for u in registry.get_users(s, include_disabled=False)}
        assert "bd.new" not in directory
        assert not s.scalars(select(approvals.Approval)).one().decided_at
        # no link exists for anyone to see before the organization approves
        assert enrolment.users_with_pending_links(s) == set()
    with db.session(write=True) as s, pytest.raises(Conflict, match="awaits"):
        enrolment.create(  # not even the operator's link command enrols them early
            s,
            user=registry.get_user(s, username="bd.new"),
            purpose="enrol",
            created_by=registry.get_user(s, username="bd.admin"),
        )
    with pytest.raises(NotFound):  # another organization's approver does not even see it
        decide(db, asked, "in.liaison")
    with pytest.raises(NotFound):  # nor does an analyst of the organization itself
        decide(db, asked, "bd.analyst")

    link = decide(db, asked, "bd.liaison")
    assert link
    new = user(db, "bd.new")
    assert not new.pending and not new.disabled
    with db.session(write=True) as s:
        enrolment.complete(s, secret=link, password="the newcomer's own words")
    [made] = _audit(db, "user.enrol-link")
    assert made.actor == "bd.liaison"  # the approver holds the link, never the admin


def test_first_members_go_to_the_states_focal_point_else_to_the_operator(
    db: Database, world: World
) -> None:
    asked = ask_member(db, "bd.first", "bd-empty", role="liaison")
    with pytest.raises(NotFound):
        decide(db, asked, "bd.liaison")  # bd-cert is not bd-empty's approver
    assert decide(db, asked, "bd.police.duty")
    # bd-empty now has a liaison of its own: the next member is its own to approve
    with db.session() as s:
        nxt = registry.get_organization(s, slug="bd-empty")
        assert approvals._member_approver(s, nxt).slug == "bd-empty"

    world.org("xx-body", state=None, type="regional-body")
    with pytest.raises(Conflict, match="rsn user add"):
        ask_member(db, "xx.first", "xx-body")
    assert "xx.first" not in {u.username for u in _users(db)}


def test_an_organization_waits_for_its_states_focal_point(db: Database, world: World) -> None:
    asked = act(
        db,
        approvals.request_organization,
        by="bd.admin",
        slug="in-police",
        name="IN police",
        type="government-agency",
        member_state="IN",
    )
    member = ask_member(db, "in.police", "in-police")
    with pytest.raises(Conflict, match="before its members"):
        decide(db, member, "in.liaison")
    with pytest.raises(NotFound):
        decide(db, asked, "bd.liaison")  # BD's organizations do not approve for IN
    assert decide(db, asked, "in.liaison") is None
    assert decide(db, member, "in.liaison")
    assert "state:IN" in keys(db, "in.police")


@pytest.mark.parametrize(
    ("state", "field"),
    [("", "member_state"), ("MM", "member_state"), ("QQ", "member_state")],
)
def test_no_state_or_a_state_without_focal_point_is_the_operators(
    db: Database, world: World, state: str, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        act(
            db,
            approvals.request_organization,
            by="bd.admin",
            slug="new-org",
            name="New",
            type="government-agency",
            member_state=state,
        )
    assert [p.field for p in refused.value.problems] == [field]
    with db.session() as s:
        assert "new-org" not in {o.slug for o in registry.get_organizations(s)}
        assert s.scalars(select(Approval)).first() is None


def test_a_change_of_state_applies_only_once_the_new_states_focal_point_approves(
    db: Database, world: World
) -> None:
    before = keys(db, "bd.analyst")
    asked = act(
        db,
        approvals.request_organization_change,
        by="bd.admin",
        organization="bd-cert",
        type="government-agency",
        member_state="IN",
    )
    assert keys(db, "bd.analyst") == before  # asking changes nothing
    with pytest.raises(NotFound):
        decide(db, asked, "bd.police.duty")  # the old state's focal point is not asked
    decide(db, asked, "in.liaison")
    assert "state:IN" in keys(db, "bd.analyst") and "state:BD" not in keys(db, "bd.analyst")
    with pytest.raises(Conflict, match="focal point"):
        act(
            db,
            approvals.request_organization_change,
            by="bd.admin",
            organization="in-cert",
            type="government-agency",
            member_state="BD",
        )


def test_nobody_decides_their_own_request_or_one_about_themselves(
    db: Database, world: World
) -> None:
    world.refresh("bd.liaison")
    asked = act(db, approvals.request_role, by="bd.liaison", user="bd.analyst", role="observer")
    with pytest.raises(Forbidden):
        decide(db, asked, "bd.liaison")
    about = act(db, approvals.request_reset, by="bd.admin", user="bd.liaison")
    with pytest.raises(Forbidden):
        decide(db, about, "bd.liaison")
    decide(db, asked, "bd.duty", approve=False)
    with pytest.raises(Conflict, match="already refused"):
        decide(db, asked, "bd.duty")
    assert user(db, "bd.analyst").role == "analyst"


def test_a_role_change_and_a_reset_tell_the_person(db: Database, world: World) -> None:
    asked = act(db, approvals.request_role, by="bd.admin", user="bd.analyst", role="observer")
    assert user(db, "bd.analyst").role == "analyst"
    assert "members" in keys(db, "bd.analyst")
    decide(db, asked, "bd.duty")
    assert user(db, "bd.analyst").role == "observer"
    assert "members" not in keys(db, "bd.analyst")
    reset = act(db, approvals.request_reset, by="bd.admin", user="bd.analyst")
    assert act(db, approvals.request_reset, by="bd.admin", user="bd.analyst") == reset
    assert decide(db, reset, "bd.liaison")
    with db.session() as s:
        mine = [n.text for n in notices.get_open(s, user_id=user(db, "bd.analyst").id)]
        admins = [n.text for n in notices.get_open(s, user_id=user(db, "bd.admin").id)]
    assert any("asked for a password reset" in t for t in mine)
    assert any("password reset of your account was approved" in t for t in mine)
    assert any("role change" in t and "approved" in t for t in mine)
    assert len(admins) == 2 and all("was approved by" in t for t in admins)


def test_a_refused_member_stays_disabled_and_a_refused_organization_takes_no_one(
    db: Database, world: World
) -> None:
    asked = ask_member(db, "bd.nope", "bd-cert")
    decide(db, asked, "bd.duty", approve=False)
    refused = user(db, "bd.nope")
    assert refused.disabled and not refused.pending
    with pytest.raises(Conflict):
        act(db, approvals.request_reset, by="bd.admin", user="bd.nope")

    org = act(
        db,
        approvals.request_organization,
        by="bd.admin",
        slug="bd-fake",
        name="Fake",
        type="government-agency",
        member_state="BD",
    )
    decide(db, org, "bd.police.duty", approve=False)
    with pytest.raises(Conflict, match="refused"):
        ask_member(db, "bd.fake", "bd-fake")
    assert [r.detail["kind"] for r in _audit(db, "approval.refused")] == [
        "member",
        "organization",
    ]


def test_every_request_and_decision_is_audited_for_the_organizations_concerned(
    db: Database, world: World
) -> None:
    asked = ask_member(db, "bd.logged", "bd-cert")
    decide(db, asked, "bd.duty")
    [request] = _audit(db, "approval.request")
    [decision] = _audit(db, "approval.approved")
    cert = world.orgs["bd-cert"].id
    assert request.actor == "bd.admin" and decision.actor == "bd.duty"
    assert cert in request.item_ids and user(db, "bd.logged").id in decision.item_ids


def _audit(db: Database, action: str) -> list[AuditRecord]:
    with db.session() as s:
        query = select(AuditRecord).where(AuditRecord.action == action)
        return list(s.scalars(query.order_by(AuditRecord.id)))


def _users(db: Database) -> list[User]:
    with db.session() as s:
        return registry.get_users(s)
