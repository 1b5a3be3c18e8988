"""Walking a collection in commit order: the reports a page needs, and their dated objects.

The walk reads reports `seq` by `seq` from a cursor, through `rsn.sharing.visible`
(and, in a sharing group's collection, the group's key), a chunk at a time, and
turns each into its STIX objects with `rsn.interop.stix`. Its cost depends on
the page, not on how large the collection is: every query is a bounded range of
an index, and a request looks at no more than a budget of reports.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rsn import sharing
from rsn.interop import outbound, stix
from rsn.interop.model import ExportContext, ExportItem
from rsn.interop.models import KeptObject
from rsn.interop.stix.ext import RSN_IDENTITY, SCO_TYPES
from rsn.reports.models import Report, ReportVersion
from rsn.sharing import Principal
from rsn.taxii import filters
from rsn.taxii.filters import Cursor, Entry, Match

OBJECTS_PER_REPORT = 8  # a guess for the first fetch: a report with two observables
MAX_CHUNK = 256
SCAN_BUDGET = 500  # reports one request looks through before it answers `more` anyway
SLACK = timedelta(hours=1)  # the longest a writer may wait for its commit numbers
# Types of the objects RSN makes from a report; any other id can only be a kept object.
DERIVED_TYPES = frozenset({"identity", "location", "indicator", "relationship"}) | SCO_TYPES


@dataclass(frozen=True)
class Walk:
    """One request's walk: who asks, in which group's collection (if any), what for."""

    principal: Principal
    group_id: str | None
    match: Match
    context: ExportContext
    holders: list[str] | None = None  # when known, the only reports that may hold match.ids


@dataclass(frozen=True)
class Block:
    """One report's objects as the filters leave them; `stop` marks a spent scan budget."""

    seq: int
    entries: list[Entry]
    item: ExportItem | None = None
    stop: bool = False


def blocks(session: Session, walk: Walk, after: Cursor, limit: int) -> Iterator[Block]:
    """The node's definitions (at seq 0), then each readable report in `seq` order.

    The first fetch is sized to fill the page, each later one is twice the last,
    until the scan budget is spent.
    """
    if after.seq == 0:
        yield Block(0, filters.select(definitions(), walk.match))
    from_seq, scanned = max(after.seq, 1), 0
    if walk.match.added_after is not None:
        from_seq = max(from_seq, _first_seq_after(session, walk.match.added_after))
    chunk, budget = min(limit // OBJECTS_PER_REPORT + 2, MAX_CHUNK), max(SCAN_BUDGET, limit)
    versions: outbound.Versions = "all" if walk.match.every_version else "last"
    while scanned < budget:
        reports = _reports(session, walk, from_seq, chunk)
        items = outbound.build(session, walk.principal, reports, versions=versions)
        for report, item in zip(reports, items, strict=True):
            entries = _entries(item, walk.context, versions)
            yield Block(report.seq, filters.select(entries, walk.match), item)
        if len(reports) < chunk:
            return
        from_seq, scanned = reports[-1].seq + 1, scanned + len(reports)
        chunk = min(chunk * 2, MAX_CHUNK)
    yield Block(from_seq, [], stop=True)


def holders(session: Session, ids: frozenset[str]) -> list[str] | None:
    """The reports that may hold these object ids, when every id tells; None when one does not.

    A report object's id names its report, and an object of a type RSN never
    derives can only be a kept object (indexed by id); SCOs, indicators and the
    like are derived from observables and have no index, so they are looked for.
    """
    named = []
    for ident in ids:
        kind, _, tail = ident.partition("--")
        if kind == "report":
            named.append(tail)
        elif kind in DERIVED_TYPES:
            return None
    kept = select(KeptObject.report_id).where(KeptObject.object_id.in_(sorted(ids)))
    return sorted({*named, *session.scalars(kept)})


def _reports(session: Session, walk: Walk, from_seq: int, chunk: int) -> list[Report]:
    query = outbound.visible_reports(walk.principal).where(Report.seq >= from_seq)
    if walk.group_id is not None:
        query = query.where(sharing.shared_with_group(walk.group_id, Report.id))
    if walk.holders is not None:
        query = query.where(Report.id.in_(walk.holders))
    if walk.match.added_after is not None:
        query = query.join(ReportVersion, ReportVersion.seq == Report.seq).where(
            ReportVersion.date_added > walk.match.added_after
        )
    return list(session.scalars(query.limit(chunk)))


def _first_seq_after(session: Session, when: datetime) -> int:
    """A commit number below which no version was added after `when`, found by bisection.

    A writer stamps date_added just before it takes its commit numbers, so dates
    rise with `seq` except where writers queued for the counter; SLACK covers the
    longest such wait. So `added_after` starts its walk near the first new report
    instead of probing every older one.
    """
    lo, hi = session.execute(select(func.min(ReportVersion.seq), func.max(ReportVersion.seq))).one()
    if lo is None:
        return 1
    target = when - SLACK
    while lo < hi:
        mid = (lo + hi) // 2
        added = session.scalar(
            select(ReportVersion.date_added)
            .where(ReportVersion.seq >= mid)
            .order_by(ReportVersion.seq)
            .limit(1)
        )
        if added is not None and added > target:
            hi = mid
        else:
            lo = mid + 1
    return int(lo)


def _entries(item: ExportItem, context: ExportContext, versions: outbound.Versions) -> list[Entry]:
    """A report's objects, each dated: an older version's object by that version's date_added.

    Everything else came (again) with the current version, so it carries that
    version's date, and a client that asks `added_after` gets it once more only
    when the report changed.
    """
    current = item.versions[-1].date_added
    older = {_instant(v.snapshot.get("modified")): v.date_added for v in item.versions[:-1]}
    older.pop(None, None)
    out = []
    for obj in stix.objects_for(item, context, versions=versions):
        added = older.get(_instant(obj.get("modified")), current) if older else current
        out.append(filters.entry(obj, added))
    return out


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:  # not a timestamp: then it names no version of the report
        return None


@functools.cache
def definitions() -> list[Entry]:
    """The TLP 2.0 markings, RSN's extension definitions and their publisher, served first.

    They are dated by the earliest of their timestamps, before any report, so
    dates rise along the collection and `added_after` pulls skip them.
    """
    objs = [*stix.MARKINGS.values(), RSN_IDENTITY, *stix.extension_definitions()]
    stamps = [_instant(o.get("modified") or o.get("created")) for o in objs]
    added = min(s for s in stamps if s is not None)
    return [filters.entry(dict(o), added) for o in objs]
