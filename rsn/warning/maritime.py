"""Maritime threat levels per sea area, from the maritime reports a reader may read.

Each sea area of the node's region packs gets a level (`seas.grade`, in the manner of
ReCAAP ISC): its maritime reports of the last `days` days, by severity, against the
same period of the two years before. A report counts in the sea its `sea_area` names,
else the sea its point lies in (`SeaShapes.area_at`). Only reports the reader may read
count, so two readers may see different levels for one sea, as they see different
counts everywhere else.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from rsn import clock, sharing
from rsn.errors import ValidationError
from rsn.registry import catalog
from rsn.reports.models import Report
from rsn.sharing import Principal
from rsn.warning import seas

CATEGORY = "maritime"  # the reports graded: this category and everything under it
YEARS_BACK = 2  # earlier years whose same period is the baseline
MAX_DAYS = 366


def shapes(session: Session) -> list[seas.SeaShapes]:
    """The sea shapes of every region pack the node has loaded."""
    return [seas.shapes_for(record.slug) for record in catalog.packs(session)]


def _area(
    sea_area: str | None,
    lat: float | None,
    lon: float | None,
    known: Iterable[seas.SeaShapes],
    names: set[str],
) -> str | None:
    """The sea a report names, else the one its point lies in."""
    if sea_area in names:
        return sea_area
    if lat is None or lon is None:
        return None
    for found in known:
        area = found.area_at(lat, lon)
        if area is not None:
            return area
    return None


def levels(
    session: Session, principal: Principal, *, days: int = 90, now: datetime | None = None
) -> dict[str, seas.Grade]:
    """Every sea area's grade over the last `days` days, as `principal` may see it."""
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError.field("days", f"must be between 1 and {MAX_DAYS}, not {days}.")
    end = now or clock.now()
    known = shapes(session)
    names = {name for found in known for name in found.names}
    if not names:
        return {}
    span = timedelta(days=days)
    year = timedelta(days=365)
    windows = [(end - span - year * k, end - year * k) for k in range(YEARS_BACK + 1)]
    where = [
        or_(Report.category == CATEGORY, Report.category.startswith(f"{CATEGORY}.")),
        Report.revoked.is_(False),
        Report.status == sharing.PUBLISHED,
        sharing.visible(principal, Report.id),
    ]
    query = select(
        Report.sea_area, Report.lat, Report.lon, Report.severity, Report.occurred_at
    ).where(*where, Report.occurred_at >= windows[-1][0], Report.occurred_at < end)
    current: dict[str, Counter[str]] = {}
    earlier: dict[str, list[int]] = {}
    for sea_area, lat, lon, severity, occurred in session.execute(query):
        area = _area(sea_area, lat, lon, known, names)
        if area is None:
            continue
        for k, (start, stop) in enumerate(windows):
            if start <= occurred < stop:
                if k == 0:
                    current.setdefault(area, Counter())[severity] += 1
                else:
                    earlier.setdefault(area, [0] * YEARS_BACK)[k - 1] += 1
    # An earlier year counts only if the reader's maritime reports reach back to it: a
    # year before the first report is no data, not a quiet year.
    first = session.scalar(select(func.min(Report.occurred_at)).where(*where))
    covered = [k for k in range(1, YEARS_BACK + 1) if first is not None and first <= windows[k][0]]
    incidents = {
        area: seas.Incidents(
            dict(current.get(area, Counter())),
            previous=tuple(earlier.get(area, [0] * YEARS_BACK)[k - 1] for k in covered),
        )
        for area in names
        if area in current or area in earlier
    }
    return seas.grade_areas(sorted(names), incidents, days=days)


__all__ = ["CATEGORY", "levels", "shapes"]
