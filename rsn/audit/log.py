"""Appending, chaining and verifying the audit log.

Records are appended inside the transaction that did the work, unchained, so a
read never waits on the chain. `chain` then links the committed tail in one short
transaction: each record gets the next `chain_seq` and a hash over its canonical
content and the hash before it. `verify` walks the chained prefix and reports the
unchained tail apart.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from rsn.audit.models import AuditRecord
from rsn.store import Database, utcnow

GENESIS = "0" * 64
CHAIN_LOCK_ID = 0x52534E41  # "RSNA": the PostgreSQL advisory lock of the chainer
BATCH = 2000


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    item_ids: Iterable[str] = (),
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one record to the log, in the caller's transaction; ids, never content."""
    row = {
        "at": utcnow(),
        "actor": actor,
        "action": action,
        "item_ids": list(item_ids),
        "detail": detail or {},
    }
    session.connection().execute(insert(AuditRecord), [row])


def record_many(
    session: Session, *, action: str, entries: Iterable[tuple[str, Sequence[str]]]
) -> None:
    """One record per (actor, item ids), appended in one statement: a bulk load's trail.

    Statement overhead, not the rows, is what a record per report costs in a load
    of thousands; the records and their order are those of one `record` call each.
    """
    at = utcnow()
    rows = [
        {"at": at, "actor": actor, "action": action, "item_ids": list(ids), "detail": {}}
        for actor, ids in entries
    ]
    if rows:
        session.connection().execute(insert(AuditRecord), rows)


def canonical(row: AuditRecord) -> bytes:
    """The bytes a record's hash covers: every field but the hash itself."""
    body = {
        "id": row.id,
        "chain_seq": row.chain_seq,
        "at": row.at.isoformat(timespec="microseconds"),
        "actor": row.actor,
        "action": row.action,
        "item_ids": row.item_ids,
        "detail": row.detail,
        "prev_hash": row.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(row: AuditRecord) -> str:
    return hashlib.sha256(canonical(row)).hexdigest()


def chain(db: Database) -> int:
    """Link every committed, unchained record; returns how many were linked."""
    linked = 0
    while True:
        with db.session(write=True) as session:
            if db.dialect == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHAIN_LOCK_ID})
            last = session.scalar(
                select(AuditRecord)
                .where(AuditRecord.chain_seq.is_not(None))
                .order_by(AuditRecord.chain_seq.desc())
                .limit(1)
            )
            seq, prev = (last.chain_seq or 0, last.hash) if last else (0, GENESIS)
            tail = session.scalars(
                select(AuditRecord)
                .where(AuditRecord.chain_seq.is_(None))
                .order_by(AuditRecord.id)
                .limit(BATCH)
            ).all()
            for row in tail:
                seq += 1
                row.chain_seq, row.prev_hash = seq, prev
                row.hash = prev = digest(row)
            linked += len(tail)
        if len(tail) < BATCH:
            return linked


@dataclass(frozen=True)
class Verdict:
    """What `verify` found: intact or not, the first bad record, and the unchained tail."""

    ok: bool
    checked: int
    unchained: int
    bad_record: int | None = None
    reason: str | None = None


def verify(db: Database) -> Verdict:
    """Walk the chained prefix in order, recomputing every hash."""
    with db.session() as session:
        unchained = (
            session.scalar(
                select(func.count()).select_from(AuditRecord).where(AuditRecord.chain_seq.is_(None))
            )
            or 0
        )
        prev, expected_seq, checked = GENESIS, 1, 0
        result = session.execute(
            select(AuditRecord)
            .where(AuditRecord.chain_seq.is_not(None))
            .order_by(AuditRecord.chain_seq)
            .execution_options(yield_per=BATCH)
        )
        with result:
            for row in result.scalars():
                problem = _problem(row, expected_seq, prev)
                if problem:
                    return Verdict(False, checked, unchained, row.id, problem)
                prev, expected_seq, checked = row.hash or "", expected_seq + 1, checked + 1
    return Verdict(True, checked, unchained)


def _problem(row: AuditRecord, expected_seq: int, prev: str) -> str | None:
    if row.chain_seq != expected_seq:
        return f"chain position {expected_seq} is missing (a record was removed before it)"
    if row.prev_hash != prev:
        return "its previous-hash does not match the record before it"
    if row.hash != digest(row):
        return "its content does not match its hash (it was changed)"
    return None
