"""HTTP routes for reports: thin, each one session and one service call."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response

from rsn import fusion
from rsn.api.deps import NodeDep, PrincipalDep
from rsn.api.jsonbody import JSONRoute
from rsn.errors import ValidationError
from rsn.node import Node
from rsn.reports import listing, present, service
from rsn.reports.schemas import (
    CountRow,
    Counts,
    ReportCreate,
    ReportPage,
    ReportRead,
    ReportUpdate,
    Revocation,
    VersionRead,
    in_utc_range,
    no_control,
)
from rsn.sharing import Principal, Tlp

router = APIRouter(prefix="/api/v1/reports", tags=["reports"], route_class=JSONRoute)


def read_one(node: Node, principal: Principal, report_id: str) -> ReportRead:
    with node.db.session() as session:
        report = service.get(session, principal=principal, report_id=report_id)
        [item] = service.load(
            session, principal=principal, reports=[report], with_next_version=True
        )
        fusion.attach(
            session,
            principal=principal,
            item=item,
            threshold=node.settings.correlation_threshold,
        )
    node.disclose(principal, present.disclosed(principal, [item]), "report.read")
    return present.to_read(item)


def _filters(
    q: str | None,
    category: str | None,
    country: str | None,
    tlp: str | None,
    since: datetime | None,
    until: datetime | None,
    observable: str | None,
) -> listing.Filters:
    """Query parameters checked as strictly as a body: offsets, ranges, no control bytes."""
    for name, when in (("since", since), ("until", until)):
        if when is not None and when.tzinfo is None:
            message = f"'{when.isoformat()}' needs a UTC offset (RFC 3339)."
            raise ValidationError.field(name, message)
        checked(name, in_utc_range, when)
    texts = {"q": q, "category": category, "country": country, "observable": observable}
    for name, value in texts.items():
        checked(name, no_control, value)
    return listing.Filters(
        q=q,
        category=category,
        country=country,
        tlp=tlp,
        since=since,
        until=until,
        observable=observable,
    )


def checked(name: str, check: Callable[[Any], object], value: object) -> None:
    if value is None:
        return
    try:
        check(value)
    except ValueError as exc:
        raise ValidationError.field(name, f"{exc}.") from exc


FilterQ = Annotated[
    str | None, Query(max_length=500, description="Full text over title, description, observables")
]


@router.post("", status_code=201, response_model=ReportRead)
def create_report(
    response: Response,
    data: ReportCreate,
    node: NodeDep,
    principal: PrincipalDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
    draft: Annotated[bool, Query(description="Save as a draft, for the author only")] = False,
) -> ReportRead:
    """File a report; with an Idempotency-Key a retried POST creates nothing twice."""
    with node.db.session(write=True) as session:
        report_id, replayed = service.create_once(
            session, principal=principal, data=data, key=idempotency_key, draft=draft
        )
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"/api/v1/reports/{report_id}"
    return read_one(node, principal, report_id)


@router.get("", response_model=ReportPage)
def list_reports(
    node: NodeDep,
    principal: PrincipalDep,
    q: FilterQ = None,
    category: Annotated[str | None, Query(max_length=120)] = None,
    country: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
    tlp: Tlp | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    observable: Annotated[str | None, Query(max_length=2048)] = None,
    limit: Annotated[int, Query(ge=1, le=listing.MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> ReportPage:
    """Reports the caller may read, newest change first, a page at a time."""
    filters = _filters(q, category, country, tlp, since, until, observable)
    with node.db.session() as session:
        rows, next_cursor = listing.get_all(
            session, principal=principal, filters=filters, limit=limit, cursor=cursor
        )
        items = service.load(session, principal=principal, reports=rows)
    node.disclose(principal, present.disclosed(principal, items), "report.list")
    return ReportPage(items=[present.to_read(i) for i in items], next_cursor=next_cursor)


@router.get("/counts", response_model=Counts)
def count_reports(
    node: NodeDep,
    principal: PrincipalDep,
    by: Literal["category", "country", "tlp", "severity"] = "category",
    q: FilterQ = None,
    category: Annotated[str | None, Query(max_length=120)] = None,
    country: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
    tlp: Tlp | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    observable: Annotated[str | None, Query(max_length=2048)] = None,
) -> Counts:
    """Live reports the caller may read, counted by one field (aggregates disclose no item)."""
    filters = _filters(q, category, country, tlp, since, until, observable)
    with node.db.session() as session:
        rows = listing.counts(session, principal=principal, by=by, filters=filters)
    return Counts(by=by, rows=[CountRow(key=k, count=n) for k, n in rows])


@router.get("/{report_id}", response_model=ReportRead)
def read_report(report_id: str, node: NodeDep, principal: PrincipalDep) -> ReportRead:
    """One report with the correlations the caller may see."""
    return read_one(node, principal, report_id)


@router.patch("/{report_id}", response_model=ReportRead)
def update_report(
    report_id: str, data: ReportUpdate, node: NodeDep, principal: PrincipalDep
) -> ReportRead:
    """Change fields; the report gets a new full version."""
    with node.db.session(write=True) as session:
        service.update_report(session, principal=principal, report_id=report_id, data=data)
    return read_one(node, principal, report_id)


@router.post("/{report_id}/revoke", response_model=ReportRead)
def revoke_report(
    report_id: str, data: Revocation, node: NodeDep, principal: PrincipalDep
) -> ReportRead:
    """Revoke with a reason; readers keep seeing it, marked revoked."""
    with node.db.session(write=True) as session:
        service.revoke(session, principal=principal, report_id=report_id, reason=data.reason)
    return read_one(node, principal, report_id)


@router.get("/{report_id}/history", response_model=list[VersionRead])
def report_history(report_id: str, node: NodeDep, principal: PrincipalDep) -> list[VersionRead]:
    """Every version as a full snapshot, for whoever may read the current one."""
    with node.db.session() as session:
        versions = service.history(session, principal=principal, report_id=report_id)
        names = service.usernames(session, {v.submitted_by for v in versions})
        out = [
            VersionRead(
                version=v.version,
                date_added=v.date_added,
                modified=v.modified,
                submitted_by=names.get(v.submitted_by, ""),
                snapshot=v.snapshot,
            )
            for v in versions
        ]
        tlp = versions[-1].snapshot.get("tlp") if versions else "clear"
    if tlp != "clear":
        node.disclose(principal, [report_id], "report.history")
    return out
