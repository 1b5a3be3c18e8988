"""Sign-in, sessions and throttling for the browser face of the node.

The cookie carries a random secret; the database keeps only its SHA-256, so a
copy of the database signs no one in. Failed sign-ins are counted per username
and per address; past the limit every attempt gets the same refusal, whether or
not the account exists, so the page never tells who has an account.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from rsn import audit
from rsn.registry import service as registry
from rsn.registry.models import User
from rsn.registry.sessions import SignInFailure, WebSession
from rsn.store import utcnow

IDLE = timedelta(hours=12)
WINDOW = timedelta(minutes=15)
MAX_FAILURES = 5
COOKIE = "rsn_session"
# Verified against when the username is unknown, so both refusals cost the same time.
_DECOY = PasswordHasher().hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Refusal:
    """A refusal a person can read; it never says whether the account exists.

    Returned, not raised, so the failure it records commits with the transaction.
    """

    message: str


@dataclass(frozen=True)
class SignedIn:
    secret: str
    session: WebSession


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _failures(session: Session, column: object, value: str) -> int:
    since = utcnow() - WINDOW
    query = (
        select(func.count())
        .select_from(SignInFailure)
        .where(
            column == value,  # type: ignore[arg-type]
            SignInFailure.at > since,
        )
    )
    return int(session.scalar(query) or 0)


def throttled(session: Session, *, username: str, address: str) -> bool:
    name = username.strip().lower()
    return (
        _failures(session, SignInFailure.username, name) >= MAX_FAILURES
        or _failures(session, SignInFailure.address, address) >= MAX_FAILURES * 4
    )


def sign_in(session: Session, *, username: str, password: str, address: str) -> SignedIn | Refusal:
    """A new session for the right password; a Refusal with one vague message otherwise."""
    name = username.strip().lower()
    if throttled(session, username=name, address=address):
        return Refusal("Too many failed sign-ins. Wait 15 minutes, or ask your node administrator.")
    user = session.scalar(select(User).where(User.username == name))
    ok = registry.check_password(user, password) if user else decoy(password)
    if user is None or not ok:
        session.add(SignInFailure(username=name, address=address, at=utcnow()))
        return Refusal("The username or password is not right.")
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    row = WebSession(
        id=digest(secret),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created=now,
        last_seen=now,
    )
    session.add(row)
    session.execute(delete(SignInFailure).where(SignInFailure.username == name))
    audit.record(session, actor=user.username, action="session.sign-in", item_ids=[user.id])
    return SignedIn(secret=secret, session=row)


def decoy(password: str) -> bool:
    """Spend one argon2 check on an unknown name, so timing tells no one who has an account."""
    registry.check_password(User(password_hash=_DECOY, disabled=False), password)
    return False


def current(session: Session, secret: str | None) -> tuple[WebSession, User] | None:
    """The live session behind a cookie, or None when absent, expired or disabled."""
    if not secret:
        return None
    row = session.get(WebSession, digest(secret))
    if row is None or utcnow() - row.last_seen > IDLE:
        return None
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        return None
    return row, user


def touch(session: Session, *, session_id: str) -> None:
    row = session.get(WebSession, session_id)
    if row is not None:
        row.last_seen = utcnow()


def sign_out(session: Session, *, secret: str) -> None:
    row = session.get(WebSession, digest(secret))
    if row is not None:
        user = session.get(User, row.user_id)
        actor = user.username if user else row.user_id
        audit.record(session, actor=actor, action="session.sign-out", item_ids=[row.user_id])
        session.delete(row)


def end_all(session: Session, *, user_id: str, keep: str | None = None) -> int:
    """Sign a user's browsers out (all but `keep`); returns how many were signed out."""
    query = select(WebSession.id).where(WebSession.user_id == user_id)
    if keep is not None:
        query = query.where(WebSession.id != keep)
    ids = list(session.scalars(query))
    if ids:
        session.execute(delete(WebSession).where(WebSession.id.in_(ids)))
    return len(ids)
