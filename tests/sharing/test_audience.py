""" "Who will see this" says exactly who the policy lets read the item once it is filed.

The panel is computed before filing, with the filer's principal, as the form does; the
policy is asked afterwards, user by user, of the item actually filed. The two must name
the same people, the same organizations, and never a state only one of whose
organizations reads.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from rsn import sharing
from rsn.registry import service as registry
from rsn.registry.models import Organization, User
from rsn.reports import service as reports
from rsn.reports.models import Report
from rsn.reports.schemas import ReportCreate
from rsn.sharing import Audience, Principal
from rsn.store import Database
from tests.factories import bimstec_world, report_payload
from tests.sharing.test_property import STATES, Spec, _build, worlds


def file(s: Session, author: Principal, tlp: str, names: dict[str, list[str]]) -> str:
    data = ReportCreate.model_validate(report_payload(tlp=tlp, distribution=names))
    return reports.create(s, principal=author, data=data)


def panel(s: Session, author: Principal, tlp: str, names: dict[str, list[str]]) -> Audience:
    return sharing.audience_for(s, author, tlp, names)


def by_slug(found: Audience) -> dict[str, Any]:
    return {o.slug: o for o in found.organizations}


# --- the reported case ---------------------------------------------------------------


def test_amber_to_india_from_bd_cert_does_not_claim_bangladesh(db: Database) -> None:
    w = bimstec_world(db)
    author = w.people["bd.analyst"].principal
    with db.session(write=True) as s:
        found = panel(s, author, "amber", {"member_states": ["IN"]})
        report_id = file(s, author, "amber", {"member_states": ["IN"]})
    with db.session() as s:
        assert not sharing.can_read(s, w.refresh("bd.police").principal, report_id)

    assert found.member_states == ["IN"]  # Bangladesh does not come in whole
    assert found.scope == "distribution"
    states = {st.code: st for st in found.states}
    assert set(states) == {"BD", "IN"}
    assert not states["BD"].whole and states["IN"].whole
    assert [o.slug for o in states["BD"].organizations] == ["bd-cert"]
    assert [o.slug for o in states["IN"].organizations] == ["in-cert", "in-coastguard"]
    orgs = by_slug(found)
    assert "bd-police" not in orgs and "in-watch" not in orgs and "mm-cert" not in orgs
    own = orgs["bd-cert"]
    assert own.whole and [r.kind for r in own.reasons] == ["originator"]
    assert own.user_count == 4  # bd.analyst, bd.duty, bd.policy, bd.admin
    assert [(r.kind, r.ref) for r in orgs["in-cert"].reasons] == [("state", "IN")]
    assert found.user_count == 6 and found.people == ()


def test_groups_listed_organizations_and_disabled_users(db: Database) -> None:
    w = bimstec_world(db)
    w.person("in.watch2", "in-watch")
    with db.session(write=True) as s:
        orgs = {slug: s.get(Organization, o.id) for slug, o in w.orgs.items()}
        group = registry.create_sharing_group(
            s, slug="bay-watch", name="Bay watch", owner=orgs["bd-cert"]
        )
        registry.set_group_members(
            s,
            group=group,
            acting_org=orgs["bd-cert"],
            organizations=[orgs["in-watch"]],
            member_states=["MM"],
        )
        watcher = s.get(User, w.people["in.watch2"].user.id)
        assert watcher is not None
        watcher.disabled = True
    author = w.people["bd.analyst"].principal
    with db.session() as s:
        names = {"organizations": ["bd-police"], "sharing_groups": ["bay-watch"]}
        found = panel(s, author, "amber", names)
        red = panel(s, author, "red", {"users": ["mm.analyst"]})

    assert found.member_states == ["MM"]  # through the group, by state
    orgs = by_slug(found)
    assert [(r.kind, r.ref, r.name) for r in orgs["in-watch"].reasons] == [
        ("group", "bay-watch", "Bay watch")
    ]
    assert orgs["in-watch"].user_count == 1  # in.watch2 is disabled and does not count
    assert [r.kind for r in orgs["bd-police"].reasons] == ["organization"]
    assert {st.code: st.whole for st in found.states} == {"BD": False, "IN": False, "MM": True}

    assert red.scope == "distribution" and red.member_states == []
    assert [p.username for p in red.people] == ["bd.analyst", "mm.analyst"]
    assert {o.slug: (o.whole, o.user_count) for o in red.organizations} == {
        "bd-cert": (False, 1),
        "mm-cert": (False, 1),
    }


# --- panel and policy, for every marking ---------------------------------------------


@st.composite
def distributions(draw: st.DrawFn, tlp: str, spec: Spec) -> dict[str, list[str]]:
    """A distribution the marking allows, over the world's own names."""
    n_orgs, n_groups = len(spec.orgs), len(spec.groups)
    orgs = st.lists(st.integers(0, n_orgs - 1), max_size=2, unique=True)
    names: dict[str, list[str]] = {}
    if tlp == "amber":
        names["member_states"] = draw(st.lists(st.sampled_from(STATES), max_size=2, unique=True))
        names["organizations"] = [f"org-{i}" for i in draw(orgs)]
        if n_groups:
            picked = draw(st.lists(st.integers(0, n_groups - 1), max_size=2, unique=True))
            names["sharing_groups"] = [f"group-{i}" for i in picked]
    elif tlp == "amber+strict":
        names["organizations"] = [f"org-{i}" for i in draw(orgs)]
    elif tlp == "red":
        picked = draw(st.lists(st.integers(0, len(spec.users) - 1), max_size=2, unique=True))
        names["users"] = [f"user-{i}" for i in picked]
    return names


