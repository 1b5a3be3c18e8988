"""HTTP routes for an organization's approvers: the queue of requests, approve, refuse.

The same decisions as `/approvals` in the browser (`rsn.registry.approvals`). An
approved new member or reset answers with its one-time link, once, to the approver
who hands it over; what only the administrator asked for answers nothing anywhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from rsn.api.deps import NodeDep, PrincipalDep
from rsn.api.jsonbody import JSONRoute
from rsn.errors import Forbidden
from rsn.registry import approvals
from rsn.registry.models import Approval, Organization, User

router = APIRouter(prefix="/api/v1", tags=["approvals"], route_class=JSONRoute)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class ApprovalRead(BaseModel):
    id: str
    kind: Literal["member", "reset", "role", "organization", "organization-change"]
    summary: str = Field(description="what is asked, in one line")
    organization: str = Field(description="slug of the organization concerned")
    username: str | None = Field(description="the person concerned, for a member, reset or role")
    requested_by: str
    requested_at: datetime
    decision: Literal["approved", "refused"] | None
    decided_by: str | None
    decided_at: datetime | None


class DecisionRead(BaseModel):
    approval: ApprovalRead
    enrolment_link: str | None = Field(
        description="an approved member's or reset's one-time link, shown only in this answer"
    )


def _approver(session: Session, principal: PrincipalDep) -> User:
    user = session.get(User, principal.user_id)
    if user is None or not approvals.is_approver(user):
        raise Forbidden(
            "Requests are decided by an organization's liaison and duty officers and its "
            "organization administrators."
        )
    return user


def _read(session: Session, row: Approval) -> ApprovalRead:
    def name(user_id: str | None) -> str | None:
        user = session.get(User, user_id) if user_id else None
        return user.username if user else None

    org = session.get(Organization, row.organization_id)
    return ApprovalRead(
        id=row.id,
        kind=row.kind,
        summary=approvals.describe(row),
        organization=org.slug if org else "",
        username=name(row.user_id),
        requested_by=name(row.requested_by) or "",
        requested_at=row.requested_at,
        decision=row.decision,
        decided_by=name(row.decided_by),
        decided_at=row.decided_at,
    )


@router.get("/approvals", response_model=list[ApprovalRead])
def approval_queue(node: NodeDep, principal: PrincipalDep) -> list[ApprovalRead]:
    """What waits for the caller's organization to decide, oldest first."""
    with node.db.session() as session:
        user = _approver(session, principal)
        return [_read(session, row) for row in approvals.waiting(session, user=user)]


@router.post("/approvals/{approval_id}/approve", response_model=DecisionRead)
def approve(
    approval_id: str, request: Request, response: Response, node: NodeDep, principal: PrincipalDep
) -> DecisionRead:
    """Approve; a new member or a reset answers with the link to hand over (`no-store`)."""
    return _decide(approval_id, request, response, node, principal, approve=True)


@router.post("/approvals/{approval_id}/refuse", response_model=DecisionRead)
def refuse(
    approval_id: str, request: Request, response: Response, node: NodeDep, principal: PrincipalDep
) -> DecisionRead:
    """Refuse: a new member stays disabled, a new organization inert, a change unmade."""
    return _decide(approval_id, request, response, node, principal, approve=False)


def _decide(
    approval_id: str,
    request: Request,
    response: Response,
    node: NodeDep,
    principal: PrincipalDep,
    *,
    approve: bool,
) -> DecisionRead:
    with node.db.session(write=True) as session:
        user = _approver(session, principal)
        decision = approvals.decide(
            session, approval_id=approval_id, approver=user, approve=approve
        )
        read = _read(session, decision.approval)
    response.headers.update(NO_STORE)
    link = None
    if decision.link:
        link = str(request.base_url).rstrip("/") + f"/enrol/{decision.link}"
    return DecisionRead(approval=read, enrolment_link=link)
