"""Node administration in the browser: users, organizations and sharing groups.

A node-admin manages who is who, never what was shared: these pages show no report
content at all. An admin asks, and the organization concerned decides
(`rsn.registry.approvals`): a new member, a role change or a password reset waits
for the member's organization, a new organization or a change of type or state for
its state's focal point. An admin never sees a one-time link (the approver hands it
over), never sets a password and never mints another user's API token. A sharing
group's membership is changed only by its owning organization, as the registry
enforces. Every action is audited with the admin as actor and the affected user's or
organization's ids, so that organization can see what was done to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rsn import audit
from rsn.errors import Conflict, Forbidden, NotFound, RSNError, ValidationError
from rsn.registry import ORG_TYPES, ROLES, approvals, enrolment, tokens
from rsn.registry import service as registry
from rsn.registry.models import Organization, SharingGroup, User
from rsn.registry.sessions import WebSession
from rsn.web import sessions
from rsn.web.deps import FormViewerDep, NodeDep, Viewer, ViewerDep
from rsn.web.templating import page
from rsn.web.views import releases
from rsn.web.views.profile import field_errors

router = APIRouter(prefix="/admin", include_in_schema=False)
ADMIN_ONLY = "These pages are for node administrators."
FORM_ERRORS = (ValidationError, Conflict, NotFound)
NOTICES = {
    "disabled": "The account is disabled, its browsers signed out and its API tokens revoked.",
    "revoked": "The API tokens are revoked; requests with them are refused from now on.",
    "members": "The group's members are saved.",
    "group": "The sharing group is created, owned by your organization.",
    "organization": "The organization is asked for; its state's focal point approves it.",
    "member": "The new member is asked for; their organization approves them and hands "
    "them the enrolment link.",
    "reset": "The reset is asked for; the user's organization approves it and hands them the link.",
    "role": "The role change is asked for; the user's organization approves it.",
    "change": "The change is asked for; the focal point of its state approves it.",
    "release": "The organization's release setting is saved.",
}
Short = Annotated[str, Form(max_length=300)]
# Each status a user's badge can show, and what it means; the legend prints these words.
STATUSES = {
    "awaiting approval": "asked for; their organization has not approved them yet",
    "active": "has a password and may sign in",
    "invited": "an enrolment link was made and not used yet",
    "no password": "no password and no open enrolment link: ask for one on the user's page",
    "disabled": "may not sign in; browsers signed out, API tokens revoked",
}


def _admin(who: Viewer) -> Viewer:
    if who.principal.role != "node-admin":
        raise Forbidden(ADMIN_ONLY)
    return who


def admin_viewer(who: ViewerDep) -> Viewer:
    return _admin(who)


def admin_form_viewer(who: FormViewerDep) -> Viewer:
    """A node-admin whose form carries the session's CSRF token."""
    return _admin(who)


AdminDep = Annotated[Viewer, Depends(admin_viewer)]
AdminFormDep = Annotated[Viewer, Depends(admin_form_viewer)]


def _acting_user(s: Session, who: Viewer) -> User:
    user = s.get(User, who.principal.user_id)
    assert user is not None  # the viewer dependency found them in this request
    return user


def _notice(request: Request) -> str | None:
    return NOTICES.get(str(request.query_params.get("notice", "")))


def _page(
    request: Request, who: Viewer, name: str, *, status: int = 200, **context: Any
) -> Response:
    """An admin page with its form state (empty unless re-shown) and any notice."""
    context.setdefault("errors", {})
    context.setdefault("form", {})
    return page(request, name, who, status_code=status, notice=_notice(request), **context)


def _done(node: NodeDep, url: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"{url}?notice={notice}", status_code=303)


# --- users ------------------------------------------------------------------------------


def _user_rows(s: Session) -> list[dict[str, Any]]:
    """Every user with their organization, status and last browser activity (one query each)."""
    slugs = {o.id: o.slug for o in registry.get_organizations(s)}
    invited = enrolment.users_with_pending_links(s)
    query = select(WebSession.user_id, func.max(WebSession.last_seen)).group_by(WebSession.user_id)
    seen = {user_id: last for user_id, last in s.execute(query)}
    return [
        {
            "user": u,
            "organization": slugs.get(u.organization_id, ""),
            "status": _status(u, invited),
            "last_seen": seen.get(u.id),
        }
        for u in registry.get_users(s)
    ]


def _org_options(orgs: Sequence[Organization]) -> list[tuple[str, str]]:
    return [(o.slug, f"{o.slug} — {o.name}") for o in orgs]


