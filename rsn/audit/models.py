"""The append-only audit log: one row per write or disclosure, chained by hash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from rsn.store import Base, UTCDateTime, utcnow


class AuditRecord(Base):
    """One audited act.

    `mac` seals the record under the node's key file: written with the record over its
    content and `nonce` (which makes a copy of a record recognisable), then replaced by
    the chainer with one over the content and its place in the chain. A record whose
    insert-time MAC does not hold is never linked: the chainer marks it `refused`.
    `key_id` names the MAC key of the present `mac` (keys rotate: `rsn.audit.ring`).
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(60))
    item_ids: Mapped[list[str]] = mapped_column(JSON)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    chain_seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))
    nonce: Mapped[str | None] = mapped_column(String(32), unique=True, index=True)
    mac: Mapped[str | None] = mapped_column(String(64))
    key_id: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    refused: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class AuditCheckpoint(Base):
    """The chain's size and head, signed by the node: what truncation is measured against.

    A size counts every write, hidden ones included, so checkpoints go to operators
    only (`rsn audit checkpoint`), never to a page or the API.
    """

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    size: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
    public_key: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))
