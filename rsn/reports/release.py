"""Drafts, submission, release and refusal: what an organization lets out, and when.

Who may read a draft or a report waiting for release is decided by its grants
(`rsn.sharing.release`); this module moves reports between the states and
writes the version and the audit record each move makes:

    draft --submit--> pending --release--> published
      ^                  |
      +-----refuse-------+        (a published report's wider next version is
                                   held the same way: `rsn.reports.held`)

Publishing writes a new version under the report's real marking and drops the
versions written while it was a draft, so its readers never read what was
drafted (or refused) before it was let out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from rsn import audit, sharing
from rsn.errors import Conflict, Forbidden
from rsn.reports import held, service
from rsn.reports.models import PendingVersion, Report, ReportVersion
from rsn.sharing import Principal


@dataclass(frozen=True)
class Queued:
    """One thing waiting for a releaser: a new report, or a published report's next version."""

    report: Report
    title: str
    tlp: str
    submitted_by: str
    submitted_at: datetime
    next_version: bool


def _releasable(session: Session, principal: Principal, report_id: str) -> Report:
    report = service.get(session, principal=principal, report_id=report_id)
    if not sharing.is_releaser(principal, organization_id=report.originator_org_id):
        raise Forbidden(
            "Only liaison officers and duty officers of the originating organization release it."
        )
    return report


def submit(session: Session, *, principal: Principal, report_id: str) -> Report:
    """Send a draft (or a refused next version) on: published, or pending for a releaser."""
    report = service.get(session, principal=principal, report_id=report_id)
    if not sharing.may_change(principal, originator_org_id=report.originator_org_id):
        raise Forbidden(
            "Only analysts and duty officers of the originating organization submit it."
        )
    kept = held.get(session, principal=principal, report_id=report_id)
    if kept is not None and kept.status == sharing.DRAFT:
        kept.status, kept.refusal_reason = sharing.PENDING, None
        audit.record(
            session, actor=principal.username, action="report.submit", item_ids=[report.id]
        )
        return report
    if report.status != sharing.DRAFT:
        raise Conflict(f"Report {report.id} is not a draft; there is nothing to submit.")
    dist = sharing.resolve_distribution(session, report.tlp, report.distribution)
    keys = sharing.item_keys(
        report.tlp,
        dist,
        originator_user_id=report.originator_user_id,
        originator_org_id=report.originator_org_id,
    )
    required = report.originator_org_id in sharing.required_by(session, [report.originator_org_id])
    if sharing.needs_release(
        session,
        principal=principal,
        required=required,
        keys=keys,
        organization_id=report.originator_org_id,
    ):
        report.status, report.refusal_reason = sharing.PENDING, None
        audit.record(
            session, actor=principal.username, action="report.submit", item_ids=[report.id]
        )
        return report
    return _publish(session, principal, report, "report.publish")


def release(session: Session, *, principal: Principal, report_id: str) -> Report:
    """Let a pending report (or a held next version) out to the readers its marking names."""
    report = _releasable(session, principal, report_id)
    kept = held.get(session, principal=principal, report_id=report_id)
    if kept is not None and kept.status == sharing.PENDING:
        return _apply_held(session, principal, report, kept)
    if report.status != sharing.PENDING:
        raise Conflict(f"Nothing of report {report.id} waits for release.")
    return _publish(session, principal, report, "report.release")


def refuse(session: Session, *, principal: Principal, report_id: str, reason: str) -> Report:
    """Send a pending report (or next version) back to its author as a draft, with the reason."""
    report = _releasable(session, principal, report_id)
    kept = held.get(session, principal=principal, report_id=report_id)
    if kept is not None and kept.status == sharing.PENDING:
        kept.status, kept.refusal_reason = sharing.DRAFT, reason
    elif report.status == sharing.PENDING:
        report.status, report.refusal_reason = sharing.DRAFT, reason
    else:
        raise Conflict(f"Nothing of report {report.id} waits for release.")
    session.flush()
    audit.record(session, actor=principal.username, action="report.refuse", item_ids=[report.id])
    return report


