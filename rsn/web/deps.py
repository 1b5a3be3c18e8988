"""Who is at the browser, and the CSRF check every state-changing form passes."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from starlette.datastructures import FormData

from rsn import notify, sharing
from rsn.errors import Forbidden
from rsn.node import Node
from rsn.registry import approvals, notices
from rsn.sharing import Principal
from rsn.store import utcnow
from rsn.web import sessions

TOUCH_EVERY = timedelta(minutes=1)
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
EXPIRED_FORM = "This form has expired or did not come from this site; reload it and try again."


@dataclass(frozen=True)
class Viewer:
    principal: Principal
    csrf: str
    session_id: str
    # Requests to the viewer's organization they may decide, and notices about their
    # own account: shown on every page so neither waits unseen.
    approvals: int = 0
    notices: tuple[Notice, ...] = ()
    inbox: int = 0  # unread notifications the viewer may still read


@dataclass(frozen=True)
class Notice:
    id: str
    text: str
    created: datetime


class SignInNeeded(Exception):
    """Raised on a page that needs a session; the handler sends the browser to /login."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def node(request: Request) -> Node:
    found: Node = request.app.state.node
    return found


def maybe_viewer(request: Request) -> Viewer | None:
    """The signed-in user, if any; the session's last-seen time is refreshed once a minute."""
    the_node = node(request)
    with the_node.db.session() as s:
        found = sessions.current(s, request.cookies.get(sessions.COOKIE))
        if found is None:
            return None
        row, user = found
        principal = sharing.for_user(s, user)
        viewer = Viewer(
            principal,
            row.csrf_token,
            row.id,
            approvals=approvals.count_waiting(s, user=user),
            notices=tuple(
                Notice(n.id, n.text, n.created) for n in notices.get_open(s, user_id=user.id)
            ),
            inbox=notify.inbox.unread(s, principal=principal),
        )
        stale = utcnow() - row.last_seen > TOUCH_EVERY
    if stale:
        with the_node.db.try_write() as s:
            if s is not None:  # else the next request notes it
                sessions.touch(s, session_id=viewer.session_id)
    return viewer


def viewer(request: Request) -> Viewer:
    found = maybe_viewer(request)
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInNeeded(quote(target, safe=""))
    return found


async def csrf_checked(request: Request, who: Annotated[Viewer, Depends(viewer)]) -> Viewer:
    """A state-changing request must carry the session's CSRF token (form field or header)."""
    if request.method in UNSAFE:
        sent = request.headers.get(CSRF_HEADER)
        form = None
        if sent is None:
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
        if not sent or not hmac.compare_digest(sent, who.csrf):
            if form is not None:
                await form.close()  # an uploaded file's temporary copy goes with the refusal
            raise Forbidden(EXPIRED_FORM)
    return who


ViewerDep = Annotated[Viewer, Depends(viewer)]
FormViewerDep = Annotated[Viewer, Depends(csrf_checked)]


async def posted_form(request: Request) -> FormData:
    """The posted form; the CSRF check has already parsed it, so this reads the cache."""
    return await request.form()


FormDep = Annotated[FormData, Depends(posted_form)]
NodeDep = Annotated[Node, Depends(node)]
