"""A user's inbox: what they were told of, shown as `rsn.sharing` decides at read time.

A notification holds ids; each time its owner reads the inbox, a report notification
shows only while `sharing.visible` lets them read the report, under its current title.
A report narrowed after the match vanishes from the inbox, and from its unread count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from rsn import sharing
from rsn.errors import NotFound, ValidationError
from rsn.notify.models import Notification
from rsn.reports.models import Report
from rsn.sharing import Principal
from rsn.store import paging, utcnow

MAX_PAGE = 100


@dataclass(frozen=True)
class Item:
    id: str
    kind: str
    title: str
    created: datetime
    read: bool
    link: str
    item_id: str
    discloses: bool  # the title is a non-public field of another's report: a disclosure


def _shown(principal: Principal) -> list[ColumnElement[bool]]:
    """The caller's inbox notifications, once due, whose report they may read now.

    A digest subscription's notifications are due at the day's digest hour; a
    webhook or e-mail subscription's go out in deliveries and are not shown here.
    """
    return [
        Notification.user_id == principal.user_id,
        Notification.channel == "inbox",
        Notification.due <= utcnow(),
        Report.id == Notification.item_id,
        Report.status == sharing.PUBLISHED,
        sharing.visible(principal, Report.id),
    ]


def page(
    session: Session, *, principal: Principal, limit: int = 50, cursor: str | None = None
) -> tuple[list[Item], str | None]:
    """A page of the caller's inbox, newest first."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError.field("limit", f"must be between 1 and {MAX_PAGE}, not {limit}.")
    where = _shown(principal)
    if cursor:
        stamp, last_id = paging.decode(cursor)
        where.append(
            or_(
                Notification.created < stamp,
                and_(Notification.created == stamp, Notification.id < last_id),
            )
        )
    query = (
        select(Notification, Report.title, Report.tlp, Report.originator_user_id)
        .join(Report, Report.id == Notification.item_id)
        .where(*where)
        .order_by(Notification.created.desc(), Notification.id.desc())
        .limit(limit + 1)
    )
    rows = session.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        Item(
            id=n.id,
            kind=n.kind,
            title=title,
            created=n.created,
            read=n.read_at is not None,
            link=f"/reports/{n.item_id}",
            item_id=n.item_id,
            discloses=sharing.discloses(principal, tlp=tlp, originator_user_id=originator),
        )
        for n, title, tlp, originator in rows
    ]
    return items, paging.encode(rows[-1][0].created, rows[-1][0].id) if more and rows else None


def disclosed(items: list[Item]) -> list[str]:
    """The reports whose titles this page hands to someone not their originator."""
    return list(dict.fromkeys(i.item_id for i in items if i.discloses))


def unread(session: Session, *, principal: Principal) -> int:
    """How many unread notifications the caller may see now (the header's count)."""
    query = (
        select(func.count())
        .select_from(Notification)
        .join(Report, Report.id == Notification.item_id)
        .where(*_shown(principal), Notification.read_at.is_(None))
    )
    return int(session.scalar(query) or 0)


def mark_read(session: Session, *, principal: Principal, notification_id: str) -> None:
    """Mark one of the caller's shown notifications read; anything else is not found."""
    shown = session.scalar(
        select(Notification.id)
        .join(Report, Report.id == Notification.item_id)
        .where(*_shown(principal), Notification.id == notification_id)
    )
    if shown is None:
        raise NotFound("notification", notification_id)
    session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
