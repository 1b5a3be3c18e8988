"""The browser face of the node: server-rendered pages with HTMX, every asset served locally.

Pages ask the same services as the API and go through the same sharing policy;
none queries around it.
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from rsn.web.deps import SignInNeeded, maybe_viewer
from rsn.web.templating import page
from rsn.web.views import (
    admin,
    approvals,
    auth,
    dashboard,
    editing,
    exchange,
    mapview,
    observables,
    profile,
    public,
    releases,
    reports,
)

__all__ = ["SignInNeeded", "error_page", "mount", "to_sign_in"]

TITLES = {
    400: "The request could not be read",
    401: "Sign in needed",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed here",
    409: "Conflict",
    422: "Something in the form needs fixing",
}


def mount(app: FastAPI) -> None:
    """The web routes and the static files, mounted on the node's app."""
    app.mount(
        "/static", StaticFiles(directory=str(resources.files("rsn.web") / "static")), name="static"
    )
    for module in (
        auth,
        dashboard,
        reports,
        editing,
        releases,
        observables,
        mapview,
        exchange,
        public,
        admin,
        approvals,
        profile,
    ):
        app.include_router(module.router)


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
