"""Reports: the current state, every version as a full snapshot, and the observables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from rsn.sharing import Shareable
from rsn.store import Base, UTCDateTime


class Report(Shareable, Base):
    __tablename__ = "reports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # Indexed with `modified` below (ix_reports_org_modified), which serves a look-up by
    # organization alone too: one index to keep up on every filing, not two.
    originator_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    version: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    doc_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    title: Mapped[str] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    country: Mapped[str] = mapped_column(String(2))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    sea_area: Mapped[str | None] = mapped_column(String(120))
    severity: Mapped[str] = mapped_column(String(10))
    confidence: Mapped[int] = mapped_column(Integer)
    source_reliability: Mapped[str] = mapped_column(String(1))
    information_credibility: Mapped[str] = mapped_column(String(1))
    source_identity: Mapped[str | None] = mapped_column(String(200))
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    modified: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # published, draft or pending (rsn.sharing.release): a draft's grants open it
    # to its author and its organization's releasers only.
    status: Mapped[str] = mapped_column(String(12), default="published", server_default="published")
    refusal_reason: Mapped[str | None] = mapped_column(Text)

    # A filtered page walks (filter, modified, id) in the list's own order and stops
    # at the page's end, instead of sorting every report of a country or category.
    # The country index carries the category too, so a country + category page tests
    # each entry's category in the index and reads only the rows that match.
    __table_args__ = (
        Index("ix_reports_modified_id", "modified", "id"),
        Index("ix_reports_country_modified", "country", "modified", "id", "category"),
        Index("ix_reports_category_modified", "category", "modified", "id"),
        Index("ix_reports_release_queue", "status", "originator_org_id"),
        # The dashboard's cross-border panel starts from an organization's newest
        # reports: walked in order and stopped at its bound, not sorted per organization.
        Index("ix_reports_org_modified", "originator_org_id", "modified", "id"),
    )


class ReportVersion(Base):
    """A full snapshot per version, in commit order; TAXII paging and sync cursors read it.

    Each version is an item of its own in `sharing_grants` (`item_id`), under the
    keys of the marking it was written with: a version opens only to those who
    could read it then and can read the report now (`rsn.sharing.visible_version`),
    so widening a marking never discloses what earlier versions said.
    """

    __tablename__ = "report_versions"

    report_id: Mapped[str] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    date_added: Mapped[datetime] = mapped_column(UTCDateTime)
    modified: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Unindexed: grants are looked up by it, never versions; '' (a row not yet
    # given grants) opens to no one.
    item_id: Mapped[str] = mapped_column(String(36), server_default="")


class PendingVersion(Base):
    """A published report's next version, held until a releaser lets its wider audience read it.

    The report row stays the published version, which its readers keep reading;
    this row is an item of its own, with a draft's grants (rsn.sharing.release),
    so only the author and the organization's releasers see what is proposed.
    """

    __tablename__ = "pending_versions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    report_id: Mapped[str] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[str] = mapped_column(String(12))
    filing: Mapped[dict[str, Any]] = mapped_column(JSON)
    submitted_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refusal_reason: Mapped[str | None] = mapped_column(Text)


class ReportObservable(Base):
    """The current version's observables, normalised, for display, search and filters."""

    __tablename__ = "report_observables"

    report_id: Mapped[str] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(2048))

    __table_args__ = (Index("ix_report_observables_value", "value", "type"),)


class Counter(Base):
    """Named counters bumped under a row lock, so numbers follow commit order."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class IdempotencyKey(Base):
    """A client's retry key and the answer it got, so a retried POST creates nothing twice."""

    __tablename__ = "idempotency_keys"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    report_id: Mapped[str] = mapped_column(String(36))
    created: Mapped[datetime] = mapped_column(UTCDateTime)
