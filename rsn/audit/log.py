"""Appending, chaining and verifying the audit log.

Records are appended inside the transaction that did the work, unchained, so a
read never waits on the chain; each is sealed as it is written with a MAC under the
node's key file (`rsn.audit.keys`). `chain` then links the committed tail in one
short transaction: each record whose seal holds gets the next `chain_seq`, a hash
over its canonical content and the hash before it, and a MAC over both; a record
whose seal does not hold was not written by the node and is refused, never linked.
`verify` walks the chained prefix, checks it against the signed checkpoints, and
reports the unchained tail apart.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from rsn import events
from rsn.audit import checkpoints as checkpoints_service
from rsn.audit.checkpoints import Checkpoint
from rsn.audit.keys import AuditKeys
from rsn.audit.models import AuditRecord
from rsn.store import Database, utcnow

log = logging.getLogger("rsn.audit")

GENESIS = "0" * 64
CHAIN_LOCK_ID = 0x52534E41  # "RSNA": the PostgreSQL advisory lock of the chainer
BATCH = 2000
KEYS = "rsn.audit.keys"  # where a database's sessions carry the audit keys
INSERTED, LINKED = b"rsn-audit-insert", b"rsn-audit-link"


def attach(db: Database, keys: AuditKeys) -> None:
    """Every record written through `db` from now on is sealed with `keys`."""
    db.info[KEYS] = keys


def keys_of(db: Database) -> AuditKeys:
    keys = db.info.get(KEYS)
    if not isinstance(keys, AuditKeys):
        raise RuntimeError("no audit keys attached to this database (rsn.node.open_database)")
    return keys


@dataclass(frozen=True)
class AuditRecorded(events.Event):
    """Records were appended: once committed, the chainer should link them soon."""

    name = "audit.recorded"


RECORDED = AuditRecorded()


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
    session.connection().execute(insert(AuditRecord), [_sealed(session, row)])
    events.publish(session, RECORDED)


def record_many(
    session: Session, *, action: str, entries: Iterable[tuple[str, Sequence[str]]]
) -> None:
    """One record per (actor, item ids), appended in one statement: a bulk load's trail.

    Statement overhead, not the rows, is what a record per report costs in a load
    of thousands; the records and their order are those of one `record` call each.
    """
    at = utcnow()
    rows = [
        _sealed(session, {"at": at, "actor": actor, "action": action, "item_ids": list(ids)})
        for actor, ids in entries
    ]
    if rows:
        session.connection().execute(insert(AuditRecord), rows)
        events.publish(session, RECORDED)


def _sealed(session: Session, row: dict[str, Any]) -> dict[str, Any]:
    """The row with its nonce and insert-time MAC; unsealed (to be refused) without keys."""
    row.setdefault("detail", {})
    keys = session.info.get(KEYS)
    if not isinstance(keys, AuditKeys):
        return {**row, "nonce": None, "mac": None}
    nonce = secrets.token_hex(16)
    body = _content(row["at"], row["actor"], row["action"], row["item_ids"], row["detail"], nonce)
    return {**row, "nonce": nonce, "mac": keys.mac(INSERTED, body), "key_id": keys.mac_key_id}


def _content(
    at: datetime, actor: str, action: str, item_ids: Any, detail: Any, nonce: str | None
) -> bytes:
    body = {
        "at": at.isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "item_ids": item_ids,
        "detail": detail,
        "nonce": nonce,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def insert_mac(keys: AuditKeys, row: AuditRecord) -> str:
    """The seal of an unchained record: only the current key seals the tail."""
    if row.key_id != keys.mac_key_id:
        return ""
    return keys.mac(
        INSERTED, _content(row.at, row.actor, row.action, row.item_ids, row.detail, row.nonce)
    )


def link_mac(keys: AuditKeys, row: AuditRecord) -> str:
    """The MAC of a chained record: its content, its place, and its nonce, under its key."""
    body = canonical(row) + b"\0" + (row.nonce or "").encode()
    return keys.mac(LINKED, body, row.key_id)


def _holds(expected: str, mac: str | None) -> bool:
    return bool(expected) and mac is not None and hmac.compare_digest(expected, mac)


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
    """Link every committed, sealed, unchained record; returns how many were linked."""
    keys = keys_of(db)
    linked = 0
    while True:
        with db.session(write=True) as session:
            if db.dialect == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHAIN_LOCK_ID})
            seq, prev = _head(session)
            tail = session.scalars(
                select(AuditRecord)
                .where(AuditRecord.chain_seq.is_(None), AuditRecord.refused.is_(False))
                .order_by(AuditRecord.id)
                .limit(BATCH)
            ).all()
            refused = [row.id for row in tail if not _holds(insert_mac(keys, row), row.mac)]
            for row in tail:
                if row.id in refused:
                    row.refused = True
                    continue
                seq += 1
                row.chain_seq, row.prev_hash = seq, prev
                row.hash = prev = digest(row)
                row.key_id = keys.mac_key_id
                row.mac = link_mac(keys, row)
            linked += len(tail) - len(refused)
            if refused:
                _report_refusal(session, refused)
        if len(tail) < BATCH and not refused:
            return linked


def _head(session: Session) -> tuple[int, str]:
    last = session.scalar(
        select(AuditRecord)
        .where(AuditRecord.chain_seq.is_not(None))
        .order_by(AuditRecord.chain_seq.desc())
        .limit(1)
    )
    return (last.chain_seq or 0, last.hash or "") if last else (0, GENESIS)


def _report_refusal(session: Session, refused: list[int]) -> None:
    """A forged insert is kept (marked) as evidence, logged, and recorded in the chain."""
    log.warning("audit records %s refused: their MAC does not verify (forged inserts)", refused)
    record(
        session,
        actor="node",
        action="audit.refuse",
        item_ids=[str(i) for i in refused],
        detail={"reason": "MAC does not verify"},
    )


def adopt(db: Database) -> int:
    """Seal every record that has no MAC yet: the log as it was before the node had its key.

    Runs once, when the key file is created; afterwards a record without a MAC is a
    forgery. Returns how many records were sealed.
    """
    keys, sealed = keys_of(db), 0
    while True:
        with db.session(write=True) as session:
            rows = session.scalars(
                select(AuditRecord)
                .where(AuditRecord.mac.is_(None), AuditRecord.refused.is_(False))
                .order_by(AuditRecord.id)
                .limit(BATCH)
            ).all()
            for row in rows:
                row.key_id = keys.mac_key_id
                if row.chain_seq is None:
                    row.nonce = secrets.token_hex(16)
                    row.mac = insert_mac(keys, row)
                else:
                    row.mac = link_mac(keys, row)
            sealed += len(rows)
        if len(rows) < BATCH:
            return sealed


def checkpoint(db: Database) -> Checkpoint | None:
    """Sign and keep the chain's present size and head (after linking the tail)."""
    with db.session(write=True) as session:
        return checkpoints_service.sign(session, keys_of(db))


