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
from rsn.notify import webhook
from rsn.notify.delivery import Outbound
from rsn.notify.models import Delivery, Subscription
from rsn.notify.schemas import SubscriptionCreate
from rsn.registry import email
from rsn.registry.models import User
from rsn.reports import listing
from rsn.reports.schemas import in_utc_range, no_control
from rsn.sharing import Principal

MIN_SECRET = 16  # characters of a webhook's secret: an HMAC key worth the name
RECENT = 20  # deliveries shown per subscription


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


def check_channel(
    session: Session, principal: Principal, data: SubscriptionCreate, out: Outbound
) -> str | None:
    """The webhook target as it will be called, after the checks each channel needs."""
    if data.channel != "webhook":
        for field in ("target", "secret"):
            if getattr(data, field) is not None:
                raise ValidationError.field(field, "is only for webhook subscriptions.")
    if data.channel == "email":
        if out.mailer is None:
            raise ValidationError.field(
                "channel", "this node sends no mail (no smtp_host in its settings); use 'inbox'."
            )
        user = session.get(User, principal.user_id)
        if user is None or email.verified_address(user) is None:
            raise ValidationError.field(
                "channel",
                "your account has no verified e-mail address; add one under /profile first.",
            )
        return None
    if data.channel != "webhook":
        return None
    if not data.target:
        raise ValidationError.field(
            "target", "is needed for a webhook: the https:// address to call."
        )
    if data.secret is None or len(data.secret) < MIN_SECRET:
        raise ValidationError.field(
            "secret",
            f"is needed for a webhook: at least {MIN_SECRET} characters, with which each body "
            "is signed (X-RSN-Signature).",
        )
    try:
        no_control(data.secret)
    except ValueError as exc:
        raise ValidationError.field("secret", f"{exc}.") from exc
    return webhook.check_target(data.target, out.webhook)


def create(
    session: Session, *, principal: Principal, data: SubscriptionCreate, out: Outbound
) -> Subscription:
    """A new subscription of the caller's; refused (422, naming the field) when it cannot run."""
    check_filters(session, data)
    target = check_channel(session, principal, data, out)
    sub = Subscription(
        user_id=principal.user_id,
        name=data.name,
        kind=data.kind,
        filters=stored_filters(data),
        channel=data.channel,
        target=target,
        secret=data.secret if data.channel == "webhook" else None,
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


def deliveries(
    session: Session, *, principal: Principal, subscription_id: str, limit: int = RECENT
) -> list[Delivery]:
    """The subscription's latest deliveries, newest first: how its webhook or mail went."""
    sub = get(session, principal=principal, subscription_id=subscription_id)
    query = (
        select(Delivery)
        .where(Delivery.subscription_id == sub.id)
        .order_by(Delivery.created.desc(), Delivery.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def last_deliveries(session: Session, subs: list[Subscription]) -> dict[str, Delivery]:
    """Each subscription's latest delivery, for those that have one."""
    out: dict[str, Delivery] = {}
    for sub in subs:
        if sub.channel == "inbox":
            continue
        found = session.scalar(
            select(Delivery)
            .where(Delivery.subscription_id == sub.id)
            .order_by(Delivery.created.desc(), Delivery.id.desc())
            .limit(1)
        )
        if found is not None:
            out[sub.id] = found
    return out


def delete(session: Session, *, principal: Principal, subscription_id: str) -> None:
    sub = get(session, principal=principal, subscription_id=subscription_id)
    session.delete(sub)
    audit.record(session, actor=principal.username, action="subscription.delete", item_ids=[sub.id])
