"""Signed checkpoints of the audit chain: its size and head, as the node saw them.

A checkpoint held outside the database (by an operator, a peer, a notary) is what
makes removing the end of the log visible: the chain must still reach the size it
signed, with the same head. The size counts every write, hidden ones included, so
checkpoints go to operators only, never to a page or the API.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rsn.audit.keys import AuditKeys, signature_holds
from rsn.audit.models import AuditCheckpoint, AuditRecord
from rsn.errors import ValidationError
from rsn.store import utcnow

FORMAT = "rsn-audit-checkpoints/1"


@dataclass(frozen=True)
class Checkpoint:
    at: str
    size: int
    head_hash: str
    public_key: str
    signature: str = ""

    def body(self) -> bytes:
        """The bytes the signature covers: everything but the signature."""
        fields = {k: v for k, v in asdict(self).items() if k != "signature"}
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    def holds(self) -> bool:
        return signature_holds(self.public_key, self.body(), self.signature)


def sign(session: Session, keys: AuditKeys) -> Checkpoint | None:
    """Sign and keep the chain's present size and head; None when nothing is chained yet."""
    head = session.scalar(
        select(AuditRecord)
        .where(AuditRecord.chain_seq.is_not(None))
        .order_by(AuditRecord.chain_seq.desc())
        .limit(1)
    )
    if head is None or head.chain_seq is None or head.hash is None:
        return None
    now = utcnow()
    unsigned = Checkpoint(
        now.isoformat(timespec="milliseconds"), head.chain_seq, head.hash, keys.public_key
    )
    point = Checkpoint(**{**asdict(unsigned), "signature": keys.sign(unsigned.body())})
    session.add(
        AuditCheckpoint(
            at=now,
            size=point.size,
            head_hash=point.head_hash,
            public_key=point.public_key,
            signature=point.signature,
        )
    )
    return point


def latest(session: Session, count: int) -> list[Checkpoint]:
    """The newest `count` checkpoints kept, newest first."""
    rows = session.scalars(
        select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(count)
    ).all()
    return [_of(row) for row in rows]


def _of(row: AuditCheckpoint) -> Checkpoint:
    return Checkpoint(
        row.at.isoformat(timespec="milliseconds"),
        row.size,
        row.head_hash,
        row.public_key,
        row.signature,
    )


def document(points: list[Checkpoint]) -> dict[str, Any]:
    """The JSON an operator keeps: the checkpoints, each verifiable with its public key."""
    return {"format": FORMAT, "checkpoints": [asdict(p) for p in points]}


def read_file(path: Path) -> list[Checkpoint]:
    """The checkpoints of a file `document` wrote; a problem names the file and the field."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("format") != FORMAT:
            raise ValueError(f"format is not '{FORMAT}'")
        return [_parsed(i, item) for i, item in enumerate(raw["checkpoints"])]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        problem = f"'{path}' is not a checkpoint file: {exc}"
        raise ValidationError.field("checkpoint", problem) from exc


def _parsed(index: int, item: dict[str, Any]) -> Checkpoint:
    point = Checkpoint(**item)
    if not isinstance(point.size, int) or not all(
        isinstance(v, str) for v in (point.at, point.head_hash, point.public_key, point.signature)
    ):
        raise ValueError(f"checkpoints[{index}] has a field of the wrong type")
    return point
