"""Cross-border links: an organization's reports that another state's report now matches.

A duty officer wants to know when something their agency reported turns up in a
neighbour's report. Both ends of every link are looked up in the correlation index
through the reader's own keys (as `correlate.correlations` does), so a report the
reader may not see never takes part: not as a match, not in a count, not in the
time a page takes. A value held by more than `threshold` reports the reader may see
is common and links nothing, exactly as on a report's page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, Subquery, and_, distinct, func, or_, select
from sqlalchemy.orm import Session, aliased

from rsn import sharing
from rsn.fusion.correlate import DEFAULT_THRESHOLD
from rsn.fusion.models import CorrelationEntry
from rsn.reports.models import Report, ReportObservable
from rsn.sharing import Principal, visible

MAX_OWN_REPORTS = 200
ROWS_PER_LINK = 4


@dataclass(frozen=True)
class Side:
    """One end of a link, with what a reader who may see it is shown."""

    report_id: str
    title: str
    member_state: str | None
    tlp: str
    severity: str
    modified: datetime
    originator_user_id: str


@dataclass(frozen=True)
class CrossBorderLink:
    """An own report and another state's report sharing one or more observables."""

    own: Side
    other: Side
    shared: tuple[tuple[str, str], ...]


def _own_reports(principal: Principal) -> Select[str]:
    """The organization's newest live reports the reader may see: a bound on the work.

    The bound is taken after the sharing filter, so a colleague's reports hidden from
    the reader neither count towards it nor push the reader's own links out.
    """
    return (
        select(Report.id)
        .where(
            Report.originator_org_id == principal.organization_id,
            Report.revoked.is_(False),
            visible(principal, Report.id),
        )
        .order_by(Report.modified.desc(), Report.id.desc())
        .limit(MAX_OWN_REPORTS)
    )


def _linkable_values(principal: Principal, own_ids: list[str], *, threshold: int) -> Subquery:
    """The distinct values of the organization's reports that are not common to this reader.

    Each value is probed once. A report holds a value under at most len(keys) of the
    reader's keys, so the first (threshold + 1) * len(keys) index rows name more than
    `threshold` reports if any do: the probe never reads further, however common.
    """
    mine, probe = aliased(CorrelationEntry), aliased(CorrelationEntry)
    held = ReportObservable
    # The own reports' values come from their observables; the index row under one
    # of the reader's keys (found by its whole key) says the reader may see that report.
    values = (
        select(held.type, held.value)
        .join(
            mine,
            and_(
                mine.type == held.type,
                mine.value == held.value,
                sharing.holds(principal, mine.key),
                mine.report_id == held.report_id,
            ),
        )
        .where(held.report_id.in_(own_ids))
        .distinct()
        .subquery()
    )
    first_rows = (
        select(probe.report_id)
        .where(
            probe.type == values.c.type,
            probe.value == values.c.value,
            sharing.holds(principal, probe.key),
        )
        .limit((threshold + 1) * len(principal.keys))
        .correlate(values)
        .subquery()
    )
    holders = select(func.count(distinct(first_rows.c.report_id))).scalar_subquery()
    return select(values.c.type, values.c.value).where(holders <= threshold).subquery()


def _link_rows(
    principal: Principal, own_ids: list[str], *, threshold: int, limit: int
) -> Select[str, str, str, str, datetime]:
    """(own id, other id, type, value, other's modified), the newest other report first.

    Every index row read carries one of the reader's keys, on both ends.
    """
    values = _linkable_values(principal, own_ids, threshold=threshold)
    mine, theirs = aliased(CorrelationEntry), aliased(CorrelationEntry)
    own, other = aliased(Report), aliased(Report)
    return (
        select(mine.report_id, theirs.report_id, mine.type, mine.value, other.modified)
        .distinct()
        .select_from(values)
        .join(mine, and_(mine.type == values.c.type, mine.value == values.c.value))
        .join(theirs, and_(theirs.type == mine.type, theirs.value == mine.value))
        .join(own, own.id == mine.report_id)
        .join(other, other.id == theirs.report_id)
        .where(
            mine.report_id.in_(own_ids),
            sharing.holds(principal, mine.key),
            sharing.holds(principal, theirs.key),
            theirs.report_id != mine.report_id,
            other.originator_state.is_not(None),
            or_(own.originator_state.is_(None), other.originator_state != own.originator_state),
        )
        .order_by(other.modified.desc(), theirs.report_id.desc(), mine.report_id, mine.type)
        .limit(limit * ROWS_PER_LINK)
    )


def _sides(session: Session, principal: Principal, ids: set[str]) -> dict[str, Side]:
    """The reports at either end, read through the sharing filter once more."""
    rows = session.execute(
        select(
            Report.id,
            Report.title,
            Report.originator_state,
            Report.tlp,
            Report.severity,
            Report.modified,
            Report.originator_user_id,
        ).where(Report.id.in_(sorted(ids)), visible(principal, Report.id))
    )
    return {row[0]: Side(*row) for row in rows}


def for_organization(
    session: Session,
    *,
    principal: Principal,
    limit: int = 20,
    threshold: int = DEFAULT_THRESHOLD,
) -> list[CrossBorderLink]:
    """The reader's organization's reports that another state's visible report matches."""
    pairs: dict[tuple[str, str], list[tuple[str, str]]] = {}
    own_ids = list(session.scalars(_own_reports(principal)))
    if not own_ids:
        return []
    rows = session.execute(_link_rows(principal, own_ids, threshold=threshold, limit=limit))
    for own_id, other_id, kind, value, _modified in rows:
        if (own_id, other_id) not in pairs and len(pairs) == limit:
            continue
        pairs.setdefault((own_id, other_id), []).append((kind, value))
    sides = _sides(session, principal, {i for pair in pairs for i in pair})
    return [
        CrossBorderLink(sides[own], sides[other], tuple(shared))
        for (own, other), shared in pairs.items()
        if own in sides and other in sides
    ]


def disclosed(principal: Principal, links: list[CrossBorderLink]) -> list[str]:
    """Ids whose non-public fields a list of links shows to someone not their originator."""
    ids = [
        side.report_id
        for link in links
        for side in (link.own, link.other)
        if sharing.discloses(principal, tlp=side.tlp, originator_user_id=side.originator_user_id)
    ]
    return list(dict.fromkeys(ids))
