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


def _own_values(own_ids: list[str]) -> Subquery:
    """(report id, type, value) of the organization's reports, read by report id.

    The reports were chosen through the sharing filter (`_own_reports`), so their
    values need no second look-up by the reader's keys; reading them by report once
    keeps the list of ids out of every per-value probe below.
    """
    held = ReportObservable
    return (
        select(held.report_id, held.type, held.value)
        .where(held.report_id.in_(own_ids))
        .distinct()
        .subquery()
    )


def _linkable_values(principal: Principal, own: Subquery, *, threshold: int) -> Subquery:
    """The distinct values of the organization's reports that are not common to this reader.

    Each value is probed once. A report holds a value under at most len(keys) of the
    reader's keys, so the first (threshold + 1) * len(keys) index rows name more than
    `threshold` reports if any do: the probe never reads further, however common.
    """
    probe = aliased(CorrelationEntry)
    values = select(own.c.type, own.c.value).distinct().subquery()
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

    The other end is found in the correlation index under the reader's own keys only.
    """
    mine = _own_values(own_ids)
    values = _linkable_values(principal, mine, threshold=threshold)
    theirs = aliased(CorrelationEntry)
    own, other = aliased(Report), aliased(Report)
    return (
        select(mine.c.report_id, theirs.report_id, mine.c.type, mine.c.value, other.modified)
        .distinct()
        .select_from(values)
        .join(mine, and_(mine.c.type == values.c.type, mine.c.value == values.c.value))
        .join(
            theirs,
            and_(
                theirs.type == values.c.type,
                theirs.value == values.c.value,
                sharing.holds(principal, theirs.key),
            ),
        )
        .join(own, own.id == mine.c.report_id)
        .join(other, other.id == theirs.report_id)
        .where(
            theirs.report_id != mine.c.report_id,
            other.originator_state.is_not(None),
            or_(own.originator_state.is_(None), other.originator_state != own.originator_state),
        )
        .order_by(other.modified.desc(), theirs.report_id.desc(), mine.c.report_id, mine.c.type)
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
