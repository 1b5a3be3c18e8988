"""On random worlds and random marking sequences, a reader sees exactly the versions allowed.

One report is re-marked again and again; a reader must see version v exactly
when PRODUCT.md's table lets them read v's own marking and the current one
(`may_read` states the table without `rsn.sharing`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, given, settings

from rsn import sharing
from rsn.errors import NotFound
from rsn.registry.models import User
from rsn.reports import service as reports
from rsn.reports.schemas import ReportUpdate
from rsn.store import Database
from tests.sharing.test_property import Spec, _build, may_read, worlds


def _names(dist: dict[str, list[Any]]) -> dict[str, list[str]]:
    return {
        "member_states": dist.get("member_states", []),
        "organizations": [f"org-{i}" for i in dist.get("organizations", [])],
        "sharing_groups": [f"group-{i}" for i in dist.get("sharing_groups", [])],
        "users": [f"user-{i}" for i in dist.get("users", [])],
    }


def _acting(session: Any, user: User) -> sharing.Principal:
    """The author as an active analyst, whatever the world made of them after filing."""
    disabled, role = user.disabled, user.role
    user.disabled, user.role = False, "analyst"
    try:
        return sharing.for_user(session, user)
    finally:
        user.disabled, user.role = disabled, role


@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    max_examples=40,
)
@given(spec=worlds())
def test_a_reader_sees_a_version_iff_its_own_and_the_current_marking_allow(
    db: Database, spec: Spec
) -> None:
    author_index = spec.reports[0]["author"]
    markings = [{**r, "author": author_index} for r in spec.reports]
    first = replace(spec, reports=markings[:1])
    with db.session() as s:
        try:
            _orgs, users, [rid] = _build(s, first)
            author = _acting(s, users[author_index])
            for n, m in enumerate(markings[1:], start=2):
                change = {"title": f"v{n}", "tlp": m["tlp"], "distribution": _names(m["dist"])}
                data = ReportUpdate.model_validate(change)
                reports.update_report(s, principal=author, report_id=rid, data=data)
            for u, user in enumerate(users):
                if spec.users[u][2]:
                    continue  # a disabled user has no principal at all
                who = sharing.for_user(s, user)
                try:
                    seen = [v.version for v in reports.history(s, principal=who, report_id=rid)]
                except NotFound:
                    seen = []
                current = may_read(spec, u, markings[-1])
                expected = [
                    n for n, m in enumerate(markings, start=1) if current and may_read(spec, u, m)
                ]
                assert seen == expected, f"user-{u}"
        finally:
            s.rollback()
