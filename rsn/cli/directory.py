"""Commands for who is who: organizations, users, tokens and sharing groups."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from rsn import audit, clock
from rsn.cli.common import ConfigOpt, DataDirOpt, console, operator, reported, settings_for
from rsn.node import open_database
from rsn.registry import ORG_TYPES, ROLES, approvals, enrolment, tokens
from rsn.registry import service as registry
from rsn.store import Database

org_app = typer.Typer(help="Organizations (agencies, regional bodies, CSOs).", no_args_is_help=True)
user_app = typer.Typer(help="User accounts.", no_args_is_help=True)
token_app = typer.Typer(
    help="API tokens (shown once, stored as a keyed hash).", no_args_is_help=True
)
group_app = typer.Typer(
    help="Sharing groups, changed only for their owning organization.", no_args_is_help=True
)


@contextmanager
def write_session(data_dir: DataDirOpt, config: ConfigOpt) -> Iterator[Session]:
    """One all-or-nothing transaction on the node, with its audit records chained after."""
    db = open_database(settings_for(data_dir, config))
    try:
        with reported(), db.session(write=True) as session:
            yield session
        audit.chain(db)
    finally:
        db.dispose()


@contextmanager
def read_session(data_dir: DataDirOpt, config: ConfigOpt) -> Iterator[Session]:
    db = Database(settings_for(data_dir, config).database_url)
    try:
        with reported(), db.session() as session:
            yield session
    finally:
        db.dispose()


@org_app.command("add")
def org_add(
    slug: str,
    name: Annotated[str, typer.Option(help="Full name.")],
    type: Annotated[str, typer.Option(help=f"One of: {', '.join(ORG_TYPES)}.")],
    state: Annotated[str | None, typer.Option(help="Member state, ISO alpha-2.")] = None,
    sector: Annotated[str | None, typer.Option(help="Sector, e.g. cyber, maritime.")] = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Add an organization; the first of a member state becomes its focal point.

    Administrators in the browser only ask for organizations, which a state's focal
    point approves; the focal points themselves, and organizations of no state, are
    the operator's.
    """
    with write_session(data_dir, config) as s:
        org = registry.create_organization(
            s, slug=slug, name=name, type=type, member_state=state, sector=sector
        )
        first = org.member_state is not None and approvals.focal_point(s, org.member_state) is None
        if first:
            approvals.set_focal_point(s, organization=org)
        audit.record(
            s,
            actor=operator(),
            action="org.create",
            item_ids=[org.id],
            detail={"slug": slug, "type": type, "member_state": org.member_state},
        )
    point = f", the focal point of {org.member_state}" if first else ""
    console.print(f"Added organization {slug}{point}.")


@org_app.command("list")
def org_list(data_dir: DataDirOpt = None, config: ConfigOpt = None) -> None:
    """List organizations."""
    table = Table(
        "slug", "name", "type", "state", "sector", "release", "status", header_style="bold"
    )
    with read_session(data_dir, config) as s:
        points = {p.focal_point_org_id for p in registry.get_member_states(s)}
        for o in registry.get_organizations(s):
            release = "required" if o.release_required else ""
            status = "awaiting approval" if o.pending else ""
            status = "focal point" if o.id in points else status
            row = (o.slug, o.name, o.type, o.member_state or "", o.sector or "", release, status)
            table.add_row(*row)
    console.print(table)


