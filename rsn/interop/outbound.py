"""Reports leaving the node, as `ExportItem`s: only what the reader may read.

Every export, CLI or API or TAXII, takes its reports from here, and here they
are chosen with `rsn.sharing.visible` in SQL. The node-admin has no override.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Literal

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from rsn import sharing
from rsn.interop.model import ExportItem, Originator, VersionOut
from rsn.interop.models import KeptObject
from rsn.registry.models import Organization, User
from rsn.reports.models import Report, ReportVersion
from rsn.sharing import Principal

BATCH = 500
Versions = Literal["all", "last"]


def visible_reports(principal: Principal, *, since: datetime | None = None) -> Select[Report]:
    """The reports a reader may export, in commit order (`seq`), for paging and resuming."""
    query = select(Report).where(sharing.visible(principal, Report.id))
    if since is not None:
        query = query.where(Report.modified >= since)
    return query.order_by(Report.seq)


def items(
    session: Session,
    *,
    principal: Principal,
    since: datetime | None = None,
    report_ids: Sequence[str] | None = None,
    versions: Versions = "all",
) -> list[ExportItem]:
    """Every exportable report (or those of `report_ids` the reader may read)."""
    query = visible_reports(principal, since=since)
    if report_ids is not None:
        query = query.where(Report.id.in_(list(report_ids)))
    return build(session, principal, list(session.scalars(query)), versions=versions)


def stream(
    session: Session,
    *,
    principal: Principal,
    since: datetime | None = None,
    versions: Versions = "all",
    batch: int = BATCH,
) -> Iterator[ExportItem]:
    """The same as `items`, a batch at a time, so a large export never sits in memory."""
    last = 0
    while True:
        query = visible_reports(principal, since=since).where(Report.seq > last).limit(batch)
        reports = list(session.scalars(query))
        if not reports:
            return
        yield from build(session, principal, reports, versions=versions)
        last = reports[-1].seq


def build(
    session: Session,
    principal: Principal,
    reports: Sequence[Report],
    *,
    versions: Versions = "all",
) -> list[ExportItem]:
    """Export items for reports the caller has already found visible.

    Of their versions, only those `principal` may read under their own marking.
    """
    if not reports:
        return []
    ids = [r.id for r in reports]
    snapshots = _versions(session, principal, reports, versions)
    kept = _kept(session, ids)
    originators = _originators(session, reports)
    return [
        ExportItem(
            report_id=r.id,
            originator=originators[r.id],
            versions=snapshots[r.id],
            kept=kept.get(r.id, []),
        )
        for r in reports
    ]


def _versions(
    session: Session, principal: Principal, reports: Sequence[Report], versions: Versions
) -> dict[str, list[VersionOut]]:
    query = select(ReportVersion).where(
        ReportVersion.report_id.in_([r.id for r in reports]),
        sharing.visible_version(principal, ReportVersion.item_id, ReportVersion.report_id),
    )
    if versions == "last":
        query = query.where(ReportVersion.seq.in_([r.seq for r in reports]))
    found: dict[str, list[VersionOut]] = {r.id: [] for r in reports}
    for v in session.scalars(query.order_by(ReportVersion.report_id, ReportVersion.version)):
        found[v.report_id].append(VersionOut(v.version, v.seq, v.date_added, v.snapshot))
    return found


def _kept(session: Session, ids: list[str]) -> dict[str, list[dict[str, object]]]:
    query = (
        select(KeptObject.report_id, KeptObject.body)
        .where(KeptObject.report_id.in_(ids))
        .order_by(KeptObject.report_id, KeptObject.position)
    )
    found: dict[str, list[dict[str, object]]] = {}
    for report_id, body in session.execute(query):
        found.setdefault(report_id, []).append(body)
    return found


def _originators(session: Session, reports: Sequence[Report]) -> dict[str, Originator]:
    users = {r.originator_user_id for r in reports}
    orgs = {r.originator_org_id for r in reports}
    names = dict(session.execute(select(User.id, User.username).where(User.id.in_(users))).all())
    org_rows = session.execute(
        select(Organization.id, Organization.slug, Organization.name).where(
            Organization.id.in_(orgs)
        )
    )
    org_names = {oid: (slug, name) for oid, slug, name in org_rows}
    return {
        r.id: Originator(
            username=names.get(r.originator_user_id, ""),
            organization=org_names.get(r.originator_org_id, ("", ""))[0],
            organization_name=org_names.get(r.originator_org_id, ("", ""))[1],
            member_state=r.originator_state,
            user_id=r.originator_user_id,
        )
        for r in reports
    }


def disclosed(principal: Principal, exported: Sequence[ExportItem]) -> list[str]:
    """The ids an export carried to someone not their originator, past public fields."""
    return [
        item.report_id
        for item in exported
        if sharing.discloses(
            principal, tlp=str(item.current["tlp"]), originator_user_id=item.originator.user_id
        )
    ]


def record_disclosure(
    session: Session, *, principal: Principal, exported: Sequence[ExportItem], action: str
) -> None:
    """One audit record per export naming what it carried to someone not its originator."""
    ids = disclosed(principal, exported)
    sharing.disclose(session, principal=principal, item_ids=ids, action=action)
