"""Subscriptions (what a user wants to hear of) and notifications (what they were told of).

A notification keeps ids, never content: the title and whether it shows at all are
decided when its owner reads the inbox, by `rsn.sharing`, so a report narrowed after
the match is not shown to those who lost it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from rsn.store import Base, UTCDateTime, new_id, utcnow


class Subscription(Base):
    """A saved search of one kind of item (`reports`), and how its owner hears of matches."""

    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40), default="reports")
    filters: Mapped[dict[str, Any]] = mapped_column(JSON)
    channel: Mapped[str] = mapped_column(String(20), default="inbox")
    target: Mapped[str | None] = mapped_column(Text)
    secret: Mapped[str | None] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(20), default="immediate")
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_subscriptions_user", "user_id"),
        Index("ix_subscriptions_route", "kind", "channel", "mode"),
    )


class Notification(Base):
    """One item a user was told of, in their inbox until they read it (`read_at`)."""

    __tablename__ = "notifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    subscription_id: Mapped[str | None] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(40))  # what happened: report.filed, …
    item_id: Mapped[str] = mapped_column(String(36))  # the report's id
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How its owner hears of it (the subscription's channel when it matched): only
    # `inbox` ones show in the inbox; the others go out in a `Delivery`.
    channel: Mapped[str] = mapped_column(String(20), default="inbox", server_default="inbox")
    # When it may be shown or sent: at once, or at the next digest for a digest subscription.
    due: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivery_id: Mapped[str | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL")
    )

    __table_args__ = (
        # A match job run twice adds nothing: one notification per subscription and item.
        UniqueConstraint("subscription_id", "item_id", name="uq_notifications_subscription_item"),
        Index("ix_notifications_user_created", "user_id", "created", "id"),
        # The digest's question: what of a channel is due and not yet sent.
        Index("ix_notifications_unsent", "channel", "delivery_id", "due"),
    )


class Delivery(Base):
    """One message out of the node (a webhook POST, an e-mail) and how it went.

    It keeps the ids it was made for; what it carries is decided by `rsn.sharing` when
    it is sent, for its recipient as they are then. `pending` until sent, retried with
    backoff and jitter; `sent`, `failed` (its last error kept, shown to its owner), or
    `dropped` when nothing in it may be told to its owner any more.
    """

    __tablename__ = "deliveries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    subscription_id: Mapped[str | None] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="SET NULL")
    )
    channel: Mapped[str] = mapped_column(String(20))
    event: Mapped[str] = mapped_column(String(40))  # report.filed, …
    item_ids: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_deliveries_subscription", "subscription_id", "created"),)