@org_app.command("set")
def org_set(
    slug: str,
    release_required: Annotated[
        bool | None,
        typer.Option(
            "--release-required/--no-release-required",
            help="Whether what would be read outside the organization waits for one of its "
            "liaison or duty officers to release it.",
        ),
    ] = None,
    focal_point: Annotated[
        bool,
        typer.Option(
            "--focal-point",
            help="Make it its member state's focal point, which approves the state's new "
            "organizations and their first members.",
        ),
    ] = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Change an organization's settings."""
    if release_required is None and not focal_point:
        raise typer.BadParameter("Give --release-required, --no-release-required or --focal-point.")
    with write_session(data_dir, config) as s:
        org = registry.get_organization(s, slug=slug)
        detail: dict[str, object] = {}
        if release_required is not None:
            registry.set_release_required(s, organization=org, required=release_required)
            detail["release_required"] = release_required
        if focal_point:
            approvals.set_focal_point(s, organization=org)
            detail["focal_point_of"] = org.member_state
        audit.record(s, actor=operator(), action="org.settings", item_ids=[org.id], detail=detail)
    if release_required is not None:
        state = "requires" if release_required else "does not require"
        console.print(f"{slug} now {state} release for what leaves it.")
    if focal_point:
        console.print(f"{slug} is now the focal point of {org.member_state}.")


@user_app.command("add")
def user_add(
    username: str,
    org: Annotated[str, typer.Option(help="Organization slug.")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")],
    display_name: Annotated[str | None, typer.Option(help="Name shown to others.")] = None,
    password: Annotated[
        str | None,
        typer.Option(
            envvar="RSN_NEW_PASSWORD",
            help="Initial password (prompted when omitted).",
            show_default=False,
        ),
    ] = None,
    no_password: Annotated[bool, typer.Option(help="An API-only account.")] = False,
    org_admin: Annotated[
        bool, typer.Option(help="Approves the organization's members, as its liaisons do.")
    ] = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Add a user; the password is prompted for, never echoed."""
    if password is None and not no_password:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with write_session(data_dir, config) as s:
        user = registry.create_user(
            s,
            username=username,
            display_name=display_name or username,
            organization=registry.get_organization(s, slug=org),
            role=role,
            password=password,
        )
        user.org_admin = org_admin
        audit.record(
            s,
            actor=operator(),
            action="user.create",
            item_ids=[user.id, user.organization_id],
            detail={"username": username, "role": role, "org_admin": org_admin},
        )
    console.print(f"Added user {username} ({role}, {org}).")


@user_app.command("enrol")
def user_enrol(
    username: str,
    reset: Annotated[bool, typer.Option(help="A password reset for an existing user.")] = False,
    base_url: Annotated[
        str | None, typer.Option(help="The node's address as users reach it.")
    ] = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Print a one-time link with which the user sets their own password (72 hours)."""
    settings = settings_for(data_dir, config)
    with write_session(data_dir, config) as s:
        user = registry.get_user(s, username=username)
        secret = enrolment.create(
            s,
            user=user,
            purpose="reset" if reset else "enrol",
            created_by=user,
            actor=operator(),
        )
    root = (base_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    console.print(f"{root}/enrol/{secret}", soft_wrap=True, highlight=False)


@user_app.command("set")
def user_set(
    username: str,
    org_admin: Annotated[
        bool,
        typer.Option(
            "--org-admin/--no-org-admin",
            help="Whether the user approves their organization's new members, role changes "
            "and resets, as its liaison and duty officers do.",
        ),
    ],
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Designate (or stop designating) an organization administrator."""
    with write_session(data_dir, config) as s:
        user = registry.get_user(s, username=username)
        user.org_admin = org_admin
        audit.record(
            s,
            actor=operator(),
            action="user.settings",
            item_ids=[user.id, user.organization_id],
            detail={"username": username, "org_admin": org_admin},
        )
    state = "now approves" if org_admin else "no longer approves"
    console.print(f"{username} {state} the members of their organization.")


@user_app.command("list")
def user_list(data_dir: DataDirOpt = None, config: ConfigOpt = None) -> None:
    """List users."""
    table = Table("username", "display name", "organization", "role", "status", header_style="bold")
    with read_session(data_dir, config) as s:
        slugs = {o.id: o.slug for o in registry.get_organizations(s)}
        for u in registry.get_users(s):
            table.add_row(
                u.username,
                u.display_name,
                slugs.get(u.organization_id, ""),
                u.role + (" (org admin)" if u.org_admin else ""),
                "awaiting approval" if u.pending else "disabled" if u.disabled else "active",
            )
    console.print(table)


@user_app.command("disable")
def user_disable(username: str, data_dir: DataDirOpt = None, config: ConfigOpt = None) -> None:
    """Disable a user: no sign-in, no token works, nothing of theirs is deleted."""
    with write_session(data_dir, config) as s:
        user = registry.disable_user(s, username=username)
        audit.record(s, actor=operator(), action="user.disable", item_ids=[user.id])
    console.print(f"Disabled {username}.")


@token_app.command("create")
def token_create(
    username: str,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
    expires_days: Annotated[int | None, typer.Option(help="Expire after N days.")] = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Mint an API token for a user; it is printed once and cannot be shown again."""
    expires = clock.now() + timedelta(days=expires_days) if expires_days else None
    with write_session(data_dir, config) as s:
        user = registry.get_user(s, username=username)
        issued = tokens.create(s, user=user, name=name, expires_at=expires)
        audit.record(
            s,
            actor=operator(),
            action="token.create",
            item_ids=[issued.id],
            detail={"username": username, "prefix": issued.prefix},
        )
    console.print(issued.token, soft_wrap=True, highlight=False)


@token_app.command("revoke")
def token_revoke(
    token: Annotated[str, typer.Argument(help="The token's id or prefix.")],
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Revoke a token; requests with it answer 401 from now on."""
    with write_session(data_dir, config) as s:
        row = tokens.revoke(s, token_id_or_prefix=token)
        audit.record(s, actor=operator(), action="token.revoke", item_ids=[row.id])
    console.print(f"Revoked token {row.prefix}.")


@token_app.command("list")
def token_list(username: str, data_dir: DataDirOpt = None, config: ConfigOpt = None) -> None:
    """A user's tokens: prefix, name, created, expiry, last use, revocation."""
    table = Table(
        "prefix", "name", "created", "expires", "last used", "revoked", header_style="bold"
    )
    with read_session(data_dir, config) as s:
        for t in tokens.get_all(s, user=registry.get_user(s, username=username)):
            table.add_row(
                t.prefix,
                t.name,
                _when(t.created),
                _when(t.expires_at),
                _when(t.last_used_at),
                _when(t.revoked_at),
            )
    console.print(table)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


@group_app.command("add")
def group_add(
    slug: str,
    name: Annotated[str, typer.Option(help="Full name.")],
    owner: Annotated[str, typer.Option(help="Slug of the owning organization.")],
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Create a sharing group owned by an organization."""
    with write_session(data_dir, config) as s:
        group = registry.create_sharing_group(
            s, slug=slug, name=name, owner=registry.get_organization(s, slug=owner)
        )
        audit.record(
            s,
            actor=operator(),
            action="group.create",
            item_ids=[group.id],
            detail={"slug": slug, "owner": owner},
        )
    console.print(f"Added sharing group {slug}, owned by {owner}.")


@group_app.command("members")
def group_members(
    slug: str,
    as_org: Annotated[str, typer.Option("--as-org", help="The owning organization acting.")],
    org: Annotated[list[str] | None, typer.Option(help="Member organization slug.")] = None,
    state: Annotated[list[str] | None, typer.Option(help="Member state (its agencies).")] = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Replace a group's members, acting for its owning organization (audited)."""
    with write_session(data_dir, config) as s:
        group = registry.get_sharing_group(s, slug=slug)
        registry.set_group_members(
            s,
            group=group,
            acting_org=registry.get_organization(s, slug=as_org),
            organizations=[registry.get_organization(s, slug=o) for o in org or []],
            member_states=[c.upper() for c in state or []],
        )
        audit.record(
            s,
            actor=f"{operator()} for {as_org}",
            action="group.members",
            item_ids=[group.id],
            detail={"organizations": org or [], "member_states": state or []},
        )
    console.print(f"Set members of {slug}.")
