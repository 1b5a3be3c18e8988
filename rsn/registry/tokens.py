"""API tokens: random, shown once, kept only as a keyed hash found by a short prefix.

argon2 is for passwords; at ~100 ms a check it must never sit on every API request.
A token is high-entropy, so an HMAC under the node's own key is enough to make a
stolen database useless for signing in, and it costs microseconds.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from rsn.errors import NotFound, Unauthorized
from rsn.registry.models import ApiToken, NodeSetting, User
from rsn.store import utcnow

TOKEN_KEY_SETTING = "token_hmac_key"
LAST_USED_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedToken:
    """The one moment the secret exists in clear: returned to its owner, then forgotten."""

    id: str
    token: str
    prefix: str
    expires_at: datetime | None


def _node_key(session: Session, *, create: bool = True) -> bytes | None:
    setting = session.get(NodeSetting, TOKEN_KEY_SETTING)
    if setting is None and not create:
        return None
    if setting is None:
        setting = NodeSetting(key=TOKEN_KEY_SETTING, value=secrets.token_hex(32))
        session.add(setting)
        session.flush()
    return bytes.fromhex(setting.value)


def _digest(key: bytes, token: str) -> str:
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def create(
    session: Session, *, user: User, name: str, expires_at: datetime | None = None
) -> IssuedToken:
    """Mint a token for `user`; only its prefix and keyed hash are stored."""
    prefix = secrets.token_hex(6)
    token = f"rsn_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiToken(
        user_id=user.id,
        name=name,
        prefix=prefix,
        digest=_digest(_node_key(session) or b"", token),
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return IssuedToken(id=row.id, token=token, prefix=prefix, expires_at=expires_at)


@dataclass(frozen=True)
class TokenCheck:
    """Who a token stands for, and whether its last-used time is due an update."""

    user: User
    token_id: str
    stale: bool


def authenticate(session: Session, token: str) -> TokenCheck:
    """The active user a bearer token stands for, or Unauthorized with one vague message.

    Reading only: the caller refreshes `last_used_at` in a write transaction of its
    own when `stale`, at most once a minute, so API reads stay read-only.
    """
    refused = Unauthorized("The bearer token is missing, unknown, expired or revoked.")
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "rsn":
        raise refused
    # The token, its user and the node's key in one round trip: this runs on every
    # API request.
    found = session.execute(
        select(ApiToken, User, NodeSetting.value)
        .join(User, User.id == ApiToken.user_id)
        .join(NodeSetting, NodeSetting.key == TOKEN_KEY_SETTING)
        .where(ApiToken.prefix == parts[1])
    ).first()
    if found is None:
        raise refused
    row, user, key = found
    if not hmac.compare_digest(row.digest, _digest(bytes.fromhex(key), token)):
        raise refused
    now = utcnow()
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        raise refused
    if user.disabled:
        raise refused
    stale = row.last_used_at is None or now - row.last_used_at > LAST_USED_GRANULARITY
    return TokenCheck(user=user, token_id=row.id, stale=stale)


def touch(session: Session, *, token_id: str) -> None:
    row = session.get(ApiToken, token_id)
    if row is not None:
        row.last_used_at = utcnow()


def revoke(session: Session, *, token_id_or_prefix: str) -> ApiToken:
    """Revoke a token by id or prefix; revoking twice is harmless."""
    row = session.scalar(
        select(ApiToken).where(
            (ApiToken.id == token_id_or_prefix) | (ApiToken.prefix == token_id_or_prefix)
        )
    )
    if row is None:
        raise NotFound("token", token_id_or_prefix)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


def get_all(session: Session, *, user: User) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)))
