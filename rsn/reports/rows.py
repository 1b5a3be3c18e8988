"""The rows a report version is made of, written with Core statements.

A version is the report row plus what derives from it: the snapshot (with
grants of its own, the same keys as the report's when written), the audience
grants and the observables, written here; the correlation index (`rsn.fusion`) and
the search document (`rsn.reports.search`) are written by their own modules, which
subscribe to `ReportsChanging` and `ReportsWritten` in the same transaction. Writing
all of it as a handful of multi-row INSERTs (not ORM objects, not flush cycles) is
what lets a node ingest thousands of reports a second.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from rsn import events, sharing
from rsn.reports.events import ReportsChanging, ReportsWritten, Written
from rsn.reports.models import Report, ReportObservable, ReportVersion
from rsn.store import new_id
from rsn.store.bulk import insert_plain

COLUMNS = tuple(c.key for c in Report.__table__.columns)
REPORT_KIND = "report"  # the kinds of item a report's grants are filed under
VERSION_KIND = "report-version"


def values_of(report: Report) -> dict[str, Any]:
    """A stored report as the plain mapping the writers and snapshots take."""
    return {name: getattr(report, name) for name in COLUMNS}


def _ts(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="milliseconds")


def snapshot(report: Mapping[str, Any], observables: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """A version as plain JSON: every field a reader may see, exactly as stored."""
    lat, lon = report["lat"], report["lon"]
    return {
        "title": report["title"],
        "category": report["category"],
        "description": report["description"],
        "occurred_at": _ts(report["occurred_at"]),
        "country": report["country"],
        "location": None if lat is None or lon is None else {"lat": lat, "lon": lon},
        "sea_area": report["sea_area"],
        "severity": report["severity"],
        "confidence": report["confidence"],
        "source_reliability": report["source_reliability"],
        "information_credibility": report["information_credibility"],
        "tlp": report["tlp"],
        "distribution": report["distribution"],
        "observables": [{"type": t, "value": v} for t, v in observables],
        "source_identity": report["source_identity"],
        "created": _ts(report["created"]),
        "modified": _ts(report["modified"]),
        "revoked": report["revoked"],
        "revoked_reason": report["revoked_reason"],
        "revoked_at": _ts(report["revoked_at"]),
    }


@dataclass(frozen=True)
class Version:
    """One version to write: the report's values and what comes with them."""

    report: Mapping[str, Any]
    observables: Sequence[tuple[str, str]]
    distribution: sharing.Distribution
    submitted_by: str


def insert_reports(session: Session, reports: Sequence[Mapping[str, Any]]) -> None:
    if reports:
        session.connection().execute(insert(Report), [dict(r) for r in reports])


def write_versions(
    session: Session, versions: Sequence[Version], *, now: datetime, fresh: bool
) -> None:
    """Everything derived from each current version, in a few multi-row statements.

    `fresh` says the reports are new, so there are no old rows to clear first.
    """
    if not versions:
        return
    conn = session.connection()
    markings = {v.report["id"]: _marking(v) for v in versions}
    if not fresh:
        ids = list(markings)
        events.publish(session, ReportsChanging(tuple(ids)))  # old rows still stand
        conn.execute(delete(ReportObservable).where(ReportObservable.report_id.in_(ids)))
    keys = sharing.share_many(session, kind=REPORT_KIND, items=markings, fresh=fresh)
    observables = [
        {"report_id": v.report["id"], "position": i, "type": t, "value": val}
        for v in versions
        for i, (t, val) in enumerate(v.observables)
    ]
    insert_plain(conn, ReportObservable, observables)
    written = tuple(_written(v, keys[v.report["id"]], fresh=fresh) for v in versions)
    events.publish(session, ReportsWritten(written, fresh))  # the indexes subscribe
    if not fresh:
        _doc_ids_renewed(session, versions)
    version_rows = [_version_row(v, now) for v in versions]
    sharing.share_like(  # a version reads under the keys of the marking it was written with
        session,
        kind=VERSION_KIND,
        items={row["item_id"]: keys[row["report_id"]] for row in version_rows},
        fresh=True,
    )
    conn.execute(insert(ReportVersion), version_rows)


def _marking(v: Version) -> sharing.Marking:
    """The version's marking; a draft's or a pending report's opens narrower (`sharing`)."""
    return sharing.Marking(
        v.report["tlp"],
        v.distribution,
        originator_user_id=v.report["originator_user_id"],
        originator_org_id=v.report["originator_org_id"],
        status=v.report["status"],
    )


def _written(v: Version, keys: frozenset[str], *, fresh: bool) -> Written:
    """The version as its indexes take it; a replacing version's document gets its `seq`.

    A new report was inserted with `doc_id` equal to its `seq` already.
    """
    r = v.report
    return Written(
        report_id=r["id"],
        doc_id=r["doc_id" if fresh else "seq"],
        title=r["title"],
        description=r["description"],
        observables=v.observables,
        keys=keys,
        live=not r["revoked"],
        category=r["category"],
        country=r["country"] or "",
        occurred_at=r["occurred_at"],
        severity=r["severity"] or "",
        tlp=r["tlp"],
    )


def _doc_ids_renewed(session: Session, versions: Sequence[Version]) -> None:
    """Tell reports already loaded in the session the `doc_id` the store now has."""
    mapper = inspect(Report)
    for v in versions:
        loaded = session.identity_map.get(mapper.identity_key_from_primary_key((v.report["id"],)))
        if loaded is not None:
            set_committed_value(loaded, "doc_id", v.report["seq"])


def _version_row(v: Version, now: datetime) -> dict[str, Any]:
    r = v.report
    return {
        "report_id": r["id"],
        "version": r["version"],
        "seq": r["seq"],
        "date_added": now,
        "modified": r["modified"],
        "submitted_by": v.submitted_by,
        "snapshot": snapshot(r, v.observables),
        "item_id": new_id(),
    }
