"""Cross-report correlation on shared observables, seen only through the reader's keys.

A live report's observables are indexed once per audience key of the report. A
reader looks a value up with their own keys, so every row touched is one they may
see: no count, no "hidden match" and no timing depends on what is hidden from them.
A value held by more than `threshold` reports that the reader may see (the one
being read included) is "common" and stops correlating for that reader, as MISP
stops noisy values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, delete, insert, select
from sqlalchemy.orm import Session

from rsn import events, sharing
from rsn.fusion.models import CorrelationEntry
from rsn.reports.events import ReportsChanging, ReportsWritten
from rsn.reports.models import Report, ReportObservable
from rsn.reports.service import Loaded
from rsn.sharing import Principal, SharingGrant
from rsn.store.bulk import insert_plain

DEFAULT_THRESHOLD = 20
MAX_VALUES_PER_READ = 100


@dataclass(frozen=True)
class Match:
    report_id: str
    observable_type: str
    value: str


@dataclass(frozen=True)
class Correlations:
    matches: list[Match]
    common: list[tuple[str, str]]


@dataclass(frozen=True)
class Indexed:
    """One report's part of the index: its observables under each of its audience keys."""

    report_id: str
    observables: Sequence[tuple[str, str]]
    keys: frozenset[str]
    live: bool


def reindex(session: Session, items: Sequence[Indexed]) -> None:
    """Add the reports' index rows; a revoked report correlates with nothing.

    A report that had rows is `forget`-ed first, while its old observables and
    grants are still stored. Reports written in a staged batch (`sharing.staging`)
    are indexed when the batch is published (`index_published`): rows under their
    keys would show them to readers before then.
    """
    if sharing.staging(session) is not None:
        return
    rows = [
        {"type": t, "value": v, "key": k, "report_id": item.report_id}
        for item in items
        if item.live
        for t, v, k in sorted({(t, v, k) for t, v in item.observables for k in item.keys})
    ]
    insert_plain(session.connection(), CorrelationEntry, rows)


_FORGET = delete(CorrelationEntry).where(
    CorrelationEntry.type == bindparam("t"),
    CorrelationEntry.value == bindparam("v"),
    CorrelationEntry.key == bindparam("k"),
    CorrelationEntry.report_id == bindparam("r"),
)


def forget(session: Session, report_ids: Sequence[str]) -> None:
    """Remove the reports' index rows, found by their whole primary key.

    The rows were written from the stored observables and audience keys, so those
    name every row exactly. The index has no second index by report, which each
    filing would have to keep up (a tenth of the pages it wrote) for the sake of
    edits and revocations alone.
    """
    if not report_ids or sharing.staging(session) is not None:
        return
    ids = list(report_ids)
    values = session.execute(
        select(ReportObservable.report_id, ReportObservable.type, ReportObservable.value).where(
            ReportObservable.report_id.in_(ids)
        )
    ).all()
    keys: dict[str, list[str]] = {}
    for item_id, key in session.execute(
        select(SharingGrant.item_id, SharingGrant.key).where(SharingGrant.item_id.in_(ids))
    ):
        keys.setdefault(item_id, []).append(key)
    rows = [
        {"t": t, "v": v, "k": k, "r": r}
        for r, t, v in dict.fromkeys(values)
        for k in keys.get(r, [])
    ]
    if rows:
        session.connection().execute(_FORGET, rows)


@events.during(ReportsChanging)
def _on_changing(session: Session, changing: ReportsChanging) -> None:
    forget(session, changing.report_ids)


@events.during(ReportsWritten)
def _on_written(session: Session, written: ReportsWritten) -> None:
    reindex(
        session,
        [Indexed(w.report_id, w.observables, w.keys, w.live) for w in written.items],
    )


def index_published(session: Session, report_ids: Select[Any]) -> None:
    """Index the reports of a batch just published, from their stored observables and grants.

    The same rows `reindex` writes (each live report's observables under each of its
    keys), in one statement, in the transaction that publishes the batch.
    """
    rows = (
        select(ReportObservable.type, ReportObservable.value, SharingGrant.key, Report.id)
        .join(Report, Report.id == ReportObservable.report_id)
        .join(SharingGrant, SharingGrant.item_id == Report.id)
        .where(Report.id.in_(report_ids), Report.revoked.is_(False))
        .distinct()
    )
    session.connection().execute(
        insert(CorrelationEntry).from_select(["type", "value", "key", "report_id"], rows)
    )


def correlations(
    session: Session,
    *,
    principal: Principal,
    report_id: str,
    observables: Sequence[tuple[str, str]],
    threshold: int = DEFAULT_THRESHOLD,
) -> Correlations:
    """The reader-visible reports sharing an observable with `report_id`."""
    matches: list[Match] = []
    common: list[tuple[str, str]] = []
    for kind, value in list(dict.fromkeys(observables))[:MAX_VALUES_PER_READ]:
        found = session.scalars(
            select(CorrelationEntry.report_id)
            .where(
                CorrelationEntry.type == kind,
                CorrelationEntry.value == value,
                sharing.holds(principal, CorrelationEntry.key),
                CorrelationEntry.report_id != report_id,
            )
            .distinct()
            .limit(threshold)
        ).all()
        if len(found) + 1 > threshold:
            common.append((kind, value))
            continue
        matches.extend(Match(r, kind, value) for r in sorted(found))
    return Correlations(matches=matches, common=common)


def attach(session: Session, *, principal: Principal, item: Loaded, threshold: int) -> None:
    """A report read whole: its correlations, and which of them disclose to this reader."""
    if item.report.revoked:
        return
    item.correlations = correlations(
        session,
        principal=principal,
        report_id=item.report.id,
        observables=item.observables,
        threshold=threshold,
    )
    ids = [m.report_id for m in item.correlations.matches]
    if not ids:
        return
    found = session.execute(
        select(Report.id, Report.tlp, Report.originator_user_id).where(Report.id.in_(ids))
    )
    item.disclosed_matches = sorted(
        rid
        for rid, tlp, originator in found
        if sharing.discloses(principal, tlp=tlp, originator_user_id=originator)
    )
