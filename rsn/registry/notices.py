"""Notices to a user about their own account: what was asked or done, until they dismiss it.

A reset approved for someone, a role changed, a request decided: the person concerned
hears of it at their next page, so a change they did not ask for does not go unseen.
(E-mail delivery comes with the platform's notifications; these stay the in-node record.)
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from rsn.registry.models import AccountNotice
from rsn.store import utcnow

SHOWN = 5  # the newest open notices a page shows; older ones wait their turn


def post(session: Session, *, user_id: str, text: str) -> None:
    session.add(AccountNotice(user_id=user_id, text=text, created=utcnow()))


def get_open(session: Session, *, user_id: str) -> list[AccountNotice]:
    query = (
        select(AccountNotice)
        .where(AccountNotice.user_id == user_id, AccountNotice.dismissed_at.is_(None))
        .order_by(AccountNotice.created.desc())
        .limit(SHOWN)
    )
    return list(session.scalars(query))


def dismiss(session: Session, *, user_id: str, notice_id: str) -> None:
    """Dismiss one of the user's own notices; anyone else's id changes nothing."""
    session.execute(
        update(AccountNotice)
        .where(AccountNotice.id == notice_id, AccountNotice.user_id == user_id)
        .values(dismissed_at=utcnow())
    )