@dataclass(frozen=True)
class Verdict:
    """What `verify` found: intact or not, the first bad record, and the unchained tail.

    `position` is the chain position of the problem, for a record that is missing.
    """

    ok: bool
    checked: int
    unchained: int
    bad_record: int | None = None
    reason: str | None = None
    position: int | None = None


def verify(db: Database, *, checkpoints: Sequence[Checkpoint] = ()) -> Verdict:
    """Walk the chained prefix in order, recomputing every hash and MAC.

    Then the chain must reach every checkpoint (the latest stored and those given) with
    the head each one signed, and every record of the unchained tail must carry its seal.
    """
    keys = keys_of(db)
    with db.session() as session:
        prev, expected_seq, checked = GENESIS, 1, 0
        result = session.execute(
            select(AuditRecord)
            .where(AuditRecord.chain_seq.is_not(None))
            .order_by(AuditRecord.chain_seq)
            .execution_options(yield_per=BATCH)
        )
        with result:
            for row in result.scalars():
                problem = _problem(keys, row, expected_seq, prev)
                if problem:
                    return Verdict(False, checked, 0, row.id, problem, expected_seq)
                prev, expected_seq, checked = row.hash or "", expected_seq + 1, checked + 1
        stored = checkpoints_service.latest(session, 1)
        for point in [*stored, *checkpoints]:
            verdict = _against(session, keys, point, checked)
            if verdict is not None:
                return verdict
        return _tail(session, keys, checked)


def _problem(keys: AuditKeys, row: AuditRecord, expected_seq: int, prev: str) -> str | None:
    if row.chain_seq != expected_seq:
        return f"chain position {expected_seq} is missing (a record was removed before it)"
    if row.prev_hash != prev:
        return "its previous-hash does not match the record before it"
    if row.hash != digest(row):
        return "its content does not match its hash (it was changed)"
    if not keys.may_seal(row.key_id, row.chain_seq):
        return f"its MAC key {row.key_id} is not one this node sealed that part of the chain with"
    if not _holds(link_mac(keys, row), row.mac):
        return (
            "its MAC does not verify (it was changed and re-hashed, or written without "
            "this node's audit key file)"
        )
    return None


def _against(session: Session, keys: AuditKeys, point: Checkpoint, checked: int) -> Verdict | None:
    """The chain against one checkpoint: signed by this node, reached, with the same head."""
    name = f"the checkpoint of {point.at} ({point.size} records)"
    if not keys.may_sign(point.public_key, point.size) or not point.holds():
        return Verdict(False, checked, 0, None, f"{name} is not signed by this node's key")
    if checked < point.size:
        reason = (
            f"chain position {checked + 1} is missing: {name} counts more records than the "
            f"{checked} left (records were removed from the end)"
        )
        return Verdict(False, checked, 0, None, reason, checked + 1)
    head = session.scalar(select(AuditRecord).where(AuditRecord.chain_seq == point.size))
    if point.size and (head is None or head.hash != point.head_hash):
        reason = f"it is not the record {name} signed as its head (the chain was rewritten)"
        return Verdict(False, checked, 0, head.id if head else None, reason, point.size)
    return None


def _tail(session: Session, keys: AuditKeys, checked: int) -> Verdict:
    """Every unchained record must carry its seal; a refused one is a forgery on record."""
    unchained = 0
    result = session.execute(
        select(AuditRecord)
        .where(AuditRecord.chain_seq.is_(None))
        .order_by(AuditRecord.id)
        .execution_options(yield_per=BATCH)
    )
    with result:
        for row in result.scalars():
            if row.refused or not _holds(insert_mac(keys, row), row.mac):
                how = "was refused by the chainer" if row.refused else "is not yet chained"
                reason = f"it {how} and its MAC does not verify (a forged insert)"
                return Verdict(False, checked, unchained, row.id, reason)
            unchained += 1
    return Verdict(True, checked, unchained)
