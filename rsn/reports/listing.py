"""Listing and counting reports: what a reader may see, filtered, a page at a time.

The sharing filter is one SQL condition ANDed with the reader's filters, so a page,
a count and a search answer the same question and never load a hidden row.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from rsn import sharing
from rsn.errors import ValidationError
from rsn.observables import OBSERVABLE_TYPES, ObservableError, normalize
from rsn.registry import catalog
from rsn.reports import search, tallies
from rsn.reports.models import Report, ReportObservable
from rsn.sharing import Principal
from rsn.store import paging

MAX_PAGE = 500


@dataclass(frozen=True)
class Filters:
    """What a list or count asks for, beyond what the reader may see."""

    q: str | None = None
    category: str | None = None
    country: str | None = None
    tlp: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    observable: str | None = None
    include_revoked: bool = True


def categories(session: Session, category: str) -> list[str]:
    """The categories a filter names (by id, name or words), with their sub-categories.

    Spelled out so the (category, modified) index serves. A filter that names none
    is refused with the categories it may have meant, rather than answered with
    nothing: the taxonomy is no secret, an empty list would only mislead.
    """
    tax = catalog.node_taxonomy(session)
    found = tax.matching(category)
    if found:
        return found
    near = [f"{c.name} ({c.id})" for c in map(tax.get, tax.near(category)) if c is not None]
    hint = (
        f"did you mean {'; '.join(near)}?"
        if near
        else "give a category's id, its name or a word of it, such as 'piracy' or 'trafficking'."
    )
    raise ValidationError.field("category", f"'{category}' matches no category; {hint}")


def conditions(
    session: Session, principal: Principal, filters: Filters
) -> list[ColumnElement[bool]]:
    """The reader's sharing filter and their own filters, as SQL any report query can AND."""
    where: list[ColumnElement[bool]] = [sharing.visible(principal, Report.id)]
    if filters.category:
        where.append(Report.category.in_(categories(session, filters.category)))
    if filters.country:
        where.append(Report.country == filters.country.upper())
    if filters.tlp:
        where.append(Report.tlp == filters.tlp)
    if filters.since:
        where.append(Report.occurred_at >= filters.since)
    if filters.until:
        where.append(Report.occurred_at < filters.until)
    if not filters.include_revoked:
        where.append(Report.revoked.is_(False))
    if filters.observable:
        values = candidate_values(filters.observable, principal.member_state)
        where.append(
            exists(
                select(ReportObservable.report_id).where(
                    ReportObservable.report_id == Report.id, ReportObservable.value.in_(values)
                )
            )
        )
    if filters.q:
        where.append(search.condition(session, filters.q, principal.keys))
    return where


def candidate_values(raw: str, region: str | None = None) -> list[str]:
    """Every normal form a user's typed observable could take, so a filter finds it.

    A national spelling (a phone number without its country code) is read in
    `region`, the searcher's own state.
    """
    values = {raw.strip(), raw.strip().lower()}
    kind, sep, rest = raw.partition(":")
    if sep and kind in OBSERVABLE_TYPES:
        values.add(rest.strip())
        with contextlib.suppress(ObservableError):  # not typed after all: raw forms still apply
            values.add(normalize(kind, rest, region))
    for kind in OBSERVABLE_TYPES:
        try:
            values.add(normalize(kind, raw, region))
        except ObservableError:
            continue  # most types reject most values; only the ones that accept it count
    return sorted(values)


