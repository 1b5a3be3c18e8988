"""Alerts: what a detector or rule raised, the reports it stands on, and what people did.

An alert is a shared item of the kind `alert` whose readers are exactly those who may
read every report it links (`sharing.share_derived`); it has no marking of its own to
choose. `condition` names what it watches (rule, series, readers): the same condition
in a later period updates the open alert instead of opening another.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rsn.store import Base, UTCDateTime

STATUSES = ("new", "acknowledged", "escalated", "closed")
OPEN = ("new", "acknowledged", "escalated")
CLOSE_REASONS = ("real", "false-alarm", "duplicate", "no-action")
SEVERITIES = ("low", "medium", "high", "critical")


class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    rule: Mapped[str] = mapped_column(String(60))
    # What the rule watches, in words: "category=maritime.piracy country=IN", or the
    # observable of an observable rule. With the rule and the readers, the condition.
    series: Mapped[str] = mapped_column(String(300))
    condition: Mapped[str] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(120))
    country: Mapped[str | None] = mapped_column(String(2))
    # A cross-border rule's member states, ",BD,IN," (a filter looks for ",IN,").
    countries: Mapped[str] = mapped_column(String(120), default="")
    observable: Mapped[str | None] = mapped_column(String(2100))
    severity: Mapped[str] = mapped_column(String(10))
    tlp: Mapped[str] = mapped_column(String(20))  # what its readers amount to, in TLP's words
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    score: Mapped[float] = mapped_column(Float)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the rule's own figures
    status: Mapped[str] = mapped_column(String(12), default="new")
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    close_reason: Mapped[str | None] = mapped_column(String(20))
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    modified: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def country_codes(self) -> list[str]:
        return [c for c in self.countries.split(",") if c]

    __table_args__ = (
        # The open alert of a condition is found by it; the triage list walks by time.
        Index("ix_alerts_condition_status", "condition", "status"),
        Index("ix_alerts_modified", "modified", "id"),
    )


class AlertReport(Base):
    """A report an alert stands on."""

    __tablename__ = "alert_reports"

    alert_id: Mapped[str] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True
    )
    report_id: Mapped[str] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True
    )

    __table_args__ = (Index("ix_alert_reports_report", "report_id"),)


class AlertEvent(Base):
    """One step of an alert's history: raised, updated, a status change or a note."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))  # None: the node
    action: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12))  # the alert's status after it
    text: Mapped[str | None] = mapped_column(Text)


class AlertMute(Base):
    """An organization's decision not to be told of one rule's series for a while.

    Per organization, never for everyone: the same alert may matter to a neighbour.
    Until `until`, or until lifted, the organization's members do not see the series'
    alerts in their triage list (unless they ask) and are not notified of them.
    """

    __tablename__ = "alert_mutes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    rule: Mapped[str] = mapped_column(String(60))
    series: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(Text)
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (Index("ix_alert_mutes_org_rule_series", "organization_id", "rule", "series"),)


__all__ = [
    "CLOSE_REASONS",
    "OPEN",
    "SEVERITIES",
    "STATUSES",
    "Alert",
    "AlertEvent",
    "AlertMute",
    "AlertReport",
]
