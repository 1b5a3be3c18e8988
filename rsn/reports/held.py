"""Versions held for release: a published report's wider next version, kept apart.

A report row is what its readers read, so a version that would open a published
report wider than it is, in an organization that requires release, is not
written to it: it waits here as an item of its own, under a draft's grants,
until a releaser lets it out (`rsn.reports.release`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rsn import audit, sharing
from rsn.reports.models import PendingVersion, Report
from rsn.reports.schemas import ReportCreate
from rsn.sharing import Principal
from rsn.store import new_id, utcnow

HELD_KIND = "held-version"  # the kind a held version's grants are filed under

TIMES = ("created", "modified", "revoked_at")


def must_hold(
    session: Session, *, principal: Principal, report: Report, tlp: str, dist: sharing.Distribution
) -> bool:
    """Whether a new version of a published report must wait for a releaser."""
    if report.status != sharing.PUBLISHED:
        return False
    org = report.originator_org_id
    if org not in sharing.required_by(session, [org]):
        return False
    before = sharing.item_keys(
        report.tlp,
        sharing.resolve_distribution(session, report.tlp, report.distribution),
        originator_user_id=report.originator_user_id,
        originator_org_id=org,
    )
    after = sharing.item_keys(
        tlp, dist, originator_user_id=report.originator_user_id, originator_org_id=org
    )
    return sharing.needs_release(
        session, principal=principal, required=True, keys=after, organization_id=org, before=before
    )


def hold(
    session: Session,
    *,
    principal: Principal,
    report: Report,
    dist: sharing.Distribution,
    filing: dict[str, Any],
) -> PendingVersion:
    """Keep `filing` as the report's next version until it is released (replacing any held one)."""
    held = session.scalar(select(PendingVersion).where(PendingVersion.report_id == report.id))
    if held is None:
        held = PendingVersion(id=new_id(), report_id=report.id)
        session.add(held)
    held.status, held.filing, held.refusal_reason = sharing.PENDING, filing, None
    held.submitted_by, held.submitted_at = principal.user_id, utcnow()
    session.flush()
    marking = sharing.Marking(
        filing["data"]["tlp"],
        dist,
        originator_user_id=report.originator_user_id,
        originator_org_id=report.originator_org_id,
        status=sharing.PENDING,
    )
    sharing.share_many(session, kind=HELD_KIND, items={held.id: marking}, fresh=False)
    audit.record(session, actor=principal.username, action="report.hold", item_ids=[report.id])
    return held


def get(session: Session, *, principal: Principal, report_id: str) -> PendingVersion | None:
    """The version held for a report, when `principal` may read it."""
    query = select(PendingVersion).where(
        PendingVersion.report_id == report_id, sharing.visible(principal, PendingVersion.id)
    )
    return session.scalar(query)


def forget(session: Session, held: PendingVersion) -> None:
    """Drop a held version and its grants, once it is applied."""
    sharing.unshare(session, [held.id])
    session.delete(held)
    session.flush()


def as_json(
    data: ReportCreate,
    *,
    source_identity: str | None = None,
    created: datetime | None = None,
    modified: datetime | None = None,
    revoked_reason: str | None = None,
    revoked_at: datetime | None = None,
) -> dict[str, Any]:
    """A filing as the JSON a held version keeps."""
    times = {"created": created, "modified": modified, "revoked_at": revoked_at}
    return {
        "data": data.model_dump(mode="json"),
        "source_identity": source_identity,
        "revoked_reason": revoked_reason,
        **{k: None if v is None else v.isoformat() for k, v in times.items()},
    }


def from_json(filing: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of a `service.Filing` (but the principal) from a held version."""
    times = {k: None if filing[k] is None else datetime.fromisoformat(filing[k]) for k in TIMES}
    return {
        "data": ReportCreate.model_validate(filing["data"]),
        "source_identity": filing["source_identity"],
        "revoked_reason": filing["revoked_reason"],
        **times,
    }
