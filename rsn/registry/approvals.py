"""Changes to who is who that the organization or state concerned approves.

A node administrator manages the registry but must never become a reader of what
was not shared with them. Had they made accounts and links themselves, they could
enrol a colleague into any organization, or reset a named `red` reader's password
and sign in as them; had they made organizations, a new "government agency" would
hold its state's key. So the administrator asks, and the ones whose trust is at
stake decide:

- a new member, a role change or a password reset: the member's own organization,
  through one of its liaison or duty officers or a designated organization
  administrator (`User.org_admin`); while it has none (its first members), or is
  itself awaiting approval, its state's focal point;
- a new organization in a member state, or a change of an organization's type or
  state: the focal-point organization of the state it would belong to.

The focal points, the first organization of each state and the organizations of no
state are the operator's, on the command line, where every act is audited too. A
new member's or a reset's one-time link is made when the request is approved and
handed to the approver, who gives it to the person: the administrator never sees
one. Nobody decides a request they made or one about their own account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from rsn import audit, events
from rsn.errors import Conflict, Forbidden, NotFound, ValidationError
from rsn.registry import enrolment, notices, service
from rsn.registry.events import ScopesMoved
from rsn.registry.models import (
    ORG_TYPES,
    ROLES,
    Approval,
    MemberState,
    Organization,
    User,
)
from rsn.store import utcnow

APPROVER_ROLES = frozenset({"liaison", "duty-officer"})
CLI_ONLY = "the operator adds it on the command line (`rsn org add`)"
LABELS = {
    "member": "new member",
    "reset": "password reset",
    "role": "role change",
    "organization": "new organization",
    "organization-change": "organization change",
}


def is_approver(user: User) -> bool:
    """Whether `user` decides for their own organization (nobody decides for another)."""
    return not user.disabled and (user.role in APPROVER_ROLES or user.org_admin)


def _has_approvers(session: Session, org: Organization) -> bool:
    query = select(
        exists().where(
            User.organization_id == org.id,
            User.disabled.is_(False),
            or_(User.role.in_(APPROVER_ROLES), User.org_admin.is_(True)),
        )
    )
    return bool(session.scalar(query))


def focal_point(session: Session, code: str | None) -> Organization | None:
    """The organization that approves for a member state, if the operator named one."""
    state = session.get(MemberState, code) if code else None
    if state is None or state.focal_point_org_id is None:
        return None
    return session.get(Organization, state.focal_point_org_id)


def set_focal_point(session: Session, *, organization: Organization) -> None:
    """Make `organization` its state's focal point (the operator's act, on the command line)."""
    if organization.member_state is None:
        raise ValidationError.field("member_state", "a focal point belongs to a member state.")
    state = session.get(MemberState, organization.member_state)
    assert state is not None  # the organization's foreign key holds it
    state.focal_point_org_id = organization.id
    organization.pending = False
    session.flush()


def _member_approver(session: Session, org: Organization) -> Organization:
    """Who decides for a member of `org`: the organization, else its state's focal point."""
    if org.pending and _open(session, kind="organization", organization_id=org.id) is None:
        raise Conflict(f"The organization '{org.slug}' was refused; it takes no members.")
    if not org.pending and _has_approvers(session, org):
        return org
    point = focal_point(session, org.member_state)
    if point is not None and point.id != org.id:
        return point
    raise Conflict(
        f"No one can approve members of '{org.slug}' yet: it has no liaison, duty officer or "
        "organization administrator, and no focal point of a state above it. The operator "
        "adds its first member on the command line (`rsn user add`)."
    )


def _open(
    session: Session, *, kind: str, organization_id: str | None = None, user_id: str | None = None
) -> Approval | None:
    query = select(Approval).where(Approval.kind == kind, Approval.decided_at.is_(None))
    if organization_id is not None:
        query = query.where(Approval.organization_id == organization_id)
    if user_id is not None:
        query = query.where(Approval.user_id == user_id)
    return session.scalars(query.limit(1)).first()


