"""What the notification routes take and give."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from rsn.sharing import Tlp

Channel = Literal["inbox", "webhook", "email"]
Mode = Literal["immediate", "digest"]


class ReportFilters(BaseModel):
    """The query keys of `GET /api/v1/reports`, with the same bounds."""

    model_config = ConfigDict(extra="forbid")

    q: Annotated[str | None, Field(max_length=500)] = None
    category: Annotated[str | None, Field(max_length=120)] = None
    country: Annotated[str | None, Field(min_length=2, max_length=2)] = None
    tlp: Tlp | None = None
    observable: Annotated[str | None, Field(max_length=2048)] = None
    since: datetime | None = None
    until: datetime | None = None


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Literal["reports"] = "reports"
    filters: ReportFilters = Field(default_factory=ReportFilters)
    channel: Channel = "inbox"
    target: Annotated[str | None, Field(max_length=2048)] = None
    secret: Annotated[str | None, Field(max_length=512)] = None
    mode: Mode = "immediate"


class DeliveryRead(BaseModel):
    """How one webhook call or e-mail went (never what it carried)."""

    id: str
    event: str
    status: Literal["pending", "sent", "failed", "dropped"]
    items: int
    attempts: int
    last_error: str | None
    created: datetime
    finished: datetime | None


class SubscriptionRead(BaseModel):
    id: str
    name: str
    kind: str
    filters: dict[str, str]
    channel: str
    target: str | None
    mode: str
    created: datetime
    last_delivery: DeliveryRead | None = None


class InboxItem(BaseModel):
    id: str
    kind: str
    title: str
    created: datetime
    read: bool
    link: str


class InboxPage(BaseModel):
    items: list[InboxItem]
    next_cursor: str | None


class UnreadCount(BaseModel):
    unread: int
