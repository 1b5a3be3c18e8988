"""The SQL filter and the audience agree with a plain statement of the rules, for two kinds.

The rules below are written from PRODUCT.md's table, not from `rsn.sharing`, so a
slip in the audience keys shows up as a disagreement on some random world.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from rsn import sharing
from rsn.registry import service as registry
from rsn.registry.models import Organization, User
from rsn.reports import service as reports
from rsn.reports.models import Report
from rsn.reports.schemas import ReportCreate
from rsn.store import Database
from tests.sharing.kinds import create_table, notes, write_note

STATES = ["BD", "IN", "MM"]
ORG_TYPES = ["government-agency", "government-agency", "cso", "private-sector", "regional-body"]
ROLES = ["analyst", "duty-officer", "observer", "node-admin", "policymaker"]
TLPS = ["clear", "green", "amber", "amber+strict", "red"]


@dataclass
class Spec:
    orgs: list[tuple[str, str | None]]  # (type, state)
    users: list[tuple[int, str, bool]]  # (org index, role, disabled)
    groups: list[tuple[int, list[int], list[str]]]  # (owner, member orgs, member states)
    reports: list[dict[str, Any]]


@st.composite
def worlds(draw: st.DrawFn) -> Spec:
    orgs = draw(
        st.lists(
            st.tuples(st.sampled_from(ORG_TYPES), st.sampled_from([*STATES, None])),
            min_size=2,
            max_size=6,
        )
    )
    n = len(orgs)
    users = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.sampled_from(ROLES), st.booleans()),
            min_size=2,
            max_size=9,
        )
    )
    groups = draw(
        st.lists(
            st.tuples(
                st.integers(0, n - 1),
                st.lists(st.integers(0, n - 1), max_size=3, unique=True),
                st.lists(st.sampled_from(STATES), max_size=2, unique=True),
            ),
            max_size=3,
        )
    )
    out = []
    for _ in range(draw(st.integers(1, 7))):
        tlp = draw(st.sampled_from(TLPS))
        dist: dict[str, list[Any]] = {}
        if tlp == "amber":
            dist["member_states"] = draw(st.lists(st.sampled_from(STATES), max_size=2, unique=True))
            dist["organizations"] = draw(st.lists(st.integers(0, n - 1), max_size=2, unique=True))
            if groups:
                dist["sharing_groups"] = draw(
                    st.lists(st.integers(0, len(groups) - 1), max_size=2, unique=True)
                )
        elif tlp == "amber+strict":
            dist["organizations"] = draw(st.lists(st.integers(0, n - 1), max_size=2, unique=True))
        elif tlp == "red":
            dist["users"] = draw(st.lists(st.integers(0, len(users) - 1), max_size=2, unique=True))
        author = draw(st.integers(0, len(users) - 1))
        out.append({"tlp": tlp, "dist": dist, "author": author})
    return Spec(orgs, users, groups, out)


def may_read(spec: Spec, u: int, r: dict[str, Any]) -> bool:
    """PRODUCT.md's sharing table, stated directly."""
    org_i, role, disabled = spec.users[u]
    if disabled:
        return False
    org_type, state = spec.orgs[org_i]
    author_org = spec.users[r["author"]][0]
    gov = org_type == "government-agency" and state is not None
    dist = r["dist"]
    match r["tlp"]:
        case "clear":
            return True
        case "green":
            return role != "observer"
        case "red":
            return u == r["author"] or u in dist.get("users", [])
        case "amber+strict":
            return org_i == author_org or org_i in dist.get("organizations", [])
    in_group = any(
        org_i in spec.groups[g][1] or (gov and state in spec.groups[g][2])
        for g in dist.get("sharing_groups", [])
    )
    return (
        org_i == author_org
        or org_i in dist.get("organizations", [])
        or (gov and state in dist.get("member_states", []))
        or in_group
    )


