"""One-time links with which users set their own passwords, and the rules for a password.

An administrator never sets or sees another user's password: for a new account or
a forgotten password they create a link, hand it over, and the user chooses the
password. Only the link's SHA-256 is stored, so a copy of the database completes
no enrolment; a link works once, for a limited time, and a newer link for the same
user replaces any older unused one.

Signing the user's browsers out after a password is set belongs to the web face
(the registry does not know about browser sessions); `complete` returns the user
so the caller can do it in the same transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from rsn import audit
from rsn.errors import Conflict, LinkNotUsable, ValidationError
from rsn.registry import service
from rsn.registry.models import Enrolment, User
from rsn.store import utcnow

PURPOSES = ("enrol", "reset")
LIFETIME = timedelta(hours=72)
UNUSABLE = (
    "This link is unknown, has expired or was already used. "
    "Ask your organization's liaison or duty officer for a new one."
)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _item_ids(user: User) -> list[str]:
    """The user and their organization, so the organization can see what was done to it."""
    return [user.id, user.organization_id]


def create(
    session: Session,
    *,
    user: User,
    purpose: str,
    created_by: User,
    actor: str | None = None,
    lifetime: timedelta = LIFETIME,
) -> str:
    """A new link for `user`, returned once in clear; earlier unused links stop working.

    `actor` names who acts in the audit log when it is not `created_by` (the CLI's
    operator, who is not a user of the node).
    """
    if purpose not in PURPOSES:
        raise ValidationError.field("purpose", f"'{purpose}' is not one of {', '.join(PURPOSES)}.")
    if user.pending:
        raise Conflict(
            f"The account '{user.username}' awaits its organization's approval; the approver "
            "receives its link."
        )
    if user.disabled:
        raise Conflict(f"The account '{user.username}' is disabled; it cannot be given a link.")
    now = utcnow()
    _retire_links(session, user=user)
    secret = secrets.token_urlsafe(32)
    expires = now + lifetime
    session.add(
        Enrolment(
            id=digest(secret),
            user_id=user.id,
            purpose=purpose,
            created_by=created_by.id,
            created=now,
            expires_at=expires,
        )
    )
    session.flush()
    audit.record(
        session,
        actor=actor or created_by.username,
        action="user.enrol-link",
        item_ids=_item_ids(user),
        detail={
            "username": user.username,
            "purpose": purpose,
            "expires_at": expires.isoformat(),
        },
    )
    return secret


def _retire_links(session: Session, *, user: User) -> None:
    """End every unused link of `user` now: only the newest link may ever work."""
    session.execute(
        update(Enrolment)
        .where(Enrolment.user_id == user.id, Enrolment.used_at.is_(None))
        .values(expires_at=utcnow())
    )


def _live(session: Session, secret: str) -> tuple[Enrolment, User]:
    row = session.get(Enrolment, digest(secret)) if secret else None
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise LinkNotUsable(UNUSABLE)
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        raise LinkNotUsable(UNUSABLE)
    return row, user


def peek(session: Session, secret: str) -> User:
    """The user a link is for, without using it up (for the page that asks for a password)."""
    return _live(session, secret)[1]


def purpose(session: Session, secret: str) -> str:
    """Whether a live link enrols a new account or resets a password."""
    return _live(session, secret)[0].purpose


def complete(session: Session, *, secret: str, password: str) -> User:
    """Set the password the user chose and use the link up; the caller ends their sessions."""
    row, user = _live(session, secret)
    user.password_hash = password_hash(user, password)
    row.used_at = utcnow()
    _retire_links(session, user=user)
    audit.record(
        session,
        actor=user.username,
        action="user.password-set",
        item_ids=_item_ids(user),
        detail={"purpose": row.purpose},
    )
    return user


def change_password(session: Session, *, user: User, current: str, new: str) -> User:
    """A signed-in user's own change: the current password proves it is them at the keyboard."""
    if not service.check_password(user, current):
        raise ValidationError.field("current_password", "is not your current password.")
    user.password_hash = password_hash(user, new)
    audit.record(
        session, actor=user.username, action="user.password-change", item_ids=_item_ids(user)
    )
    return user


def password_hash(user: User, password: str) -> str:
    """The argon2 hash of an acceptable password; the rules live here and in hash_password."""
    if password.strip().lower() == user.username.lower():
        raise ValidationError.field("password", "must not be your username.")
    return service.hash_password(password)


def users_with_pending_links(session: Session) -> set[str]:
    """Ids of users holding a live, unused link: the admin list shows them as invited."""
    query = select(Enrolment.user_id).where(
        Enrolment.used_at.is_(None), Enrolment.expires_at > utcnow()
    )
    return set(session.scalars(query))
