"""The approvers' queue in the browser, and notices about one's own account.

An organization's liaison and duty officers (and any organization administrator)
decide what a node administrator asked for its members; a focal point's decide its
state's new organizations. Approving a new member or a reset shows its one-time
link here, to the approver who hands it over: never to the administrator who asked.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from rsn.errors import Forbidden
from rsn.registry import approvals, enrolment, notices
from rsn.registry.models import Approval, Organization, User
from rsn.web.deps import FormViewerDep, NodeDep, Viewer, ViewerDep
from rsn.web.templating import page
from rsn.web.views.profile import NO_STORE

router = APIRouter(include_in_schema=False)
NOT_APPROVER = (
    "Requests are decided by an organization's liaison and duty officers and its "
    "organization administrators."
)
DECIDED = {"approved": "The request is approved.", "refused": "The request is refused."}


def _user(s: Session, who: Viewer) -> User:
    user = s.get(User, who.principal.user_id)
    assert user is not None  # the viewer dependency found them in this request
    return user


def _rows(s: Session, found: list[Approval]) -> list[dict[str, Any]]:
    """Each request with the names a person reads, not ids."""
    ids = {a.requested_by for a in found} | {a.decided_by for a in found if a.decided_by}
    names = {u.id: u for u in s.query(User).filter(User.id.in_(ids))} if ids else {}
    orgs = {a.organization_id for a in found}
    by_org = {o.id: o for o in s.query(Organization).filter(Organization.id.in_(orgs))}
    return [
        {
            "approval": a,
            "label": approvals.LABELS[a.kind],
            "what": approvals.describe(a),
            "organization": by_org[a.organization_id],
            "requested_by": names.get(a.requested_by),
            "decided_by": names.get(a.decided_by or ""),
        }
        for a in found
    ]


@router.get("/approvals", response_class=HTMLResponse)
def queue(request: Request, node: NodeDep, who: ViewerDep) -> Response:
    """What waits for the viewer's organization to decide, oldest first, and what it decided."""
    with node.db.session() as s:
        user = _user(s, who)
        if not approvals.is_approver(user):
            raise Forbidden(NOT_APPROVER)
        waiting = _rows(s, approvals.waiting(s, user=user))
        decided = _rows(s, approvals.decided(s, user=user))
    notice = DECIDED.get(str(request.query_params.get("notice", "")))
    return page(
        request,
        "approvals/index.html",
        who,
        waiting=waiting,
        decided=decided,
        notice=notice,
        me=who.principal.user_id,
    )


@router.post("/approvals/{approval_id}/approve", response_class=HTMLResponse)
def approve(request: Request, approval_id: str, node: NodeDep, who: FormViewerDep) -> Response:
    return _decide(request, node, who, approval_id, approve=True)


@router.post("/approvals/{approval_id}/refuse", response_class=HTMLResponse)
def refuse(request: Request, approval_id: str, node: NodeDep, who: FormViewerDep) -> Response:
    return _decide(request, node, who, approval_id, approve=False)


def _decide(
    request: Request, node: NodeDep, who: Viewer, approval_id: str, *, approve: bool
) -> Response:
    with node.db.session(write=True) as s:
        decision = approvals.decide(
            s, approval_id=approval_id, approver=_user(s, who), approve=approve
        )
        user = decision.user
        shown = {"username": user.username, "display_name": user.display_name} if user else {}
        role = user.role if user else ""
    if decision.link is None:
        outcome = "approved" if approve else "refused"
        return RedirectResponse(f"/approvals?notice={outcome}", status_code=303)
    link = str(request.base_url).rstrip("/") + f"/enrol/{decision.link}"
    response = page(
        request,
        "approvals/link.html",
        who,
        person=shown,
        role=role,
        link=link,
        purpose=decision.link_purpose,
        hours=int(enrolment.LIFETIME.total_seconds() // 3600),
    )
    response.headers.update(NO_STORE)
    return response


@router.post("/notices/{notice_id}/dismiss")
def dismiss(
    notice_id: str,
    node: NodeDep,
    who: FormViewerDep,
    next: Annotated[str, Form(max_length=300)] = "/dashboard",
) -> RedirectResponse:
    """Dismiss one of one's own notices and go back to the page it was dismissed on."""
    with node.db.session(write=True) as s:
        notices.dismiss(s, user_id=who.principal.user_id, notice_id=notice_id)
    back = next if next.startswith("/") and not next.startswith("//") else "/dashboard"
    return RedirectResponse(back, status_code=303)
