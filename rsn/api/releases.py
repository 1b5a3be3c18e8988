"""HTTP routes for drafts and release: submit, the releaser's queue, release and refuse."""

from __future__ import annotations

from fastapi import APIRouter

from rsn.api.deps import NodeDep, PrincipalDep
from rsn.api.jsonbody import JSONRoute
from rsn.api.reports import read_one
from rsn.reports import release
from rsn.reports.schemas import QueuedRead, Refusal, ReportRead

router = APIRouter(prefix="/api/v1", tags=["release"], route_class=JSONRoute)


@router.get("/releases", response_model=list[QueuedRead])
def release_queue(node: NodeDep, principal: PrincipalDep) -> list[QueuedRead]:
    """What waits for the caller's organization to release it (liaison and duty officers)."""
    with node.db.session() as session:
        queued = release.queue(session, principal=principal)
        return [
            QueuedRead(
                report_id=q.report.id,
                title=q.title,
                tlp=q.tlp,
                submitted_by=q.submitted_by,
                submitted_at=q.submitted_at,
                next_version=q.next_version,
            )
            for q in queued
        ]


@router.post("/reports/{report_id}/submit", response_model=ReportRead)
def submit_report(report_id: str, node: NodeDep, principal: PrincipalDep) -> ReportRead:
    """Send a draft on: published, or pending when its organization must release it."""
    with node.db.session(write=True) as session:
        release.submit(session, principal=principal, report_id=report_id)
    return read_one(node, principal, report_id)


@router.post("/reports/{report_id}/release", response_model=ReportRead)
def release_report(report_id: str, node: NodeDep, principal: PrincipalDep) -> ReportRead:
    """Let a pending report, or its held next version, out to its marking's readers."""
    with node.db.session(write=True) as session:
        release.release(session, principal=principal, report_id=report_id)
    return read_one(node, principal, report_id)


@router.post("/reports/{report_id}/refuse", response_model=ReportRead)
def refuse_report(
    report_id: str, data: Refusal, node: NodeDep, principal: PrincipalDep
) -> ReportRead:
    """Send it back to its author as a draft, with the reason."""
    with node.db.session(write=True) as session:
        release.refuse(session, principal=principal, report_id=report_id, reason=data.reason)
    return read_one(node, principal, report_id)