def _ask(
    session: Session,
    *,
    kind: str,
    by: User,
    organization: Organization,
    approver: Organization,
    user: User | None = None,
    detail: dict[str, Any],
) -> Approval:
    row = Approval(
        kind=kind,
        user_id=user.id if user else None,
        organization_id=organization.id,
        approver_org_id=approver.id,
        detail=detail,
        requested_by=by.id,
        requested_at=utcnow(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=by.username,
        action="approval.request",
        item_ids=_item_ids(row),
        detail={"kind": kind, "approver": approver.slug, **detail},
    )
    return row


def _item_ids(row: Approval) -> list[str]:
    """The request, the organization concerned, its approver and the person, for their logs."""
    ids = [row.id, row.organization_id, row.approver_org_id]
    return ids + ([row.user_id] if row.user_id else [])


# --- asking -----------------------------------------------------------------------------


def request_member(
    session: Session,
    *,
    by: User,
    username: str,
    display_name: str,
    organization: Organization,
    role: str,
) -> Approval:
    """A new account that cannot act, and a request to its organization to approve it."""
    approver = _member_approver(session, organization)
    user = service.create_user(
        session,
        username=username,
        display_name=display_name,
        organization=organization,
        role=role,
    )
    user.disabled = True
    user.pending = True
    detail = {"username": user.username, "role": role, "organization": organization.slug}
    return _ask(
        session,
        kind="member",
        by=by,
        organization=organization,
        approver=approver,
        user=user,
        detail=detail,
    )


def _existing(session: Session, user: User) -> Organization:
    if user.pending:
        raise Conflict(f"'{user.username}' is awaiting approval as a new member.")
    if user.disabled:
        raise Conflict(f"The account '{user.username}' is disabled.")
    org = session.get(Organization, user.organization_id)
    assert org is not None  # the user's foreign key holds it
    return org


def request_reset(session: Session, *, by: User, user: User) -> Approval:
    """A reset the member's organization approves; its link goes to the approver."""
    org = _existing(session, user)
    waiting = _open(session, kind="reset", user_id=user.id)
    if waiting is not None:
        return waiting
    row = _ask(
        session,
        kind="reset",
        by=by,
        organization=org,
        approver=_member_approver(session, org),
        user=user,
        detail={"username": user.username},
    )
    notices.post(
        session,
        user_id=user.id,
        text=f"{by.display_name} asked for a password reset of your account; your "
        "organization's approvers decide. Your password keeps working until a new one is set.",
    )
    return row


def request_role(session: Session, *, by: User, user: User, role: str) -> Approval:
    if role not in ROLES:
        raise ValidationError.field("role", f"'{role}' is not one of {', '.join(ROLES)}.")
    if role == user.role:
        raise ValidationError.field("role", f"'{user.username}' already is a {role}.")
    org = _existing(session, user)
    if _open(session, kind="role", user_id=user.id) is not None:
        raise Conflict(f"A role change for '{user.username}' is already waiting for approval.")
    return _ask(
        session,
        kind="role",
        by=by,
        organization=org,
        approver=_member_approver(session, org),
        user=user,
        detail={"username": user.username, "from": user.role, "to": role},
    )


def _state_focal_point(session: Session, code: str) -> Organization:
    if not code:
        raise ValidationError.field(
            "member_state", f"an organization of no member state is not asked for here: {CLI_ONLY}."
        )
    if service.country_name(code) is None:
        raise ValidationError.field("member_state", f"'{code}' is not an ISO 3166 alpha-2 code.")
    point = focal_point(session, code)
    if point is None:
        raise ValidationError.field(
            "member_state",
            f"{code} has no focal point yet: its first organization is not asked for here, "
            f"{CLI_ONLY}, and becomes its focal point.",
        )
    return point


def request_organization(
    session: Session,
    *,
    by: User,
    slug: str,
    name: str,
    type: str,
    member_state: str,
    sector: str | None = None,
) -> Approval:
    """A new organization, inert until its state's focal point approves it."""
    org = service.create_organization(  # its own checks first; a refusal rolls it back
        session, slug=slug, name=name, type=type, member_state=member_state or None, sector=sector
    )
    approver = _state_focal_point(session, member_state)
    org.pending = True
    detail = {"slug": slug, "type": type, "member_state": member_state}
    return _ask(
        session,
        kind="organization",
        by=by,
        organization=org,
        approver=approver,
        detail=detail,
    )


def request_organization_change(
    session: Session, *, by: User, organization: Organization, type: str, member_state: str
) -> Approval:
    """A new type or state, applied when the focal point of the state it joins approves."""
    if type not in ORG_TYPES:
        raise ValidationError.field("type", f"'{type}' is not one of {', '.join(ORG_TYPES)}.")
    if organization.pending:
        raise Conflict(f"'{organization.slug}' is itself awaiting approval.")
    if type == organization.type and member_state == (organization.member_state or ""):
        raise ValidationError.field("type", "neither the type nor the member state changes.")
    moves = member_state != organization.member_state
    if moves and focal_point(session, organization.member_state) is organization:
        raise Conflict(
            f"'{organization.slug}' is its state's focal point; only the operator moves it."
        )
    if _open(session, kind="organization-change", organization_id=organization.id):
        raise Conflict(f"A change of '{organization.slug}' is already waiting for approval.")
    approver = _state_focal_point(session, member_state)
    detail = {
        "slug": organization.slug,
        "type": [organization.type, type],
        "member_state": [organization.member_state, member_state],
    }
    return _ask(
        session,
        kind="organization-change",
        by=by,
        organization=organization,
        approver=approver,
        detail=detail,
    )


# --- deciding ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """What a decision did; `link` is the one-time secret to hand over, shown once."""

    approval: Approval
    user: User | None
    link: str | None = None
    link_purpose: str = ""


def waiting(session: Session, *, user: User) -> list[Approval]:
    """The requests `user` may decide, oldest first: none unless they approve for their own."""
    if not is_approver(user):
        return []
    query = select(Approval).where(
        Approval.approver_org_id == user.organization_id, Approval.decided_at.is_(None)
    )
    return list(session.scalars(query.order_by(Approval.requested_at)))


def count_waiting(session: Session, *, user: User) -> int:
    return len(waiting(session, user=user))


def decided(session: Session, *, user: User, limit: int = 20) -> list[Approval]:
    """Recent decisions of the user's organization, for its approvers to look back on."""
    if not is_approver(user):
        return []
    query = select(Approval).where(
        Approval.approver_org_id == user.organization_id, Approval.decided_at.is_not(None)
    )
    return list(session.scalars(query.order_by(Approval.decided_at.desc()).limit(limit)))


def requested_by(session: Session, *, user: User, limit: int = 50) -> list[Approval]:
    """What `user` asked for, newest first, with how it was decided."""
    query = select(Approval).where(Approval.requested_by == user.id)
    return list(session.scalars(query.order_by(Approval.requested_at.desc()).limit(limit)))


def about_user(session: Session, *, user_id: str) -> list[Approval]:
    query = select(Approval).where(Approval.user_id == user_id, Approval.decided_at.is_(None))
    return list(session.scalars(query.order_by(Approval.requested_at)))


def pending_organizations(session: Session) -> dict[str, Approval]:
    """Each organization awaiting its focal point, with its request."""
    query = select(Approval).where(Approval.kind == "organization", Approval.decided_at.is_(None))
    return {row.organization_id: row for row in session.scalars(query)}


def decide(session: Session, *, approval_id: str, approver: User, approve: bool) -> Decision:
    """Approve or refuse one request; one its decider may not see answers 404."""
    row = session.get(Approval, approval_id)
    if row is None or row.approver_org_id != approver.organization_id or not is_approver(approver):
        raise NotFound("approval", approval_id)
    if row.decided_at is not None:
        raise Conflict(f"This {LABELS[row.kind]} was already {row.decision}.")
    if row.requested_by == approver.id:
        raise Forbidden("Someone other than who asked decides a request.")
    if row.user_id == approver.id:
        raise Forbidden("Someone else in your organization decides a request about you.")
    user = session.get(User, row.user_id) if row.user_id else None
    decision = _apply(session, row, user, approver) if approve else _refuse(row, user)
    row.decided_by = approver.id
    row.decided_at = utcnow()
    row.decision = "approved" if approve else "refused"
    audit.record(
        session,
        actor=approver.username,
        action=f"approval.{row.decision}",
        item_ids=_item_ids(row),
        detail={"kind": row.kind, **row.detail},
    )
    _tell(session, row, user, approver)
    return decision


def _apply(session: Session, row: Approval, user: User | None, approver: User) -> Decision:
    org = session.get(Organization, row.organization_id)
    assert org is not None  # the request's foreign key holds it
    if row.kind == "organization":
        org.pending = False
        return Decision(row, None)
    if row.kind == "organization-change":
        _change_organization(session, org, row.detail)
        return Decision(row, None)
    assert user is not None  # every other kind is about a person
    if row.kind == "role":
        if user.role != row.detail["from"]:
            raise Conflict(f"'{user.username}' changed role since this was asked; ask again.")
        user.role = row.detail["to"]
        session.flush()
        events.publish(session, ScopesMoved((), (user.id,)))
        return Decision(row, user)
    if row.kind == "member":
        if org.pending:
            raise Conflict(f"Approve the organization '{org.slug}' before its members.")
        user.pending = False
        user.disabled = False
    purpose = "enrol" if row.kind == "member" else "reset"
    link = enrolment.create(session, user=user, purpose=purpose, created_by=approver)
    return Decision(row, user, link=link, link_purpose=purpose)


def _change_organization(session: Session, org: Organization, detail: dict[str, Any]) -> None:
    if [org.type, org.member_state] != [detail["type"][0], detail["member_state"][0]]:
        raise Conflict(f"'{org.slug}' changed since this was asked; ask again.")
    org.type = detail["type"][1]
    org.member_state = service.ensure_member_state(session, code=detail["member_state"][1]).code
    session.flush()
    events.publish(session, ScopesMoved((org.id,)))


def _refuse(row: Approval, user: User | None) -> Decision:
    """A refused member stays disabled; a refused organization stays inert, both on record."""
    if row.kind == "member" and user is not None:
        user.pending = False
    return Decision(row, user)


def _tell(session: Session, row: Approval, user: User | None, approver: User) -> None:
    """The one who asked and the person concerned hear how it went."""
    what = f"{LABELS[row.kind]} ({describe(row)})"
    by = f"{approver.display_name} of your organization" if user else approver.display_name
    notices.post(
        session,
        user_id=row.requested_by,
        text=f"Your request for a {what} was {row.decision} by {approver.display_name}.",
    )
    if user is None or row.kind == "member" or user.id == row.requested_by:
        return
    if row.kind == "reset" and row.decision == "approved":
        text = (
            f"A password reset of your account was approved by {by}, who holds the link. "
            "If you did not ask for it, tell your organization now."
        )
    else:
        text = f"The {what} of your account was {row.decision} by {by}."
    notices.post(session, user_id=user.id, text=text)


def describe(row: Approval) -> str:
    """One line a person reads in a queue or a notice."""
    d = row.detail
    if row.kind == "member":
        return f"{d['username']} as {d['role']} of {d['organization']}"
    if row.kind == "role":
        return f"{d['username']}: {d['from']} → {d['to']}"
    if row.kind == "reset":
        return str(d["username"])
    if row.kind == "organization":
        return f"{d['slug']}, {d['type']} of {d['member_state']}"
    (t0, t1), (s0, s1) = d["type"], d["member_state"]
    parts = [f"type {t0} → {t1}" if t0 != t1 else "", f"state {s0} → {s1}" if s0 != s1 else ""]
    return f"{d['slug']}: " + ", ".join(p for p in parts if p)
