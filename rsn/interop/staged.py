"""A long import in chunks that other writers interleave with, visible all at once.

SQLite has one writer at a time. An import that held the write lock from its first
row to its last (a minute for 200,000 rows) made every other writer wait it out and
fail, and every reader too, as checking a token notes when it was last used. So an
import here goes in four steps:

1. Read and check the whole file, in a read transaction: a bad object anywhere
   refuses it before anything is written or any lock is taken.
2. Write its new reports in chunks of `CHUNK` items, each its own short
   transaction, pausing between them so waiting writers get the store. The chunks'
   grants are held back (`rsn.sharing.staging`): their reports are stored but open
   to nobody, and their correlation index is not written yet.
3. In one transaction, apply the updates to reports the importer's organization
   already holds, then publish: grants in, correlation index built, commit numbers
   and dates moved past everything committed meanwhile (so a TAXII reader paging in
   commit order still meets them). A dry run rolls this step back instead.
4. On any failure, or a dry run, remove what the chunks wrote.

An import cut short by a crash leaves its chunks open to nobody; the next import,
or the node's next start, removes them once their heartbeat is `STALE`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from itertools import islice

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from rsn import audit, events, fusion, sharing
from rsn.interop import ingest
from rsn.interop.model import Incoming
from rsn.interop.models import StagedImport, StagedReport
from rsn.reports import search, service, tallies
from rsn.reports.events import ReportFiled
from rsn.reports.models import Report, ReportVersion
from rsn.sharing import Principal
from rsn.store import Database, new_id, utcnow
from rsn.store.db import LONG_WAIT

log = logging.getLogger("rsn.interop.staged")

CHUNK = 1000  # items a chunk writes: ~0.2 s of the lock on this machine
DISCARD_CHUNK = 2000  # reports a clean-up transaction removes
STALE = timedelta(minutes=10)  # a heartbeat this old: the import was cut short

Items = Callable[[], Iterable[Incoming]]


class _DryRun(Exception):
    """Rolls the publishing transaction back: a dry run shows what would happen, keeps nothing."""


@dataclass
class Staged:
    """What an import staged so far: its id, and the updates left for the end."""

    import_id: str
    summary: ingest.Summary
    deferred: dict[int, str]


def run(
    db: Database,
    *,
    principal: Principal,
    items: Items,
    format_name: str,
    dry_run: bool = False,
    then: Callable[[Session, ingest.Summary], None] | None = None,
) -> ingest.Summary:
    """Import what `items` reads (called afresh for each pass over the file), as `principal`.

    `items()` must yield the same objects each time it is called: the file is read
    once to check it, once to write it, and once more only when it updates reports.
    `then` runs in the publishing transaction, for a record that must go with it
    (a TAXII status).
    """
    with db.session() as session:
        ingest.check(session, principal=principal, items=items())
    discard_stale(db)
    staged = _begin(db, principal, format_name)
    try:
        _write_chunks(db, principal, items, staged)
        started = time.monotonic()
        with db.session(write=True, wait=LONG_WAIT) as session:
            _update_deferred(session, principal, items, staged)
            if dry_run:
                raise _DryRun
            _publish(session, principal, staged.import_id)
            if then is not None:
                then(session, staged.summary)
        log.info(
            "import %s published: %d created, %d updated; the publishing transaction took %.3f s",
            staged.import_id,
            staged.summary.created,
            staged.summary.updated,
            time.monotonic() - started,
        )
    except _DryRun:
        discard(db, staged.import_id, reason="dry run")
    except BaseException:
        discard(db, staged.import_id, reason="refused or failed")
        raise
    return staged.summary


def _begin(db: Database, principal: Principal, format_name: str) -> Staged:
    now = utcnow()
    import_id = new_id()
    with db.session(write=True) as session:  # a node too busy to begin says so (Busy)
        session.add(
            StagedImport(
                id=import_id,
                user_id=principal.user_id,
                format=format_name,
                started_at=now,
                heartbeat_at=now,
            )
        )
    return Staged(import_id, ingest.Summary(), {})


def _write_chunks(db: Database, principal: Principal, items: Items, staged: Staged) -> None:
    stream = iter(items())
    offset = 0
    while chunk := list(islice(stream, CHUNK)):
        with (
            db.session(write=True, wait=LONG_WAIT) as session,
            sharing.staged(session, staged.import_id),
        ):
            created = ingest.stage(
                session,
                principal=principal,
                items=chunk,
                summary=staged.summary,
                deferred=staged.deferred,
                offset=offset,
            )
            session.add_all(
                StagedReport(report_id=rid, import_id=staged.import_id) for rid in created
            )
            session.execute(
                update(StagedImport)
                .where(StagedImport.id == staged.import_id)
                .values(heartbeat_at=utcnow())
            )
        offset += len(chunk)
        db.let_writers_in()


def _update_deferred(session: Session, principal: Principal, items: Items, staged: Staged) -> None:
    if not staged.deferred:
        return
    wanted = staged.deferred
    picked = (
        (item, wanted[position]) for position, item in enumerate(items()) if position in wanted
    )
    ingest.update_deferred(session, principal=principal, items=picked, summary=staged.summary)


def _publish(session: Session, principal: Principal, import_id: str) -> None:
    """Open the whole import to its readers, in the caller's (short) transaction."""
    reports = select(StagedReport.report_id).where(StagedReport.import_id == import_id)
    sharing.publish_staged(session, import_id)
    if session.scalar(reports.limit(1)) is not None:
        fusion.index_published(session, reports)
        tallies.index_published(session, reports)
        service.renumber_published(session, reports, now=utcnow())
        # Filed now, for whoever reacts to new reports (their chunks published nothing).
        ids = list(session.scalars(reports.order_by(StagedReport.report_id)))
        for start in range(0, len(ids), CHUNK):
            events.publish(session, ReportFiled(tuple(ids[start : start + CHUNK])))
    session.execute(delete(StagedImport).where(StagedImport.id == import_id))
    audit.record(
        session,
        actor=principal.username,
        action="import.published",
        detail={"import_id": import_id},
    )


