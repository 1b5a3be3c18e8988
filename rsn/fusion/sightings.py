"""Where a value was seen: the reports a reader may read that carry one observable.

The reports come from the observables of each report's current version (the index
the list's `observable` filter uses), ANDed with the reader's sharing condition in
SQL, so a page, its cursor, the first and last sightings, the count and the states
and organizations are computed from visible rows only: a report hidden from the
reader leaves no trace, and a value only hidden reports carry reads exactly like a
value no one reported. Revoked reports are left out, as they stop correlating.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from rsn import sharing
from rsn.errors import ValidationError
from rsn.fusion.correlate import DEFAULT_THRESHOLD
from rsn.observables import OBSERVABLE_TYPES, ObservableError, Reading, read
from rsn.registry.models import Organization
from rsn.reports.listing import MAX_PAGE
from rsn.reports.models import Report, ReportObservable
from rsn.reports.schemas import CONTROL
from rsn.sharing import Principal
from rsn.store import paging


@dataclass(frozen=True)
class Sighting:
    """One report carrying the value, as much of it as the observable page shows."""

    report_id: str
    title: str
    country: str
    organization: str
    member_state: str | None
    occurred_at: datetime
    tlp: str
    originator_user_id: str


@dataclass(frozen=True)
class Seen:
    """A value, the page of reports that carry it, and what all of them add up to."""

    reading: Reading
    reports: list[Sighting]
    next_cursor: str | None
    total: int
    first_seen: datetime | None
    last_seen: datetime | None
    states: list[tuple[str, int]]
    organizations: list[tuple[str, str | None, int]]
    common: bool

    @property
    def cross_border(self) -> bool:
        return len(self.states) > 1


def understand(raw: str, *, type_: str | None, principal: Principal) -> Reading:
    """The value as the searcher meant it; a national phone number is read in their state."""
    if type_ and type_ not in OBSERVABLE_TYPES:
        known = ", ".join(OBSERVABLE_TYPES)
        raise ValidationError.field("type", f"'{type_[:64]}' is not one of {known}.")
    if CONTROL.search(raw):
        raise ValidationError.field("value", "contains a control character, which no value has.")
    try:
        return read(raw, type_=type_ or None, region=principal.member_state)
    except ObservableError as exc:
        raise ValidationError.field("value", f"{exc}.") from exc


def get(
    session: Session,
    *,
    principal: Principal,
    value: str,
    type_: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    threshold: int = DEFAULT_THRESHOLD,
) -> Seen:
    """The visible, live reports carrying the value, newest sighting first, a page at a time."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError.field("limit", f"must be between 1 and {MAX_PAGE}, not {limit}.")
    reading = understand(value, type_=type_, principal=principal)
    where = _carrying(principal, reading)
    after = [_after(*paging.decode(cursor))] if cursor else []
    total, first, last = session.execute(
        select(func.count(), func.min(Report.occurred_at), func.max(Report.occurred_at)).where(
            *where
        )
    ).one()
    rows = _page(session, [*where, *after], limit)
    more = len(rows) > limit
    rows = rows[:limit]
    return Seen(
        reading=reading,
        reports=rows,
        next_cursor=paging.encode(rows[-1].occurred_at, rows[-1].report_id)
        if more and rows
        else None,
        total=int(total),
        first_seen=first,
        last_seen=last,
        states=_states(session, where),
        organizations=_organizations(session, where),
        common=int(total) > threshold,
    )


def disclosed(principal: Principal, seen: Seen) -> list[str]:
    """Ids on this page whose non-public fields go to someone not their originator."""
    return [
        s.report_id
        for s in seen.reports
        if sharing.discloses(principal, tlp=s.tlp, originator_user_id=s.originator_user_id)
    ]


def _carrying(principal: Principal, reading: Reading) -> list[ColumnElement[bool]]:
    """Live reports the principal may read whose current version carries the value."""
    carriers = select(ReportObservable.report_id).where(
        ReportObservable.value == reading.value, ReportObservable.type == reading.type
    )
    return [
        Report.id.in_(carriers),
        Report.revoked.is_(False),
        sharing.visible(principal, Report.id),
    ]


def _page(session: Session, where: list[ColumnElement[bool]], limit: int) -> list[Sighting]:
    query = (
        select(
            Report.id,
            Report.title,
            Report.country,
            Organization.slug,
            Report.originator_state,
            Report.occurred_at,
            Report.tlp,
            Report.originator_user_id,
        )
        .join(Organization, Organization.id == Report.originator_org_id)
        .where(*where)
        .order_by(Report.occurred_at.desc(), Report.id.desc())
        .limit(limit + 1)
    )
    return [Sighting(*row) for row in session.execute(query)]


def _states(session: Session, where: list[ColumnElement[bool]]) -> list[tuple[str, int]]:
    """The member states whose agencies reported the value, with how many reports each."""
    state = Report.originator_state
    query = select(state, func.count()).where(*where, state.is_not(None)).group_by(state)
    return [(str(code), int(n)) for code, n in session.execute(query.order_by(state))]


def _organizations(
    session: Session, where: list[ColumnElement[bool]]
) -> list[tuple[str, str | None, int]]:
    query = (
        select(Organization.slug, Organization.member_state, func.count())
        .select_from(Report)
        .join(Organization, Organization.id == Report.originator_org_id)
        .where(*where)
        .group_by(Organization.slug, Organization.member_state)
        .order_by(Organization.slug)
    )
    return [(str(slug), state, int(n)) for slug, state, n in session.execute(query)]


def _after(stamp: datetime, report_id: str) -> ColumnElement[bool]:
    """Past the cursor in page order (newest sighting first, then id)."""
    return and_(
        Report.occurred_at <= stamp,
        or_(Report.occurred_at < stamp, Report.id < report_id),
    )
