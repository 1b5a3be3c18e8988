"""What every API route needs: the node, and the principal behind the bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rsn import sharing
from rsn.errors import Unauthorized
from rsn.node import Node
from rsn.registry import tokens
from rsn.sharing import Principal

bearer = HTTPBearer(auto_error=False, description="An API token made with `rsn token create`.")


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
    the_node = node(request)
    with the_node.db.session() as session:
        who, check = sharing.from_token(session, credentials.credentials)
    if check.stale:
        with the_node.db.session(write=True) as session:
            tokens.touch(session, token_id=check.token_id)
    return who


NodeDep = Annotated[Node, Depends(node)]
PrincipalDep = Annotated[Principal, Depends(principal)]
