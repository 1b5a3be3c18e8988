"""The inbox and the subscriptions pages: what the viewer was told of, and what they follow.

What the inbox shows is decided as the API decides it (`rsn.notify.inbox`): only
notifications of reports the viewer may read now.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError as PydanticError

from rsn.api.errors import describe
from rsn.errors import ValidationError
from rsn.notify import inbox, subscriptions
from rsn.notify.schemas import SubscriptionCreate
from rsn.registry import email
from rsn.registry.models import User
from rsn.sharing import TLP_LEVELS
from rsn.web.deps import FormViewerDep, NodeDep, Viewer, ViewerDep
from rsn.web.templating import page

router = APIRouter(include_in_schema=False)
FILTERS = ("q", "category", "country", "tlp", "observable")
Short = Annotated[str, Form(max_length=2048)]
CHANNELS = [("inbox", "Inbox"), ("email", "E-mail"), ("webhook", "Webhook")]
MODES = [("immediate", "As each report is filed"), ("digest", "In a daily digest")]
NOTICES = {
    "added": "The subscription is saved: you will hear of new reports it matches.",
    "deleted": "The subscription is deleted.",
}


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(
    request: Request, node: NodeDep, who: ViewerDep, cursor: str | None = None
) -> Response:
    """The viewer's notifications, newest first."""
    with node.db.session() as s:
        items, next_cursor = inbox.page(s, principal=who.principal, limit=50, cursor=cursor)
    node.disclose(who.principal, inbox.disclosed(items), "inbox.list")
    return page(request, "notify/inbox.html", who, items=items, next_cursor=next_cursor)


@router.post("/inbox/{notification_id}/read")
def mark_read(notification_id: str, node: NodeDep, who: FormViewerDep) -> RedirectResponse:
    with node.db.session(write=True) as s:
        inbox.mark_read(s, principal=who.principal, notification_id=notification_id)
    return RedirectResponse("/inbox", status_code=303)


def _subscriptions_page(
    request: Request,
    node: NodeDep,
    who: Viewer,
    *,
    form: dict[str, str],
    errors: dict[str, str],
    notice: str | None = None,
    status: int = 200,
) -> Response:
    with node.db.session() as s:
        mine = subscriptions.get_all(s, principal=who.principal)
        last = subscriptions.last_deliveries(s, mine)
        user = s.get(User, who.principal.user_id)
        verified = email.verified_address(user) if user else None
    return page(
        request,
        "notify/subscriptions.html",
        who,
        status_code=status,
        subscriptions=mine,
        form=form,
        errors=errors,
        notice=notice,
        tlp_options=[(t, t) for t in TLP_LEVELS],
        last=last,
        channel_options=CHANNELS,
        mode_options=MODES,
        verified_email=verified,
        mail_on=node.outbound.mailer is not None,
        digest_hour=node.settings.digest_hour,
    )


@router.get("/profile/subscriptions", response_class=HTMLResponse)
def subscriptions_page(
    request: Request, node: NodeDep, who: ViewerDep, notice: str | None = None
) -> Response:
    """The viewer's saved report searches, and a form to add one."""
    return _subscriptions_page(
        request, node, who, form={}, errors={}, notice=NOTICES.get(notice or "")
    )


@router.post("/profile/subscriptions", response_class=HTMLResponse)
def add_subscription(
    request: Request,
    node: NodeDep,
    who: FormViewerDep,
    name: Annotated[str, Form(max_length=200)] = "",
    q: Short = "",
    category: Short = "",
    country: Short = "",
    tlp: Short = "",
    observable: Short = "",
    channel: Annotated[str, Form(max_length=20)] = "inbox",
    mode: Annotated[str, Form(max_length=20)] = "immediate",
    target: Short = "",
    secret: Annotated[str, Form(max_length=512)] = "",
) -> Response:
    """Save a report search and how to hear of it; a problem shows beside its field."""
    form = {"name": name, "q": q, "category": category, "country": country, "tlp": tlp}
    form.update(observable=observable, channel=channel, mode=mode, target=target)
    filters = {k: v.strip() for k, v in form.items() if k in FILTERS and v.strip()}
    body: dict[str, object] = {
        "name": name.strip(),
        "filters": filters,
        "channel": channel,
        "mode": mode,
    }
    if channel == "webhook":
        body.update(target=target.strip() or None, secret=secret or None)
    try:
        data = SubscriptionCreate.model_validate(body)
        with node.db.session(write=True) as s:
            subscriptions.create(s, principal=who.principal, data=data, out=node.outbound)
    except PydanticError as exc:
        errors = {}
        for e in exc.errors():
            problem = describe(dict(e))
            errors[problem.field.removeprefix("filters.")] = problem.message
        return _subscriptions_page(request, node, who, form=form, errors=errors, status=422)
    except ValidationError as exc:
        errors = {p.field.removeprefix("filters."): p.message for p in exc.problems}
        return _subscriptions_page(request, node, who, form=form, errors=errors, status=422)
    return RedirectResponse("/profile/subscriptions?notice=added", status_code=303)


@router.post("/profile/subscriptions/{subscription_id}/delete")
def delete_subscription(
    subscription_id: str, node: NodeDep, who: FormViewerDep
) -> RedirectResponse:
    with node.db.session(write=True) as s:
        subscriptions.delete(s, principal=who.principal, subscription_id=subscription_id)
    return RedirectResponse("/profile/subscriptions?notice=deleted", status_code=303)
