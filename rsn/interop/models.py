"""What an import leaves beside the report: where it came from, and what was kept as is."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from rsn.store import Base


class ReportLink(Base):
    """An imported report's key at its source: (source, external id) -> local report.

    Several local reports may share a key: when the first holder is hidden from a
    later importer, that importer gets a report of its own (so an id collision
    neither confirms nor overwrites what it may not see).
    """

    __tablename__ = "report_links"

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
