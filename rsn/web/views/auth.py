"""Signing in and out."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import unquote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from rsn.errors import Forbidden
from rsn.web import sessions
from rsn.web.deps import EXPIRED_FORM, FormViewerDep, NodeDep, maybe_viewer
from rsn.web.templating import page

router = APIRouter(include_in_schema=False)
LOGIN_CSRF = "rsn_login_csrf"


def _safe_next(target: str | None) -> str:
    """Only a path on this node: never a redirect to another host."""
    path = unquote(target or "")
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/dashboard"
    return path


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


@router.get("/", response_class=RedirectResponse)
def home(request: Request) -> RedirectResponse:
    return RedirectResponse("/dashboard" if maybe_viewer(request) else "/login", status_code=303)


NOTICES = {"password-set": "Your password is set. Sign in with it."}


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None, notice: str | None = None) -> Response:
    if maybe_viewer(request):
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(
        request, next=next, error=None, username="", notice=NOTICES.get(notice or "")
    )


def _login_page(
    request: Request,
    *,
    next: str | None,
    error: str | None,
    username: str,
    status: int = 200,
    notice: str | None = None,
) -> Response:
    token = secrets.token_urlsafe(32)
    response = page(
        request,
        "auth/login.html",
        None,
        status_code=status,
        csrf_token=token,
        next=next or "",
        error=error,
        username=username,
        notice=notice,
    )
    response.set_cookie(
        LOGIN_CSRF, token, httponly=True, samesite="lax", secure=_secure(request), path="/login"
    )
    return response


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    node: NodeDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Check the password; the refusal is the same whether or not the account exists."""
    expected = request.cookies.get(LOGIN_CSRF, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        raise Forbidden(EXPIRED_FORM)
    if not username or not password:
        return _login_page(
            request,
            next=next,
            error="Enter your username and password.",
            username=username,
            status=422,
        )
    address = request.client.host if request.client else "unknown"
    with node.db.session(write=True) as s:
        signed = sessions.sign_in(s, username=username, password=password, address=address)
    if isinstance(signed, sessions.Refusal):
        return _login_page(request, next=next, error=signed.message, username=username, status=401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        sessions.COOKIE,
        signed.secret,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        max_age=int(sessions.IDLE.total_seconds()),
    )
    response.delete_cookie(LOGIN_CSRF, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, node: NodeDep, _viewer: FormViewerDep) -> RedirectResponse:
    secret = request.cookies.get(sessions.COOKIE)
    if secret:
        with node.db.session(write=True) as s:
            sessions.sign_out(s, secret=secret)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(sessions.COOKIE)
    return response