def _status(user: User, invited: set[str]) -> str:
    if user.pending:
        return "awaiting approval"
    if user.disabled:
        return "disabled"
    if user.password_hash:
        return "active"
    return "invited" if user.id in invited else "no password"


def _users_page(
    request: Request, node: NodeDep, who: Viewer, *, status: int = 200, **context: Any
) -> Response:
    with node.db.session() as s:
        rows = _user_rows(s)
        orgs = registry.get_organizations(s)
    return _page(
        request,
        who,
        "admin/users.html",
        status=status,
        rows=rows,
        statuses=STATUSES,
        org_options=_org_options(orgs),
        role_options=[(r, r) for r in ROLES],
        **context,
    )


@router.get("/users", response_class=HTMLResponse)
def users(request: Request, node: NodeDep, who: AdminDep) -> Response:
    return _users_page(request, node, who)


@router.post("/users", response_class=HTMLResponse)
def add_user(
    request: Request,
    node: NodeDep,
    who: AdminFormDep,
    username: Short = "",
    display_name: Short = "",
    organization: Short = "",
    role: Short = "",
) -> Response:
    """Ask for a new member: their organization approves them and hands over the link."""
    form = {
        "username": username.strip().lower(),
        "display_name": display_name.strip(),
        "organization": organization,
        "role": role,
    }
    try:
        with node.db.session(write=True) as s:
            _request_user(s, _acting_user(s, who), form)
    except (*FORM_ERRORS, Conflict) as exc:
        errors = _add_user_errors(exc)
        return _users_page(request, node, who, status=exc.status, errors=errors, form=form)
    return _done(node, "/admin/users", "member")


def _request_user(s: Session, admin: User, form: dict[str, str]) -> None:
    if not form["display_name"]:
        raise ValidationError.field("display_name", "Enter the name others will see.")
    approvals.request_member(
        s,
        by=admin,
        username=form["username"],
        display_name=form["display_name"],
        organization=registry.get_organization(s, slug=form["organization"]),
        role=form["role"],
    )


def _add_user_errors(exc: RSNError) -> dict[str, str]:
    if isinstance(exc, NotFound):
        return {"organization": "Choose an organization from the list."}
    if isinstance(exc, Conflict) and "approve" in exc.message:
        return {"organization": exc.message}
    return field_errors(exc, "username")


@router.get("/users/{username}", response_class=HTMLResponse)
def user_detail(request: Request, node: NodeDep, who: AdminDep, username: str) -> Response:
    return _user_page(request, node, who, username)


def _user_page(
    request: Request, node: NodeDep, who: Viewer, username: str, *, status: int = 200, **ctx: Any
) -> Response:
    with node.db.session() as s:
        user = registry.get_user(s, username=username)
        org = s.get(Organization, user.organization_id)
        owned = sorted(tokens.get_all(s, user=user), key=lambda t: t.created, reverse=True)
        state = _status(user, enrolment.users_with_pending_links(s))
        asked = [(approvals.LABELS[a.kind], a) for a in approvals.about_user(s, user_id=user.id)]
    ctx.setdefault("errors", {})
    return page(
        request,
        "admin/user.html",
        who,
        status_code=status,
        user=user,
        organization=org,
        tokens=owned,
        status=state,
        asked=asked,
        role_options=[(r, r) for r in ROLES if r != user.role],
        notice=_notice(request),
        is_self=user.id == who.principal.user_id,
        **ctx,
    )


@router.post("/users/{username}/reset")
def reset(node: NodeDep, who: AdminFormDep, username: str) -> RedirectResponse:
    """Ask the user's organization to approve a reset; its approver gets the link, not you.

    The current password stays valid until the link is used, so a reset locks no one out;
    a compromised account is disabled instead.
    """
    with node.db.session(write=True) as s:
        user = registry.get_user(s, username=username)
        approvals.request_reset(s, by=_acting_user(s, who), user=user)
    return _done(node, f"/admin/users/{username}", "reset")


@router.post("/users/{username}/role", response_class=HTMLResponse)
def change_role(
    request: Request, node: NodeDep, who: AdminFormDep, username: str, role: Short = ""
) -> Response:
    """Ask the user's organization to approve a new role."""
    try:
        with node.db.session(write=True) as s:
            user = registry.get_user(s, username=username)
            approvals.request_role(s, by=_acting_user(s, who), user=user, role=role)
    except (ValidationError, Conflict) as exc:
        errors = {"role": exc.message}
        return _user_page(request, node, who, username, status=exc.status, errors=errors)
    return _done(node, f"/admin/users/{username}", "role")


