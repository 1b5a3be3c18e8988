"""Saved report searches: made, listed, read and deleted by their owner alone.

A subscription's filters are the query of `GET /api/v1/reports`, kept as the JSON
strings the list takes, so the match job asks `rsn.reports.listing` exactly what the
list would ask for its owner.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rsn import audit
from rsn.errors import NotFound, ValidationError
from rsn.notify.models import Subscription
from rsn.notify.schemas import SubscriptionCreate
from rsn.reports import listing
from rsn.reports.schemas import in_utc_range, no_control
from rsn.sharing import Principal

# What this node delivers today; webhooks, e-mail and daily digests come next.
NOT_YET = {
    ("channel", "webhook"): "webhook delivery is not available on this node yet; use 'inbox'.",
    ("channel", "email"): "e-mail delivery is not available on this node yet; use 'inbox'.",
    ("mode", "digest"): "daily digests are not available on this node yet; use 'immediate'.",
}


def stored_filters(data: SubscriptionCreate) -> dict[str, str]:
    """The filters as the JSON the subscription keeps: set keys only, times in RFC 3339."""
    out: dict[str, str] = {}
    for name, value in data.filters.model_dump(exclude_none=True).items():
        out[name] = value.isoformat() if isinstance(value, datetime) else str(value)
    return out


def filters_of(stored: dict[str, Any]) -> listing.Filters:
    """A subscription's kept filters as the list's `Filters`."""

    def when(name: str) -> datetime | None:
        raw = stored.get(name)
        return datetime.fromisoformat(raw) if raw else None

    return listing.Filters(
        q=stored.get("q"),
        category=stored.get("category"),
        country=stored.get("country"),
        tlp=stored.get("tlp"),
        observable=stored.get("observable"),
        since=when("since"),
        until=when("until"),
    )


def check_filters(session: Session, data: SubscriptionCreate) -> None:
    """The filters checked as `GET /api/v1/reports` checks its query, each named `filters.…`."""
    f = data.filters
    for name, when in (("since", f.since), ("until", f.until)):
        if when is None:
            continue
        if when.tzinfo is None:
            message = f"'{when.isoformat()}' needs a UTC offset (RFC 3339)."
            raise ValidationError.field(f"filters.{name}", message)
        try:
            in_utc_range(when)
        except ValueError as exc:
            raise ValidationError.field(f"filters.{name}", f"{exc}.") from exc
    for name in ("q", "category", "country", "observable"):
        try:
            no_control(getattr(f, name))
        except ValueError as exc:
            raise ValidationError.field(f"filters.{name}", f"{exc}.") from exc
    if f.category:
        try:
            listing.categories(session, f.category)
        except ValidationError as exc:
            raise ValidationError.field(
                "filters.category", "; ".join(p.message for p in exc.problems)
            ) from exc


def create(session: Session, *, principal: Principal, data: SubscriptionCreate) -> Subscription:
    """A new subscription of the caller's; refused (422, naming the field) when it cannot run."""
    for field in ("channel", "mode"):
        refused = NOT_YET.get((field, getattr(data, field)))
        if refused:
            raise ValidationError.field(field, refused)
    for field in ("target", "secret"):
        if getattr(data, field) is not None:
            raise ValidationError.field(field, "is only for webhook subscriptions.")
    check_filters(session, data)
    sub = Subscription(
        user_id=principal.user_id,
        name=data.name,
        kind=data.kind,
        filters=stored_filters(data),
        channel=data.channel,
        mode=data.mode,
    )
    session.add(sub)
    session.flush()
    audit.record(session, actor=principal.username, action="subscription.create", item_ids=[sub.id])
    return sub


def get_all(session: Session, *, principal: Principal) -> list[Subscription]:
    query = select(Subscription).where(Subscription.user_id == principal.user_id)
    return list(session.scalars(query.order_by(Subscription.created, Subscription.id)))


def get(session: Session, *, principal: Principal, subscription_id: str) -> Subscription:
    """The caller's own subscription; anyone else's answers as a missing one."""
    sub = session.get(Subscription, subscription_id)
    if sub is None or sub.user_id != principal.user_id:
        raise NotFound("subscription", subscription_id)
    return sub


def delete(session: Session, *, principal: Principal, subscription_id: str) -> None:
    sub = get(session, principal=principal, subscription_id=subscription_id)
    session.delete(sub)
    audit.record(session, actor=principal.username, action="subscription.delete", item_ids=[sub.id])
