"""The correlation index: live reports' observables under each of their audience keys."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from rsn.store import Base


class CorrelationEntry(Base):
    """One (observable, audience key) of a live report.

    Looking matches up by the reader's own keys touches only rows the reader may
    see, so the work of a read never grows with matches hidden from that reader.
    Every look-up names the value (and, to remove a report's rows, the whole key):
    there is no index by report to keep up on every filing. Reports are revoked,
    never deleted.
    """

    __tablename__ = "correlation_index"

    type: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(2048), primary_key=True)
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    report_id: Mapped[str] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True
    )