def get_all(
    session: Session,
    *,
    principal: Principal,
    filters: Filters,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Report], str | None]:
    """A page of the reports the principal may read, newest change first."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError.field("limit", f"must be between 1 and {MAX_PAGE}, not {limit}.")
    where = conditions(session, principal, replace(filters, q=None))
    if cursor:
        stamp, last_id = paging.decode(cursor)
        where.append(_before(stamp, last_id))
    found = search.match(session, filters.q, principal.keys) if filters.q else None
    rows = _page(session, where, found, limit)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, paging.encode(rows[-1].modified, rows[-1].id) if more and rows else None


def _page(
    session: Session, where: list[ColumnElement[bool]], found: search.Match | None, limit: int
) -> list[Report]:
    """Up to limit + 1 rows in page order; for a common word, from its newest matches first.

    The newest matches make the page when the walk that found them passed no report
    whose document is older than theirs: then the older matches, which that page left
    out, all lie beyond it in the page order.
    """
    if found is not None and found.newest is not None:
        rows = _rows(session, [*where, found.newest], limit)
        if len(rows) > limit and not _passed_older(session, where, rows[-1], found.floor):
            return rows
    return _rows(session, [*where, found.every] if found else where, limit)


def _rows(session: Session, where: list[ColumnElement[bool]], limit: int) -> list[Report]:
    query = select(Report).where(*where).order_by(Report.modified.desc(), Report.id.desc())
    return list(session.scalars(query.limit(limit + 1)))


def _passed_older(
    session: Session, where: list[ColumnElement[bool]], last: Report, floor: int
) -> bool:
    """Whether a report up to `last` in page order (and `where`) has a doc_id below `floor`."""
    up_to_last = and_(
        Report.modified >= last.modified,
        or_(Report.modified > last.modified, Report.id >= last.id),
    )
    query = (
        select(Report.id)
        .where(*where, up_to_last, Report.doc_id + 0 < floor)
        .order_by(Report.modified.desc(), Report.id.desc())
        .limit(1)
    )
    return session.scalar(query) is not None


def _before(stamp: datetime, report_id: str) -> ColumnElement[bool]:
    """After the cursor in page order; `modified <= stamp` bounds the index walk."""
    return and_(
        Report.modified <= stamp,
        or_(Report.modified < stamp, Report.id < report_id),
    )


COUNTABLE = {
    "category": Report.category,
    "country": Report.country,
    "tlp": Report.tlp,
    "severity": Report.severity,
}


def counts(
    session: Session, *, principal: Principal, by: str, filters: Filters
) -> list[tuple[str, int]]:
    """Live reports the principal may read, counted by one field.

    From the tallies kept on write (`rsn.reports.tallies`) whenever they can answer:
    no words or observable asked for, and the period in whole UTC days. Otherwise
    counted live, under the same sharing filter.
    """
    return counts_by(session, principal=principal, fields=(by,), filters=filters)[by]


def counts_by(
    session: Session, *, principal: Principal, fields: Sequence[str], filters: Filters
) -> dict[str, list[tuple[str, int]]]:
    """`counts` by each of several fields; from the tallies in one pass when they can answer."""
    for by in fields:
        if by not in COUNTABLE:
            raise ValidationError.field("by", f"'{by}' is not one of {', '.join(COUNTABLE)}.")
    days = _whole_days(filters.since), _whole_days(filters.until)
    tallied = not filters.q and not filters.observable
    if tallied and (filters.since is None or days[0]) and (filters.until is None or days[1]):
        return tallies.counts_by(
            session,
            principal=principal,
            fields=fields,
            categories=categories(session, filters.category) if filters.category else None,
            country=filters.country.upper() if filters.country else None,
            tlp=filters.tlp,
            since=days[0],
            until=days[1],
        )
    return {by: live_counts(session, principal=principal, by=by, filters=filters) for by in fields}


def live_counts(
    session: Session, *, principal: Principal, by: str, filters: Filters
) -> list[tuple[str, int]]:
    """The same counts from the reports themselves: for words and observables, and the
    statement the tallies are held to (`tests/reports/test_tallies.py`)."""
    col = COUNTABLE[by]
    where = conditions(session, principal, replace(filters, include_revoked=False))
    rows = session.execute(select(col, func.count()).where(*where).group_by(col))
    return sorted((str(k), int(n)) for k, n in rows)  # by code point, as the tallies sort


def _whole_days(at: datetime | None) -> date | None:
    """The UTC day starting at `at`, when `at` is a midnight UTC (what the tallies keep)."""
    if at is None:
        return None
    utc = at.astimezone(UTC)
    return utc.date() if utc.time() == time() else None
