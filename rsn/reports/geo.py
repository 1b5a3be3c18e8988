"""Located reports: the points a map draws, through the same filters as lists and counts.

A map must agree with the list it links to and the counts beside it, so it reuses
the listing's conditions (the sharing filter first) rather than restating them, and
reads only the few columns a point needs: a regional map may draw a thousand.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rsn.reports.listing import Filters, conditions
from rsn.reports.models import Report
from rsn.sharing import Principal

MAX_POINTS = 1000


@dataclass(frozen=True)
class Point:
    """What a map shows of one located report, and what its disclosure record needs."""

    report_id: str
    title: str
    category: str
    country: str
    severity: str
    lat: float
    lon: float
    occurred_at: datetime
    tlp: str
    originator_user_id: str


def located(
    session: Session, *, principal: Principal, filters: Filters, limit: int = MAX_POINTS
) -> tuple[list[Point], bool]:
    """The newest live reports with a point that the principal may read; True when capped."""
    where = conditions(session, principal, replace(filters, include_revoked=False))
    rows = session.execute(
        select(
            Report.id,
            Report.title,
            Report.category,
            Report.country,
            Report.severity,
            Report.lat,
            Report.lon,
            Report.occurred_at,
            Report.tlp,
            Report.originator_user_id,
        )
        .where(*where, Report.lat.is_not(None), Report.lon.is_not(None))
        .order_by(Report.occurred_at.desc(), Report.id.desc())
        .limit(limit + 1)
    ).all()
    points = [
        Point(rid, title, cat, country, sev, lat or 0.0, lon or 0.0, when, tlp, originator)
        for rid, title, cat, country, sev, lat, lon, when, tlp, originator in rows[:limit]
    ]
    return points, len(rows) > limit
