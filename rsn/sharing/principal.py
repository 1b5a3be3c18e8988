"""Turning a credential into the acting user, with the keys that open items to them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from rsn.errors import Unauthorized
from rsn.registry import tokens
from rsn.registry.models import Organization, User
from rsn.sharing.policy import Principal, groups_of, reader_keys

EDITOR_ROLES = frozenset({"analyst", "duty-officer"})


def for_user(session: Session, user: User) -> Principal:
    """The principal of an active user; disabled users act as no one."""
    if user.disabled:
        raise Unauthorized("This account is disabled.")
    org = session.get(Organization, user.organization_id)
    if org is None:
        raise Unauthorized("This account has no organization.")
    keys = reader_keys(
        user_id=user.id,
        organization_id=org.id,
        organization_type=org.type,
        member_state=org.member_state,
        role=user.role,
        group_ids=groups_of(session, org),
    )
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        organization_id=org.id,
        organization_slug=org.slug,
        organization_type=org.type,
        member_state=org.member_state,
        role=user.role,
        keys=keys,
    )


def from_token(session: Session, token: str) -> tuple[Principal, tokens.TokenCheck]:
    """The principal a bearer token stands for (401 when it stands for no one)."""
    check = tokens.authenticate(session, token)
    return for_user(session, check.user), check


def may_file(principal: Principal) -> bool:
    """Analysts and duty officers file reports: the roles that may also correct them."""
    return principal.role in EDITOR_ROLES


def may_read_directory(principal: Principal) -> bool:
    """Observers have no one to name as a reader, so they learn no names: not from the user
    list, nor from asking who a distribution would reach."""
    return principal.role != "observer"


def may_change(principal: Principal, *, originator_org_id: str) -> bool:
    """Analysts and duty officers of the originating organization edit and revoke."""
    return principal.organization_id == originator_org_id and principal.role in EDITOR_ROLES