def queue(session: Session, *, principal: Principal) -> list[Queued]:
    """What waits for this releaser's organization, oldest first; only releasers have a queue."""
    if principal.role not in sharing.RELEASER_ROLES:
        raise Forbidden("Only liaison officers and duty officers release reports.")
    org = principal.organization_id
    reports = session.scalars(
        select(Report).where(
            Report.status == sharing.PENDING,
            Report.originator_org_id == org,
            sharing.visible(principal, Report.id),
        )
    )
    found = [
        Queued(r, r.title, r.tlp, r.originator_user_id, r.modified, next_version=False)
        for r in reports
    ]
    versions = session.execute(
        select(PendingVersion, Report)
        .join(Report, Report.id == PendingVersion.report_id)
        .where(
            PendingVersion.status == sharing.PENDING,
            Report.originator_org_id == org,
            sharing.visible(principal, PendingVersion.id),
        )
    )
    for kept, report in versions:
        data = kept.filing["data"]
        found.append(
            Queued(report, data["title"], data["tlp"], kept.submitted_by, kept.submitted_at, True)
        )
    names = service.usernames(session, {q.submitted_by for q in found})
    found = [
        Queued(
            q.report, q.title, q.tlp, names.get(q.submitted_by, ""), q.submitted_at, q.next_version
        )
        for q in found
    ]
    return sorted(found, key=lambda q: (q.submitted_at, q.report.id))


def would_wait(
    session: Session,
    *,
    principal: Principal,
    tlp: str,
    names: dict[str, Sequence[str]],
    report: Report | None = None,
) -> bool:
    """Whether filing this marking (or saving `report` with it) waits for a releaser.

    What the form warns of before anything is stored, by the rules filing and
    saving follow: a published report's next version is held by `held.must_hold`;
    a new report, or a draft once submitted, by `sharing.held_if_filed`, with
    `principal` standing for its filer.
    """
    dist = sharing.resolve_distribution(session, tlp, names)
    if report is not None and report.status == sharing.PUBLISHED:
        return held.must_hold(session, principal=principal, report=report, tlp=tlp, dist=dist)
    return sharing.held_if_filed(session, principal=principal, tlp=tlp, dist=dist)


def waiting(session: Session, report_ids: list[str]) -> int:
    """How many of these reports (or their next versions) wait for release: an import says so."""
    ids = sorted(set(report_ids))
    if not ids:
        return 0
    new = select(Report.id).where(Report.id.in_(ids), Report.status == sharing.PENDING)
    held_back = select(PendingVersion.report_id).where(
        PendingVersion.report_id.in_(ids), PendingVersion.status == sharing.PENDING
    )
    return len(set(session.scalars(new)) | set(session.scalars(held_back)))


def _publish(session: Session, principal: Principal, report: Report, action: str) -> Report:
    """The report's first published version; the draft's versions go with its draft status.

    It keeps its `modified`: the content is the version its source dated (an
    import's later version is still later), and no reader outside had it before.
    """
    report.status, report.refusal_reason = sharing.PUBLISHED, None
    dist = sharing.resolve_distribution(session, report.tlp, report.distribution)
    observables = service.observables_of(session, [report.id])[report.id]
    service.new_version(
        session,
        report,
        observables,
        dist,
        principal,
        action,
        modified=report.modified,
        submitted_by=report.originator_user_id,
    )
    drafted = ReportVersion.report_id == report.id, ReportVersion.version < report.version
    gone = session.scalars(select(ReportVersion.item_id).where(*drafted))
    sharing.unshare(session, gone)
    session.execute(delete(ReportVersion).where(*drafted))
    return report


def _apply_held(
    session: Session, principal: Principal, report: Report, kept: PendingVersion
) -> Report:
    filing = service.Filing(principal=principal, **held.from_json(kept.filing))
    dist = sharing.resolve_distribution(
        session, filing.data.tlp, filing.data.distribution.model_dump()
    )
    author = kept.submitted_by
    held.forget(session, kept)
    return service.apply(
        session,
        principal=principal,
        report=report,
        filing=filing,
        dist=dist,
        action="report.release",
        submitted_by=author,
    )
