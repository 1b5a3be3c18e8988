"""What an import leaves beside the report: where it came from, and what was kept as is."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from rsn.store import Base, UTCDateTime


class ReportLink(Base):
    """An imported report's key: (importing organization, source, external id) -> local report.

    The source and external id are what the file claims, which anyone can write,
    so each organization keeps its own copy of an item: an import never merges
    into another organization's report on the strength of the file. Several
    local reports may still share a key within one organization: when the first
    holder is hidden from a later importer (a colleague's `red`), that importer
    gets a report of its own (so a collision neither confirms nor overwrites
    what it may not see).
    """

    __tablename__ = "report_links"

    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    source: Mapped[str] = mapped_column(String(300), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    report_id: Mapped[str] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True
    )

    __table_args__ = (Index("ix_report_links_report_id", "report_id"),)


class KeptObject(Base):
    """An object an import could not map to report fields, kept with the report holding it.

    It is served (TAXII, exports) only to those who may read that report.
    """

    __tablename__ = "kept_objects"

    report_id: Mapped[str] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    object_id: Mapped[str] = mapped_column(String(300))
    object_type: Mapped[str] = mapped_column(String(120))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (Index("ix_kept_objects_object_id", "object_id"),)


class StagedImport(Base):
    """An import being written in chunks; its reports are open to nobody until it publishes.

    `heartbeat_at` moves with every chunk: an import whose heartbeat is old was cut
    short (a crash, a killed process), and the next import or node start removes
    what it wrote (`rsn.interop.staged`).
    """

    __tablename__ = "staged_imports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    format: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StagedReport(Base):
    """A report a staged import created, to publish or remove with it."""

    __tablename__ = "staged_reports"

    report_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    import_id: Mapped[str] = mapped_column(
        ForeignKey("staged_imports.id", ondelete="CASCADE"), index=True
    )