@router.post("/users/{username}/disable")
def disable(node: NodeDep, who: AdminFormDep, username: str) -> RedirectResponse:
    """Disable an account, sign its browsers out and revoke its API tokens, in one step."""
    with node.db.session(write=True) as s:
        user = registry.get_user(s, username=username)
        if user.id == who.principal.user_id:
            raise Forbidden("You cannot disable your own account; ask another node administrator.")
        registry.disable_user(s, username=username)
        ended = sessions.end_all(s, user_id=user.id)
        revoked = _revoke_all(s, user)
        audit.record(
            s,
            actor=who.principal.username,
            action="user.disable",
            item_ids=[user.id, user.organization_id],
            detail={"username": username, "sessions_ended": ended, "tokens_revoked": revoked},
        )
    return _done(node, f"/admin/users/{username}", "disabled")


def _revoke_all(s: Session, user: User) -> list[str]:
    """Revoke every live token of `user`; returns the prefixes revoked."""
    live = [t for t in tokens.get_all(s, user=user) if t.revoked_at is None]
    for row in live:
        tokens.revoke(s, token_id_or_prefix=row.id)
    return [t.prefix for t in live]


@router.post("/users/{username}/tokens/revoke")
def revoke_tokens(
    node: NodeDep,
    who: AdminFormDep,
    username: str,
    token_id: Annotated[str, Form(max_length=40)] = "",
) -> RedirectResponse:
    """Revoke one token of the user (by id), or all of them when no id is given."""
    with node.db.session(write=True) as s:
        user = registry.get_user(s, username=username)
        if token_id:
            row = next((t for t in tokens.get_all(s, user=user) if t.id == token_id), None)
            if row is None:
                raise NotFound("token", token_id)
            tokens.revoke(s, token_id_or_prefix=row.id)
            prefixes = [row.prefix]
        else:
            prefixes = _revoke_all(s, user)
        audit.record(
            s,
            actor=who.principal.username,
            action="token.revoke",
            item_ids=[user.id, user.organization_id],
            detail={"username": username, "prefixes": prefixes},
        )
    return _done(node, f"/admin/users/{username}", "revoked")


# --- organizations ----------------------------------------------------------------------


def _orgs_page(
    request: Request, node: NodeDep, who: Viewer, *, status: int = 200, **context: Any
) -> Response:
    with node.db.session() as s:
        orgs = registry.get_organizations(s)
        states = registry.get_member_states(s)
        waiting = approvals.pending_organizations(s)
    by_id = {o.id: o for o in orgs}
    return _page(
        request,
        who,
        "admin/organizations.html",
        status=status,
        organizations=orgs,
        member_states=states,
        focal_points={s.focal_point_org_id: s.code for s in states if s.focal_point_org_id},
        awaiting={org_id: by_id[a.approver_org_id] for org_id, a in waiting.items()},
        type_options=[(t, t) for t in ORG_TYPES],
        **context,
    )


@router.get("/organizations", response_class=HTMLResponse)
def organizations(request: Request, node: NodeDep, who: ViewerDep) -> Response:
    """Every organization for a node administrator; a duty officer sees their own's settings."""
    if who.principal.role == "node-admin":
        return _orgs_page(request, node, who)
    with node.db.session() as s:
        context = releases.own_organization(s, who)
    return _page(request, who, "admin/organizations.html", **context)


@router.post("/organizations", response_class=HTMLResponse)
def add_organization(
    request: Request,
    node: NodeDep,
    who: AdminFormDep,
    slug: Short = "",
    name: Short = "",
    type: Short = "",
    member_state: Short = "",
    sector: Short = "",
) -> Response:
    """Ask for an organization its state's focal point approves; a bad field stores nothing."""
    form = {
        "slug": slug.strip().lower(),
        "name": name.strip(),
        "type": type,
        "member_state": member_state.strip().upper(),
        "sector": sector.strip(),
    }
    try:
        with node.db.session(write=True) as s:
            _create_org(s, who, form)
    except FORM_ERRORS as exc:
        errors = field_errors(exc, "slug")
        return _orgs_page(request, node, who, status=exc.status, errors=errors, form=form)
    return _done(node, "/admin/organizations", "organization")


def _create_org(s: Session, who: Viewer, form: dict[str, str]) -> None:
    if not form["name"]:
        raise ValidationError.field("name", "Enter the organization's full name.")
    approvals.request_organization(
        s,
        by=_acting_user(s, who),
        slug=form["slug"],
        name=form["name"],
        type=form["type"],
        member_state=form["member_state"],
        sector=form["sector"] or None,
    )


