"""The report's JSON contract: what a client sends and what it reads back."""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictInt,
    StrictStr,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
)

from rsn.errors import FieldProblem, ValidationError
from rsn.observables import OBSERVABLE_TYPES, ObservableError, normalize
from rsn.sharing.models import Tlp

Severity = Literal["low", "medium", "high", "critical"]
Reliability = Literal["A", "B", "C", "D", "E", "F"]
Credibility = Literal["1", "2", "3", "4", "5", "6"]
ObservableType = Literal[OBSERVABLE_TYPES]  # type: ignore[valid-type]


def rfc3339(value: datetime) -> str:
    """UTC to the millisecond with a Z: the form STIX timestamps take."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


Timestamp = Annotated[datetime, PlainSerializer(rfc3339, return_type=str)]


CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_VALUE_BYTES = 2000  # an index entry must stay under PostgreSQL's 2,704-byte limit


def no_control(value: Any) -> Any:
    """Text with NUL or other control characters is refused (tab and newlines are fine)."""
    if isinstance(value, str) and CONTROL.search(value):
        raise ValueError("contains a control character (such as NUL), which is not allowed")
    if isinstance(value, list):
        for item in value:
            no_control(item)
    return value


def in_utc_range(value: datetime) -> datetime:
    """An aware time that exists in UTC, kept to the millisecond as STIX keeps it."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(
            f"'{value.isoformat()}' is outside the range of UTC times (years 1 to 9999)"
        ) from exc
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


def utc_param(name: str, value: datetime) -> datetime:
    """A time a caller gave as a parameter, in UTC; one that has no UTC time is a 422 naming
    the parameter, not a 500 from deep in a query (9999-12-31T23:59:59-23:59 overflows)."""
    if value.tzinfo is None:
        raise ValidationError.field(name, f"'{value.isoformat()}' needs a UTC offset (RFC 3339).")
    try:
        return in_utc_range(value)
    except ValueError as exc:
        raise ValidationError.field(name, f"{exc}.") from None


# Every text a client sends: a real string, without control characters.
Text = Annotated[StrictStr, AfterValidator(no_control)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Location(Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class DistributionIn(Strict):
    member_states: list[Text] = Field(default_factory=list, max_length=300)
    organizations: list[Text] = Field(default_factory=list, max_length=1000)
    sharing_groups: list[Text] = Field(default_factory=list, max_length=300)
    users: list[Text] = Field(default_factory=list, max_length=1000)

    @field_validator("member_states")
    @classmethod
    def _upper(cls, value: list[str]) -> list[str]:
        return [code.upper() for code in value]


# Where a national spelling (a phone number without its country code) is read while a
# report's observables are validated: the report's country, or STORED_COUNTRY while an
# update that names no country is read, whose report's own country the service knows.
_REGION: ContextVar[str | None] = ContextVar("rsn_observable_region", default=None)
STORED_COUNTRY = "stored"


def normal_value(kind: str, value: str, region: str | None = None) -> str:
    """An observable's normal form; ValueError says why there is none."""
    try:
        normal = normalize(kind, no_control(value), region)
    except ObservableError as exc:
        raise ValueError(str(exc)) from exc
    if len(normal.encode()) > MAX_VALUE_BYTES:
        raise ValueError(f"is longer than {MAX_VALUE_BYTES} bytes once normalised")
    return normal


class Observable(Strict):
    type: ObservableType
    value: Text

    @field_validator("value")
    @classmethod
    def _normalise(cls, value: str, info: ValidationInfo) -> str:
        """Read in the region a validation context or the enclosing report gives."""
        kind = info.data.get("type")
        if kind is None:
            return value
        region = (info.context or {}).get("region") or _REGION.get()
        if region != STORED_COUNTRY:
            return normal_value(kind, value, region)
        try:
            return normal_value(kind, value)
        except ValueError:
            return value  # read again, in the report's country, by `in_country`


def in_country(observables: Sequence[Observable], country: str) -> list[Observable]:
    """An update's observables read in its report's country, every problem by its path."""
    settled, problems = [], []
    for i, o in enumerate(observables):
        try:
            settled.append(Observable(type=o.type, value=normal_value(o.type, o.value, country)))
        except ValueError as exc:
            problems.append(FieldProblem(f"observables[{i}].value", f"{exc}."))
    if problems:
        raise ValidationError(problems)
    return settled


class ObservableRead(BaseModel):
    type: str
    value: str


class ReportFields(Strict):
    """Fields shared by create and update, each optional here."""

    # An update without a country keeps the stored one, which only the service knows.
    country_is_stored: ClassVar[bool] = False

    title: Text | None = Field(default=None, min_length=1, max_length=300)
    category: Text | None = Field(default=None, min_length=1, max_length=120)
    description: Text | None = Field(default=None, max_length=50_000)
    occurred_at: AwareDatetime | None = None
    country: Text | None = None
    location: Location | None = None
    sea_area: Text | None = Field(default=None, max_length=120)
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

    @field_validator("observables", mode="wrap")
    @classmethod
    def _read_in_country(
        cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> Any:
        """National spellings are read in the report's country (validated before this)."""
        country = info.data.get("country")
        later = cls.country_is_stored and country is None and "country" in info.data
        token = _REGION.set(STORED_COUNTRY if later else country)
        try:
            return handler(value)
        finally:
            _REGION.reset(token)

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else in_utc_range(value)


class ReportCreate(ReportFields):
    title: Text = Field(min_length=1, max_length=300)
    category: Text = Field(min_length=1, max_length=120)
    description: Text = Field(default="", max_length=50_000)
    occurred_at: AwareDatetime
    country: Text
    severity: Severity
    confidence: StrictInt = Field(ge=0, le=100)
    source_reliability: Reliability = "F"
    information_credibility: Credibility = "6"
    tlp: Tlp
    distribution: DistributionIn = Field(default_factory=DistributionIn)
    observables: list[Observable] = Field(default_factory=list, max_length=500)


class ReportUpdate(ReportFields):
    """A partial update: what is given replaces, what is absent stays."""

    country_is_stored: ClassVar[bool] = True


class Revocation(Strict):
    reason: Text = Field(min_length=3, max_length=2000)


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


class HeldVersionRead(BaseModel):
    """A published report's next version waiting for release, for those who may see it."""

    status: Literal["draft", "pending"]
    refusal_reason: str | None
    submitted_by: str
    submitted_at: Timestamp
    fields: dict[str, Any]


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
    status: Literal["published", "draft", "pending"] = "published"
    refusal_reason: str | None = None
    next_version: HeldVersionRead | None = None


class Refusal(Strict):
    reason: Text = Field(min_length=3, max_length=2000)


class QueuedRead(BaseModel):
    """One item of a releaser's queue."""

    report_id: str
    title: str
    tlp: str
    submitted_by: str
    submitted_at: Timestamp
    next_version: bool


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
