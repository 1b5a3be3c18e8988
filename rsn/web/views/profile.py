"""Your own account: enrolment links, your password, your e-mail address, and the API
tokens you make yourself.

Only the user ever chooses their password or sees their token: the enrolment page
needs no session (the one-time link is the credential), and a new API token is
shown once, on the page that answers its creation, and never again.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from rsn import audit, config
from rsn.errors import Forbidden, NotFound, RSNError, ValidationError
from rsn.notify.mail import Mailer
from rsn.registry import email, enrolment, tokens
from rsn.registry.models import ApiToken, User
from rsn.store import utcnow
from rsn.web import sessions
from rsn.web.deps import EXPIRED_FORM, FormViewerDep, NodeDep, Viewer, ViewerDep
from rsn.web.templating import page

router = APIRouter(include_in_schema=False)
ENROL_CSRF = "rsn_enrol_csrf"
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
MAX_TOKEN_DAYS = 3650
NOTICES = {
    "token-revoked": "The token is revoked; requests with it are refused from now on.",
    "password-changed": "Your password is changed; your other browsers were signed out.",
    "email-sent": "A code is on its way to the address you gave: enter it below, or open the "
    "link in the mail, within 24 hours.",
    "email-verified": "Your e-mail address is verified: the node may mail you there.",
    "email-removed": "Your e-mail address is removed: the node sends you no mail.",
}
Text = Annotated[str, Form(max_length=1000)]


def field_errors(
    exc: RSNError, default: str, rename: Mapping[str, str] | None = None
) -> dict[str, str]:
    """An error as messages keyed by form field, to show beside the field it concerns."""
    if isinstance(exc, ValidationError):
        names = rename or {}
        return {
            names.get(p.field, p.field): p.message[:1].upper() + p.message[1:] for p in exc.problems
        }
    return {default: exc.message}


# --- enrolment: the user chooses their own password -------------------------------------


def _enrol_page(
    request: Request, *, secret: str, username: str, errors: dict[str, str], status: int = 200
) -> Response:
    """The form with a fresh double-submit token: there is no session to hold one."""
    token = secrets.token_urlsafe(32)
    response = page(
        request,
        "auth/enrol.html",
        None,
        status_code=status,
        csrf_token=token,
        secret=secret,
        username=username,
        errors=errors,
    )
    response.headers.update(NO_STORE)
    response.set_cookie(
        ENROL_CSRF,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/enrol",
    )
    return response


@router.get("/enrol/{secret}", response_class=HTMLResponse)
def enrol_form(request: Request, node: NodeDep, secret: str) -> Response:
    """Unknown, expired and used links all answer the same 404 page."""
    with node.db.session() as s:
        user = enrolment.peek(s, secret)
    return _enrol_page(request, secret=secret, username=user.username, errors={})


@router.post("/enrol/{secret}", response_class=HTMLResponse)
def enrol(
    request: Request,
    node: NodeDep,
    secret: str,
    password: Text = "",
    confirm_password: Text = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Set the chosen password, use the link up, and sign out every browser of the user."""
    expected = request.cookies.get(ENROL_CSRF, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        raise Forbidden(EXPIRED_FORM)
    with node.db.session() as s:
        username = enrolment.peek(s, secret).username
    errors = _new_password_problems(password, confirm_password, field="password")
    if not errors:
        try:
            with node.db.session(write=True) as s:
                user = enrolment.complete(s, secret=secret, password=password)
                sessions.end_all(s, user_id=user.id)
        except ValidationError as exc:
            errors = field_errors(exc, "password")
    if errors:
        return _enrol_page(request, secret=secret, username=username, errors=errors, status=422)
    response = RedirectResponse("/login?notice=password-set", status_code=303)
    response.delete_cookie(ENROL_CSRF, path="/enrol")
    return response


def _new_password_problems(password: str, confirm: str, *, field: str) -> dict[str, str]:
    """The checks a form makes before the service's own: both boxes filled, and equal."""
    if not password:
        return {field: "Choose a password of at least 12 characters."}
    if password != confirm:
        return {"confirm_password": "The two passwords are not the same; type it again."}
    return {}


# --- the profile page -------------------------------------------------------------------


def _profile_page(
    request: Request,
    node: NodeDep,
    who: Viewer,
    *,
    status: int = 200,
    **context: object,
) -> Response:
    with node.db.session() as s:
        user = s.get(User, who.principal.user_id)
        assert user is not None  # the viewer dependency found them a moment ago
        owned = sorted(tokens.get_all(s, user=user), key=lambda t: t.created, reverse=True)
        pending = email.pending_address(s, user=user)
    context.setdefault("errors", {})
    context.setdefault("form", {})
    notice = NOTICES.get(str(request.query_params.get("notice", "")))
    response = page(
        request,
        "profile/profile.html",
        who,
        status_code=status,
        user=user,
        tokens=owned,
        now=utcnow(),
        notice=notice,
        verified_email=email.verified_address(user),
        pending_email=pending,
        mail_on=bool(node.settings.smtp_host),
        **context,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/profile", response_class=HTMLResponse)
def profile(request: Request, node: NodeDep, who: ViewerDep) -> Response:
    return _profile_page(request, node, who)


def _expiry_days(raw: str) -> int | None:
    """Blank means the token never expires; otherwise a whole number of days."""
    if not raw.strip():
        return None
    if not raw.strip().isdigit() or not 1 <= int(raw) <= MAX_TOKEN_DAYS:
        raise ValidationError.field(
            "expires_days", f"Must be a whole number of days from 1 to {MAX_TOKEN_DAYS}."
        )
    return int(raw)


@router.post("/profile/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    node: NodeDep,
    who: FormViewerDep,
    name: Annotated[str, Form(max_length=120)] = "",
    expires_days: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Mint a token for yourself; the answer is the only place it is ever shown."""
    form = {"name": name, "expires_days": expires_days}
    try:
        if not name.strip():
            raise ValidationError.field("name", "Give the token a name, e.g. 'MISP sync'.")
        days = _expiry_days(expires_days)
        expires = utcnow() + timedelta(days=days) if days else None
        with node.db.session(write=True) as s:
            issued = _mint(s, who, name=name.strip(), expires=expires)
    except ValidationError as exc:
        return _profile_page(
            request, node, who, status=422, errors=field_errors(exc, "name"), form=form
        )
    return _profile_page(request, node, who, new_token=issued)


def _mint(s: Session, who: Viewer, *, name: str, expires: datetime | None) -> tokens.IssuedToken:
    user = s.get(User, who.principal.user_id)
    assert user is not None
    issued = tokens.create(s, user=user, name=name, expires_at=expires)
    audit.record(
        s,
        actor=user.username,
        action="token.create",
        item_ids=[issued.id, user.id, user.organization_id],
        detail={"prefix": issued.prefix, "name": name},
    )
    return issued


@router.post("/profile/tokens/{token_id}/revoke")
def revoke_token(node: NodeDep, who: FormViewerDep, token_id: str) -> RedirectResponse:
    """Revoke one of your own tokens; someone else's answers 404, as if absent."""
    with node.db.session(write=True) as s:
        row = s.get(ApiToken, token_id)
        if row is None or row.user_id != who.principal.user_id:
            raise NotFound("token", token_id)
        tokens.revoke(s, token_id_or_prefix=row.id)
        audit.record(
            s,
            actor=who.principal.username,
            action="token.revoke",
            item_ids=[row.id, who.principal.user_id, who.principal.organization_id],
            detail={"prefix": row.prefix},
        )
    return RedirectResponse("/profile?notice=token-revoked", status_code=303)


@router.post("/profile/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    node: NodeDep,
    who: FormViewerDep,
    current_password: Text = "",
    new_password: Text = "",
    confirm_password: Text = "",
) -> Response:
    """Change your password; your other browsers are signed out, this one stays."""
    errors = _new_password_problems(new_password, confirm_password, field="new_password")
    if not current_password:
        errors["current_password"] = "Enter your current password."
    if not errors:
        try:
            with node.db.session(write=True) as s:
                user = s.get(User, who.principal.user_id)
                assert user is not None
                enrolment.change_password(s, user=user, current=current_password, new=new_password)
                sessions.end_all(s, user_id=user.id, keep=who.session_id)
        except ValidationError as exc:
            errors = field_errors(exc, "new_password", {"password": "new_password"})
    if errors:
        return _profile_page(request, node, who, status=422, errors=errors)
    return RedirectResponse("/profile?notice=password-changed", status_code=303)


# --- your e-mail address ------------------------------------------------------------------

Code = Annotated[str, Form(max_length=40)]


@router.post("/profile/email", response_class=HTMLResponse)
def give_email(
    request: Request,
    node: NodeDep,
    who: FormViewerDep,
    address: Annotated[str, Form(alias="email", max_length=320)] = "",
) -> Response:
    """Mail a code to the address given; it becomes yours when the code comes back."""
    with node.db.session() as s:
        user = s.get(User, who.principal.user_id)
    assert user is not None
    try:
        email.request_check(
            node.db,
            user=user,
            email=address,
            mailer=Mailer.of(node.settings),
            base_url=config.base_url(node.settings),
        )
    except ValidationError as exc:
        errors = field_errors(exc, "email")
        return _profile_page(request, node, who, status=422, errors=errors, form={"email": address})
    return RedirectResponse("/profile?notice=email-sent", status_code=303)


@router.get("/profile/email/verify", response_class=HTMLResponse)
def verify_email_form(request: Request, node: NodeDep, who: ViewerDep, code: str = "") -> Response:
    """The mail's link lands here; only the button, a POST, confirms (a GET changes nothing)."""
    with node.db.session() as s:
        user = s.get(User, who.principal.user_id)
        assert user is not None
        pending = email.pending_address(s, user=user)
    response = page(
        request,
        "profile/email_verify.html",
        who,
        code=code[:40],
        pending_email=pending,
        errors={},
    )
    # the code is in the address: kept out of caches (Referer goes to this node alone)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/profile/email/verify", response_class=HTMLResponse)
def verify_email(request: Request, node: NodeDep, who: FormViewerDep, code: Code = "") -> Response:
    """The code from the mail: the address it went to becomes yours."""
    with node.db.session(write=True) as s:
        user = s.get(User, who.principal.user_id)
        assert user is not None
        outcome = email.confirm(s, user=user, code=code)
    if isinstance(outcome, email.WrongCode):  # its record of the wrong try is committed
        return _profile_page(request, node, who, status=422, errors=field_errors(outcome, "code"))
    return RedirectResponse("/profile?notice=email-verified", status_code=303)


@router.post("/profile/email/remove")
def remove_email(node: NodeDep, who: FormViewerDep) -> RedirectResponse:
    with node.db.session(write=True) as s:
        user = s.get(User, who.principal.user_id)
        assert user is not None
        email.remove(s, user=user)
    return RedirectResponse("/profile?notice=email-removed", status_code=303)
