"""The observable page's JSON contract: a value, the reports carrying it, who saw it."""

from __future__ import annotations

from pydantic import BaseModel, Field

from rsn.reports.schemas import Timestamp


class ObservableReport(BaseModel):
    id: str
    title: str
    country: str
    organization: str = Field(description="The originating organization's slug")
    occurred_at: Timestamp


class StateCount(BaseModel):
    member_state: str
    reports: int


class OrganizationCount(BaseModel):
    organization: str
    member_state: str | None
    reports: int


class ObservablePage(BaseModel):
    """Every count and date here is over the reports the caller may read, and only those."""

    type: str
    value: str = Field(description="The value normalised, as reports store it")
    other_types: list[str] = Field(description="Other types the value typed could be read as")
    reports: list[ObservableReport]
    first_seen: Timestamp | None
    last_seen: Timestamp | None
    total: int = Field(description="Live reports you may read that carry the value")
    states: list[StateCount] = Field(description="Member states whose agencies reported it")
    organizations: list[OrganizationCount]
    cross_border: bool = Field(description="Reported by more than one member state")
    common: bool = Field(description="Carried by more reports than the correlation threshold")
    next_cursor: str | None