def _build(s: Any, spec: Spec) -> tuple[list[Organization], list[User], list[str]]:
    create_table(s)
    for code in STATES:
        registry.ensure_member_state(s, code=code)
    orgs = [
        registry.create_organization(s, slug=f"org-{i}", name=f"Org {i}", type=t, member_state=st_)
        for i, (t, st_) in enumerate(spec.orgs)
    ]
    users = []
    for i, (o, role, _disabled) in enumerate(spec.users):
        users.append(
            registry.create_user(
                s,
                username=f"user-{i}",
                display_name=f"U{i}",
                organization=orgs[o],
                role=role,
                password_hash="!",
            )
        )
    for g, (owner, member_orgs, states) in enumerate(spec.groups):
        group = registry.create_sharing_group(s, slug=f"group-{g}", name=f"G{g}", owner=orgs[owner])
        registry.set_group_members(
            s,
            group=group,
            acting_org=orgs[owner],
            organizations=[orgs[m] for m in member_orgs],
            member_states=states,
        )
    ids = []
    for r in spec.reports:
        # Any user may author here: filing rights are a role check apart from reading.
        author = replace(sharing.for_user(s, users[r["author"]]), role="analyst")
        names = {
            "member_states": r["dist"].get("member_states", []),
            "organizations": [f"org-{i}" for i in r["dist"].get("organizations", [])],
            "sharing_groups": [f"group-{i}" for i in r["dist"].get("sharing_groups", [])],
            "users": [f"user-{i}" for i in r["dist"].get("users", [])],
        }
        data = ReportCreate.model_validate(
            {
                "title": "t",
                "category": "cyber.attack",
                "occurred_at": "2026-11-01T00:00:00Z",
                "country": "BD",
                "severity": "low",
                "confidence": 50,
                "tlp": r["tlp"],
                "distribution": names,
            }
        )
        ids.append(reports.create(s, principal=author, data=data))
        # The same marking on an item of another kind, shared by the one generic call.
        write_note(s, by=author, title=ids[-1], tlp=r["tlp"], distribution=names)
    for user, (_o, _r, disabled) in zip(users, spec.users, strict=True):
        user.disabled = disabled
    s.flush()
    return orgs, users, ids


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(spec=worlds())
def test_sql_filter_and_audience_agree_with_the_rules(db: Database, spec: Spec) -> None:
    with db.session() as s:
        try:
            _orgs, users, ids = _build(s, spec)
            for u, user in enumerate(users):
                if spec.users[u][2]:
                    continue  # a disabled user has no principal at all
                who = sharing.for_user(s, user)
                seen = set(s.scalars(select(Report.id).where(sharing.visible(who, Report.id))))
                expected = {ids[i] for i, r in enumerate(spec.reports) if may_read(spec, u, r)}
                assert seen == expected, f"user-{u}"
                # A second kind: each note is titled with its report's id.
                noted = select(notes.c.title).where(sharing.visible(who, notes.c.id))
                assert set(s.scalars(noted)) == expected, f"user-{u}, notes"
            for i, r in enumerate(spec.reports):
                report = s.get(Report, ids[i])
                assert report is not None
                dist = sharing.resolve_distribution(s, report.tlp, report.distribution)
                keys = sharing.item_keys(
                    report.tlp,
                    dist,
                    originator_user_id=report.originator_user_id,
                    originator_org_id=report.originator_org_id,
                )
                found = sharing.audience(s, keys)
                readers = [u for u in range(len(users)) if may_read(spec, u, r)]
                assert found.user_count == len(readers)
                slugs = {o.slug for o in found.organizations}
                assert slugs == {f"org-{spec.users[u][0]}" for u in readers}
                # States come in whole only by an amber distribution: listed, or in a group.
                named = r["dist"]
                whole = {c for g in named.get("sharing_groups", []) for c in spec.groups[g][2]}
                whole |= set(named.get("member_states", []))
                assert set(found.member_states) == (whole if r["tlp"] == "amber" else set())
        finally:
            s.rollback()
