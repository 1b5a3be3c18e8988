"""The report's JSON contract: what a client sends and what it reads back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictInt,
    StrictStr,
    field_validator,
)

from rsn.observables import OBSERVABLE_TYPES, ObservableError, normalize

Severity = Literal["low", "medium", "high", "critical"]
Tlp = Literal["clear", "green", "amber", "amber+strict", "red"]
Reliability = Literal["A", "B", "C", "D", "E", "F"]
Credibility = Literal["1", "2", "3", "4", "5", "6"]
ObservableType = Literal[OBSERVABLE_TYPES]  # type: ignore[valid-type]


def rfc3339(value: datetime) -> str:
    """UTC to the millisecond with a Z: the form STIX timestamps take."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


Timestamp = Annotated[datetime, PlainSerializer(rfc3339, return_type=str)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Location(Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class DistributionIn(Strict):
    member_states: list[StrictStr] = Field(default_factory=list, max_length=300)
    organizations: list[StrictStr] = Field(default_factory=list, max_length=1000)
    sharing_groups: list[StrictStr] = Field(default_factory=list, max_length=300)
    users: list[StrictStr] = Field(default_factory=list, max_length=1000)


class Observable(Strict):
    type: ObservableType
    value: StrictStr

    @field_validator("value")
    @classmethod
    def _normalise(cls, value: str, info: Any) -> str:
        kind = info.data.get("type")
        if kind is None:
            return value
        try:
            return normalize(kind, value)
        except ObservableError as exc:
            raise ValueError(str(exc)) from exc


class ObservableRead(BaseModel):
    type: str
    value: str


class ReportFields(Strict):
    """Fields shared by create and update, each optional here."""

    title: StrictStr | None = Field(default=None, min_length=1, max_length=300)
    category: StrictStr | None = Field(default=None, min_length=1, max_length=120)
    description: StrictStr | None = Field(default=None, max_length=50_000)
    occurred_at: AwareDatetime | None = None
    country: StrictStr | None = None
    location: Location | None = None
    sea_area: StrictStr | None = Field(default=None, max_length=120)
    severity: Severity | None = None
    confidence: StrictInt | None = Field(default=None, ge=0, le=100)
    source_reliability: Reliability | None = None
    information_credibility: Credibility | None = None
    tlp: Tlp | None = None
    distribution: DistributionIn | None = None
    observables: list[Observable] | None = Field(default=None, max_length=500)

    @field_validator("country")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value else value

    @field_validator("occurred_at")
    @classmethod
    def _milliseconds(cls, value: datetime | None) -> datetime | None:
        """Kept to the millisecond, the precision every stored time and STIX share."""
        if value is None:
            return None
        return value.replace(microsecond=value.microsecond // 1000 * 1000)


class ReportCreate(ReportFields):
    title: StrictStr = Field(min_length=1, max_length=300)
    category: StrictStr = Field(min_length=1, max_length=120)
    description: StrictStr = Field(default="", max_length=50_000)
    occurred_at: AwareDatetime
    country: StrictStr
    severity: Severity
    confidence: StrictInt = Field(ge=0, le=100)
    source_reliability: Reliability = "F"
    information_credibility: Credibility = "6"
    tlp: Tlp
    distribution: DistributionIn = Field(default_factory=DistributionIn)
    observables: list[Observable] = Field(default_factory=list, max_length=500)


class ReportUpdate(ReportFields):
    """A partial update: what is given replaces, what is absent stays."""


class Revocation(Strict):
    reason: StrictStr = Field(min_length=3, max_length=2000)


class Originator(BaseModel):
    user: str
    organization: str
    member_state: str | None


class Correlation(BaseModel):
    report_id: str
    observable_type: str
    value: str


class CommonObservable(BaseModel):
    observable_type: str
    value: str


class ReportRead(BaseModel):
    id: str
    version: int
    title: str
    category: str
    description: str
    occurred_at: Timestamp
    country: str
    location: Location | None
    sea_area: str | None
    severity: str
    confidence: int
    source_reliability: str
    information_credibility: str
    tlp: str
    distribution: dict[str, list[str]]
    observables: list[ObservableRead]
    originator: Originator
    source_identity: str | None
    created: Timestamp
    modified: Timestamp
    revoked: bool
    revoked_reason: str | None
    revoked_at: Timestamp | None
    correlations: list[Correlation] = Field(default_factory=list)
    common_observables: list[CommonObservable] = Field(default_factory=list)


class ReportPage(BaseModel):
    items: list[ReportRead]
    next_cursor: str | None


class VersionRead(BaseModel):
    version: int
    date_added: Timestamp
    modified: Timestamp
    submitted_by: str
    snapshot: dict[str, Any]


class CountRow(BaseModel):
    key: str
    count: int


class Counts(BaseModel):
    by: str
    rows: list[CountRow]
