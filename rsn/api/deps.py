"""What every API route needs: the node, and the principal behind the credentials.

The REST API takes bearer tokens only; TAXII also takes HTTP Basic (username and
password), since many TAXII clients know nothing else. A password is checked as
the web sign-in checks it (argon2, with the same throttle and failure records).
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.http import HTTPBase
from sqlalchemy import select

from rsn import sharing
from rsn.errors import Unauthorized
from rsn.node import Node
from rsn.registry import service as registry
from rsn.registry import tokens
from rsn.registry.models import User
from rsn.registry.sessions import SignInFailure
from rsn.sharing import Principal
from rsn.store import utcnow
from rsn.web import sessions

bearer = HTTPBearer(auto_error=False, description="An API token made with `rsn token create`.")
basic = HTTPBase(scheme="basic", auto_error=False, description="A user's username and password.")


def node(request: Request) -> Node:
    found: Node = request.app.state.node
    return found


def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The acting user; its token's last-used time is refreshed at most once a minute."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("An 'Authorization: Bearer <token>' header is required.")
    return _from_token(node(request), credentials.credentials)


def _from_token(the_node: Node, token: str) -> Principal:
    with the_node.db.session() as session:
        who, check = sharing.from_token(session, token)
    if check.stale:
        with the_node.db.try_write() as session:
            if session is not None:  # else the next request notes it
                tokens.touch(session, token_id=check.token_id)
    return who


def token_or_password(
    request: Request,
    token: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    given: Annotated[HTTPAuthorizationCredentials | None, Depends(basic)],
) -> Principal:
    """A bearer token, or HTTP Basic with a user's username and password (TAXII)."""
    if token is not None:
        return _from_token(node(request), token.credentials)
    if given is not None and given.scheme.lower() == "basic":
        address = request.client.host if request.client else "unknown"
        return _from_password(node(request), given.credentials, address)
    raise Unauthorized(
        "An 'Authorization: Bearer <token>' or 'Authorization: Basic' "
        "(username and password) header is required."
    )


def _from_password(the_node: Node, encoded: str, address: str) -> Principal:
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    username, colon, password = decoded.partition(":")
    if not colon:
        raise Unauthorized("The Basic credentials are not base64 of 'username:password'.")
    name = username.strip().lower()
    with the_node.db.session() as session:
        if sessions.throttled(session, username=name, address=address):
            raise Unauthorized(
                "Too many failed sign-ins. Wait 15 minutes, or ask your node administrator."
            )
        user = session.scalar(select(User).where(User.username == name))
        # an unknown name costs one argon2 check too, so timing tells no one who has an account
        ok = registry.check_password(user, password) if user else sessions.decoy(password)
        if user is not None and ok:
            return sharing.for_user(session, user)
    with the_node.db.session(write=True) as session:
        session.add(SignInFailure(username=name, address=address, at=utcnow()))
    raise Unauthorized("The username or password is not right.")


NodeDep = Annotated[Node, Depends(node)]
PrincipalDep = Annotated[Principal, Depends(principal)]
TaxiiPrincipalDep = Annotated[Principal, Depends(token_or_password)]
