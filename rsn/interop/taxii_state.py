"""TAXII state: the client's resumable cursors and the server's status resources."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from rsn.store import Base, UTCDateTime


class PullCursor(Base):
    """How far `rsn taxii pull` got in a remote collection: the last date added it saw."""

    __tablename__ = "taxii_pull_cursors"

    url: Mapped[str] = mapped_column(String(500), primary_key=True)
    collection_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    added_after: Mapped[str | None] = mapped_column(String(40))
    objects_seen: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[datetime] = mapped_column(UTCDateTime)


class TaxiiStatus(Base):
    """The status resource a POST of an envelope answers with, readable by its poster."""

    __tablename__ = "taxii_statuses"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    collection_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    request_timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    total_count: Mapped[int] = mapped_column(Integer)
    success_count: Mapped[int] = mapped_column(Integer)
    failure_count: Mapped[int] = mapped_column(Integer)
    pending_count: Mapped[int] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
