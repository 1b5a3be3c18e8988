"""HTTP routes for notifications: the caller's inbox and their subscriptions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from rsn.api.deps import NodeDep, PrincipalDep
from rsn.api.jsonbody import JSONRoute
from rsn.notify import inbox, subscriptions
from rsn.notify.models import Delivery, Subscription
from rsn.notify.schemas import (
    DeliveryRead,
    InboxItem,
    InboxPage,
    SubscriptionCreate,
    SubscriptionRead,
    UnreadCount,
)

router = APIRouter(prefix="/api/v1", tags=["notifications"], route_class=JSONRoute)


@router.get("/inbox", response_model=InboxPage)
def read_inbox(
    node: NodeDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=inbox.MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> InboxPage:
    """The caller's notifications, newest first: only those whose item they may read now."""
    with node.db.session() as session:
        items, next_cursor = inbox.page(session, principal=principal, limit=limit, cursor=cursor)
    node.disclose(principal, inbox.disclosed(items), "inbox.list")
    return InboxPage(
        items=[
            InboxItem(
                id=i.id, kind=i.kind, title=i.title, created=i.created, read=i.read, link=i.link
            )
            for i in items
        ],
        next_cursor=next_cursor,
    )


@router.get("/inbox/unread", response_model=UnreadCount)
def unread_count(node: NodeDep, principal: PrincipalDep) -> UnreadCount:
    """How many of the caller's shown notifications are unread."""
    with node.db.session() as session:
        return UnreadCount(unread=inbox.unread(session, principal=principal))


@router.post("/inbox/{notification_id}/read", status_code=204)
def mark_read(notification_id: str, node: NodeDep, principal: PrincipalDep) -> Response:
    """Mark one of the caller's notifications read (anyone else's is not found)."""
    with node.db.session(write=True) as session:
        inbox.mark_read(session, principal=principal, notification_id=notification_id)
    return Response(status_code=204)


def _delivery(d: Delivery) -> DeliveryRead:
    return DeliveryRead(
        id=d.id,
        event=d.event,
        status=d.status,
        items=len(d.item_ids),
        attempts=d.attempts,
        last_error=d.last_error,
        created=d.created,
        finished=d.finished,
    )


def _read(sub: Subscription, last: Delivery | None = None) -> SubscriptionRead:
    return SubscriptionRead(
        id=sub.id,
        name=sub.name,
        kind=sub.kind,
        filters=dict(sub.filters),
        channel=sub.channel,
        target=sub.target,
        mode=sub.mode,
        created=sub.created,
        last_delivery=_delivery(last) if last else None,
    )


@router.post("/subscriptions", status_code=201, response_model=SubscriptionRead)
def create_subscription(
    data: SubscriptionCreate, node: NodeDep, principal: PrincipalDep
) -> SubscriptionRead:
    """Save a report search; its new matches reach the caller by its channel."""
    with node.db.session(write=True) as session:
        sub = subscriptions.create(session, principal=principal, data=data, out=node.outbound)
        return _read(sub)


@router.get("/subscriptions", response_model=list[SubscriptionRead])
def list_subscriptions(node: NodeDep, principal: PrincipalDep) -> list[SubscriptionRead]:
    """The caller's own subscriptions, oldest first."""
    with node.db.session() as session:
        mine = subscriptions.get_all(session, principal=principal)
        last = subscriptions.last_deliveries(session, mine)
        return [_read(s, last.get(s.id)) for s in mine]


@router.get("/subscriptions/{subscription_id}", response_model=SubscriptionRead)
def read_subscription(
    subscription_id: str, node: NodeDep, principal: PrincipalDep
) -> SubscriptionRead:
    """One of the caller's subscriptions; anyone else's is not found."""
    with node.db.session() as session:
        sub = subscriptions.get(session, principal=principal, subscription_id=subscription_id)
        return _read(sub, subscriptions.last_deliveries(session, [sub]).get(sub.id))


@router.get("/subscriptions/{subscription_id}/deliveries", response_model=list[DeliveryRead])
def list_deliveries(
    subscription_id: str, node: NodeDep, principal: PrincipalDep
) -> list[DeliveryRead]:
    """How the subscription's latest webhook calls or e-mails went, newest first."""
    with node.db.session() as session:
        found = subscriptions.deliveries(
            session, principal=principal, subscription_id=subscription_id
        )
        return [_delivery(d) for d in found]


@router.delete("/subscriptions/{subscription_id}", status_code=204)
def delete_subscription(subscription_id: str, node: NodeDep, principal: PrincipalDep) -> Response:
    """Stop a subscription of the caller's; what it already delivered stays in the inbox."""
    with node.db.session(write=True) as session:
        subscriptions.delete(session, principal=principal, subscription_id=subscription_id)
    return Response(status_code=204)