def discard(db: Database, import_id: str, *, reason: str) -> int:
    """Remove what a staged import wrote, a chunk at a time; how many reports went."""
    removed = 0
    while True:
        with db.session(write=True, wait=LONG_WAIT) as session:
            ids = list(
                session.scalars(
                    select(StagedReport.report_id)
                    .where(StagedReport.import_id == import_id)
                    .limit(DISCARD_CHUNK)
                )
            )
            if not ids:
                _forget_import(session, import_id, removed, reason)
                return removed
            _remove_reports(session, ids)
            removed += len(ids)
        db.let_writers_in()


def _remove_reports(session: Session, ids: list[str]) -> None:
    versions = list(
        session.scalars(select(ReportVersion.item_id).where(ReportVersion.report_id.in_(ids)))
    )
    sharing.discard_staged(session, [*ids, *versions])
    search.drop(session, ids)
    session.execute(delete(Report).where(Report.id.in_(ids)))  # versions, observables: cascade
    session.execute(delete(StagedReport).where(StagedReport.report_id.in_(ids)))


def _forget_import(session: Session, import_id: str, removed: int, reason: str) -> None:
    found = session.get(StagedImport, import_id)
    if found is None:
        return
    session.delete(found)
    audit.record(
        session,
        actor="rsn",
        action="import.discarded",
        detail={"import_id": import_id, "reports": removed, "reason": reason},
    )


def discard_stale(db: Database) -> int:
    """Remove the imports cut short (no heartbeat for `STALE`); how many there were."""
    with db.session() as session:
        cut_short = list(
            session.scalars(
                select(StagedImport.id).where(StagedImport.heartbeat_at < utcnow() - STALE)
            )
        )
    for import_id in cut_short:
        removed = discard(db, import_id, reason="cut short")
        log.warning("removed %d reports of import %s, cut short", removed, import_id)
    return len(cut_short)