def readers_of(s: Session, users: list[User], report_id: str) -> set[str]:
    """Every active user the policy lets read the item, asked one by one and by list."""
    found = set()
    for user in users:
        if user.disabled:
            continue
        who = sharing.for_user(s, user)
        listed = s.scalar(select(Report.id).where(sharing.visible(who, Report.id)))
        assert sharing.can_read(s, who, report_id) == (listed == report_id)
        if listed == report_id:
            found.add(user.id)
    return found


def check_agree(
    found: Audience, tlp: str, orgs: list[Organization], users: list[User], readers: set[str]
) -> None:
    org_of = {u.id: u.organization_id for u in users}
    slug_of = {o.id: o.slug for o in orgs}
    org_by_id = {o.id: o for o in orgs}
    reading = [u for u in users if u.id in readers]
    assert found.scope == {"clear": "public", "green": "members"}.get(tlp, "distribution")
    assert found.user_count == len(readers)
    assert {o.slug: o.user_count for o in found.organizations} == {
        slug_of[org_of[u.id]]: sum(1 for r in reading if r.organization_id == org_of[u.id])
        for u in reading
    }
    for org in found.organizations:  # a whole organization: every active user of it reads
        members = [u for u in users if slug_of[u.organization_id] == org.slug and not u.disabled]
        assert not org.whole or all(u.id in readers for u in members), org.slug
    for state in found.states:
        assert all(o.member_state == state.code for o in state.organizations)
        assert state.whole or state.organizations, state.code  # never a state with no reader
        if state.whole:  # every government agency of it reads
            agencies = [
                u
                for u in users
                if org_by_id[u.organization_id].member_state == state.code
                and org_by_id[u.organization_id].type == "government-agency"
                and not u.disabled
            ]
            assert all(u.id in readers for u in agencies), state.code
    if tlp == "red":
        assert {p.username for p in found.people} == {u.username for u in reading}


@pytest.mark.parametrize("tlp", sharing.TLP_LEVELS)  # every marking the node knows
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), spec=worlds())
def test_the_panel_names_exactly_who_the_policy_lets_read(
    db: Database, tlp: str, spec: Spec, data: st.DataObject
) -> None:
    author_index = data.draw(st.integers(0, len(spec.users) - 1), label="author")
    assume(not spec.users[author_index][2])  # a disabled user files nothing
    names = data.draw(distributions(tlp, spec), label="distribution")
    with db.session() as s:
        try:
            orgs, users, _ids = _build(s, replace(spec, reports=[]))
            author = replace(sharing.for_user(s, users[author_index]), role="analyst")
            found = panel(s, author, tlp, names)
            report_id = file(s, author, tlp, names)
            check_agree(found, tlp, orgs, users, readers_of(s, users, report_id))
        finally:
            s.rollback()
