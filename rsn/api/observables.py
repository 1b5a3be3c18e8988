"""REST routes of the observable look-up: a face over `rsn.fusion.sightings`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from rsn.api.deps import NodeDep, PrincipalDep
from rsn.api.jsonbody import JSONRoute
from rsn.fusion import sightings
from rsn.fusion.schemas import ObservablePage, ObservableReport, OrganizationCount, StateCount
from rsn.reports.listing import MAX_PAGE

router = APIRouter(prefix="/api/v1/observables", tags=["observables"], route_class=JSONRoute)


@router.get("", response_model=ObservablePage)
def read_observable(
    node: NodeDep,
    principal: PrincipalDep,
    value: Annotated[str, Query(description="Any value: an IP, a domain, a phone, an IMO…")],
    type_: Annotated[
        str | None, Query(alias="type", description="The observable type; inferred if absent")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> ObservablePage:
    """The value normalised, and the live reports carrying it that the caller may read."""
    with node.db.session() as session:
        seen = sightings.get(
            session,
            principal=principal,
            value=value,
            type_=type_,
            limit=limit,
            cursor=cursor,
            threshold=node.settings.correlation_threshold,
        )
    node.disclose(principal, sightings.disclosed(principal, seen), "report.observable")
    return to_page(seen)


def to_page(seen: sightings.Seen) -> ObservablePage:
    return ObservablePage(
        type=seen.reading.type,
        value=seen.reading.value,
        other_types=list(seen.reading.others),
        reports=[
            ObservableReport(
                id=s.report_id,
                title=s.title,
                country=s.country,
                organization=s.organization,
                occurred_at=s.occurred_at,
            )
            for s in seen.reports
        ],
        first_seen=seen.first_seen,
        last_seen=seen.last_seen,
        total=seen.total,
        states=[StateCount(member_state=c, reports=n) for c, n in seen.states],
        organizations=[
            OrganizationCount(organization=slug, member_state=state, reports=n)
            for slug, state, n in seen.organizations
        ],
        cross_border=seen.cross_border,
        common=seen.common,
        next_cursor=seen.next_cursor,
    )
