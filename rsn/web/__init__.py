"""The browser face of the node: server-rendered pages with HTMX, every asset served locally.

Pages ask the same services as the API and go through the same sharing policy;
none queries around it.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from rsn.web.deps import SignInNeeded, maybe_viewer
from rsn.web.templating import page

__all__ = ["SignInNeeded", "error_page", "to_sign_in"]

TITLES = {
    400: "The request could not be read",
    401: "Sign in needed",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed here",
    409: "Conflict",
    422: "Something in the form needs fixing",
    503: "The node is busy: try again in a moment",
}


def error_page(request: Request, status: int, message: str) -> Response:
    """An error as a page; a hidden item reads exactly like an absent one."""
    title = TITLES.get(status, "Something went wrong")
    return page(
        request,
        "errors/error.html",
        maybe_viewer(request),
        status_code=status,
        status=status,
        title=title,
        message=message,
    )


async def to_sign_in(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInNeeded)
    return RedirectResponse(f"/login?next={exc.next_url}", status_code=303)
