"""What the alerts API reads and writes (the interface contract of issue 14)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator

from rsn.reports.schemas import Strict, Timestamp, no_control
from rsn.warning.models import CLOSE_REASONS

CloseReason = Literal["real", "false-alarm", "duplicate", "no-action"]
assert set(CloseReason.__args__) == set(CLOSE_REASONS)  # type: ignore[attr-defined]


class AlertRead(BaseModel):
    id: str
    rule: str
    status: str
    category: str | None
    country: str | None
    countries: list[str]
    severity: str
    tlp: str
    period_start: Timestamp
    period_end: Timestamp
    score: float
    report_ids: list[str]  # only those the caller may read
    observable: str | None
    owner_id: str | None
    close_reason: str | None
    detail: dict[str, Any]
    created: Timestamp
    modified: Timestamp
    muted_until: Timestamp | None = None  # when the caller's organization muted its series


class AlertPage(BaseModel):
    items: list[AlertRead]
    next_cursor: str | None


class AlertStep(BaseModel):
    at: Timestamp
    actor: str | None  # a display name; None: the node
    action: str
    status: str
    text: str | None


NoteText = Annotated[str, Field(min_length=1, max_length=4000)]


class AlertAction(Strict):
    """An acknowledgement, escalation or closing, with an optional note."""

    note: NoteText | None = None
    reason: CloseReason | None = None

    @field_validator("note")
    @classmethod
    def _plain(cls, value: str | None) -> str | None:
        return no_control(value) if value is not None else None


class AlertNote(Strict):
    text: NoteText

    @field_validator("text")
    @classmethod
    def _plain(cls, value: str) -> str:
        return str(no_control(value))


class AlertMuteCreate(Strict):
    """Mute the alert's series for your organization until a time (at most 90 days
    ahead); snoozing is a short mute. The reason is kept in the audit log."""

    until: Timestamp
    reason: Annotated[str, Field(min_length=1, max_length=500)]

    @field_validator("reason")
    @classmethod
    def _plain(cls, value: str) -> str:
        return str(no_control(value))


class SeaReason(BaseModel):
    rule: str
    level: str | None
    text: str


class SeaLevel(BaseModel):
    """A sea area's maritime threat level over the period, as the caller may see it."""

    sea_area: str
    level: str  # low, moderate, elevated, high
    days: int
    count: int
    by_severity: dict[str, int]
    expected: float | None  # the same period of earlier years, on average
    change: float | None
    reasons: list[SeaReason]


class RuleRecordRead(BaseModel):
    """How one rule's alerts fared in triage, among those the caller may read."""

    rule: str
    raised: int
    open: int
    closed: dict[str, int]  # by reason: real, false-alarm, duplicate, no-action
    false_alarm_share: float | None
    median_minutes_to_act: float | None