@router.post("/organizations/{slug}/change", response_class=HTMLResponse)
def change_organization(
    request: Request,
    node: NodeDep,
    who: AdminFormDep,
    slug: str,
    type: Short = "",
    member_state: Short = "",
) -> Response:
    """Ask for a new type or member state, which the state's focal point approves."""
    form = {"type": type, "member_state": member_state.strip().upper()}
    try:
        with node.db.session(write=True) as s:
            approvals.request_organization_change(
                s,
                by=_acting_user(s, who),
                organization=registry.get_organization(s, slug=slug),
                **form,
            )
    except (ValidationError, Conflict) as exc:
        errors = {f"change-{slug}": exc.message}
        return _orgs_page(request, node, who, status=exc.status, errors=errors)
    return _done(node, "/admin/organizations", "change")


# --- sharing groups ---------------------------------------------------------------------


def _group_rows(s: Session) -> list[dict[str, Any]]:
    """Each group with its owner and members, named by slug and code for reading."""
    by_id = {o.id: o for o in registry.get_organizations(s)}
    rows = []
    for group in registry.get_sharing_groups(s):
        members = registry.group_members(s, group=group)
        rows.append(
            {
                "group": group,
                "owner": by_id[group.owner_org_id].slug,
                "organizations": [by_id[m.ref].slug for m in members if m.kind == "organization"],
                "member_states": [m.ref for m in members if m.kind == "member_state"],
            }
        )
    return rows


def _groups_page(
    request: Request, node: NodeDep, who: Viewer, *, status: int = 200, **context: Any
) -> Response:
    with node.db.session() as s:
        rows = _group_rows(s)
        orgs = registry.get_organizations(s)
        states = registry.get_member_states(s)
    return _page(
        request,
        who,
        "admin/groups.html",
        status=status,
        rows=rows,
        organizations=orgs,
        member_states=states,
        **context,
    )


@router.get("/groups", response_class=HTMLResponse)
def groups(request: Request, node: NodeDep, who: AdminDep) -> Response:
    return _groups_page(request, node, who)


@router.post("/groups", response_class=HTMLResponse)
def add_group(
    request: Request, node: NodeDep, who: AdminFormDep, slug: Short = "", name: Short = ""
) -> Response:
    """Create a group owned by the admin's own organization, the only one they act for."""
    form = {"slug": slug.strip().lower(), "name": name.strip()}
    try:
        if not form["name"]:
            raise ValidationError.field("name", "Enter the group's name.")
        with node.db.session(write=True) as s:
            owner = registry.get_organization(s, slug=who.principal.organization_slug)
            group = registry.create_sharing_group(
                s, slug=form["slug"], name=form["name"], owner=owner
            )
            audit.record(
                s,
                actor=who.principal.username,
                action="group.create",
                item_ids=[group.id, owner.id],
                detail={"slug": group.slug, "owner": owner.slug},
            )
    except FORM_ERRORS as exc:
        errors = field_errors(exc, "slug")
        return _groups_page(request, node, who, status=exc.status, errors=errors, form=form)
    return _done(node, "/admin/groups", "group")


@router.post("/groups/{slug}/members", response_class=HTMLResponse)
def set_members(
    request: Request,
    node: NodeDep,
    who: AdminFormDep,
    slug: str,
    organizations: Annotated[list[str] | None, Form()] = None,
    member_states: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Replace a group's members; another organization's group answers with the refusal."""
    try:
        with node.db.session(write=True) as s:
            _replace_members(s, who, slug, organizations or [], member_states or [])
    except (Forbidden, *FORM_ERRORS) as exc:
        return _groups_page(request, node, who, status=exc.status, refused=exc.message)
    return _done(node, "/admin/groups", "members")


def _replace_members(
    s: Session, who: Viewer, slug: str, org_slugs: Sequence[str], states: Sequence[str]
) -> SharingGroup:
    group = registry.get_sharing_group(s, slug=slug)
    before = {m.ref for m in registry.group_members(s, group=group) if m.kind == "organization"}
    members = [registry.get_organization(s, slug=o) for o in org_slugs]
    registry.set_group_members(
        s,
        group=group,
        acting_org=registry.get_organization(s, slug=who.principal.organization_slug),
        organizations=members,
        member_states=[c.upper() for c in states],
    )
    affected = sorted(before | {o.id for o in members})  # joined or left: each may look
    audit.record(
        s,
        actor=who.principal.username,
        action="group.members",
        item_ids=[group.id, group.owner_org_id, *affected],
        detail={"organizations": list(org_slugs), "member_states": list(states)},
    )
    return group
