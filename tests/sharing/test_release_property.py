"""A draft's readers on random worlds: its author, and the releasers its marking allows.

The expected set is stated from the rules (`may_read` states PRODUCT.md's table),
not from `rsn.sharing`, so a draft key that opened one reader too many shows up.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from rsn import sharing
from rsn.registry import service as registry
from rsn.registry.models import User
from rsn.reports import service as reports
from rsn.reports.models import Report
from rsn.reports.schemas import ReportCreate
from rsn.store import Database
from tests.factories import days_ago, stamp
from tests.sharing.test_property import ROLES, Spec, _build, may_read, worlds

RELEASERS = ("liaison", "duty-officer")


@st.composite
def draft_worlds(draw: st.DrawFn) -> tuple[Spec, list[bool]]:
    """A random world with liaison officers too, and whether each report is a draft or pending."""
    spec = draw(worlds())
    roles = st.sampled_from([*ROLES, "liaison"])
    users = [(o, draw(roles), disabled) for o, _role, disabled in spec.users]
    drafts = [draw(st.booleans()) for _ in spec.reports]
    return Spec(spec.orgs, users, spec.groups, spec.reports), drafts


def expected_readers(spec: Spec, r: dict[str, Any]) -> set[int]:
    """The author, and the releasers of the author's organization among the marking's readers."""
    author = r["author"]
    org = spec.users[author][0]
    releasers = {
        u for u, (o, role, _off) in enumerate(spec.users) if o == org and role in RELEASERS
    }
    readers = {u for u in range(len(spec.users)) if may_read(spec, u, r)}
    return {author} | (releasers & readers)


@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    max_examples=25,
)
@given(world=draft_worlds())
def test_a_draft_or_pending_report_reaches_no_one_else(
    db: Database, world: tuple[Spec, list[bool]]
) -> None:
    spec, drafts = world
    with db.session() as s:
        try:
            orgs, users, _published = _build(s, replace(spec, reports=[]))
            for org in orgs:
                registry.set_release_required(s, organization=org, required=True)
            for r, draft in zip(spec.reports, drafts, strict=True):
                if spec.users[r["author"]][2]:
                    continue  # a disabled account files nothing
                report_id = _file(s, spec, users, r, draft=draft)
                status = s.scalar(select(Report.status).where(Report.id == report_id))
                assert status == sharing.DRAFT if draft else status != sharing.DRAFT
                if status == sharing.PUBLISHED:  # it stays within the organization
                    expected = {u for u in range(len(users)) if may_read(spec, u, r)}
                else:
                    expected = expected_readers(spec, r)
                for u, user in enumerate(users):
                    if spec.users[u][2]:
                        continue  # a disabled user has no principal at all
                    who = sharing.for_user(s, user)
                    seen = s.scalar(
                        select(Report.id).where(
                            Report.id == report_id, sharing.visible(who, Report.id)
                        )
                    )
                    assert (seen is not None) == (u in expected), f"user-{u}, {status}: {r}"
        finally:
            s.rollback()


def _file(s: Session, spec: Spec, users: list[User], r: dict[str, Any], *, draft: bool) -> str:
    """File `r` through the service, as a draft or (its organization requiring it) for release."""
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
            "occurred_at": stamp(days_ago(3)),
            "country": "BD",
            "severity": "low",
            "confidence": 50,
            "tlp": r["tlp"],
            "distribution": names,
        }
    )
    return reports.create(s, principal=author, data=data, draft=draft)
