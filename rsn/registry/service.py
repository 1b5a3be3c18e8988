"""Registry queries: the only place that reads or writes who is who."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pycountry
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rsn import events
from rsn.errors import Conflict, Forbidden, NotFound, ValidationError
from rsn.registry.events import ScopesMoved
from rsn.registry.models import (
    ORG_TYPES,
    ROLES,
    MemberState,
    Organization,
    SharingGroup,
    SharingGroupMember,
    User,
)

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,79}$")
SLUG_RULE = "must be 2 to 80 lower-case letters, digits or '-', not starting with '-'."
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")
_hasher = PasswordHasher()


def country_name(code: str) -> str | None:
    """The ISO 3166 name of an alpha-2 code, or None when there is no such country."""
    if not re.fullmatch(r"[A-Z]{2}", code):
        return None
    country = pycountry.countries.get(alpha_2=code)
    return None if country is None else str(country.name)


def ensure_member_state(session: Session, *, code: str) -> MemberState:
    """A member state by alpha-2 code, added with its pycountry name if new."""
    code = code.upper()
    state = session.get(MemberState, code)
    if state is None:
        name = country_name(code)
        if name is None:
            raise ValidationError.field(
                "member_state", f"'{code}' is not an ISO 3166 alpha-2 code."
            )
        state = MemberState(code=code, name=name)
        session.add(state)
        session.flush()
    return state


def get_member_states(session: Session) -> list[MemberState]:
    return list(session.scalars(select(MemberState).order_by(MemberState.code)))


def create_organization(
    session: Session,
    *,
    slug: str,
    name: str,
    type: str,
    member_state: str | None,
    sector: str | None = None,
) -> Organization:
    if not SLUG.match(slug):
        raise ValidationError.field("slug", f"'{slug}' {SLUG_RULE}")
    if type not in ORG_TYPES:
        raise ValidationError.field("type", f"'{type}' is not one of {', '.join(ORG_TYPES)}.")
    if session.scalar(select(Organization.id).where(Organization.slug == slug)):
        raise Conflict(f"An organization with slug '{slug}' already exists.")
    state = ensure_member_state(session, code=member_state).code if member_state else None
    org = Organization(slug=slug, name=name, type=type, member_state=state, sector=sector)
    session.add(org)
    session.flush()
    events.publish(session, ScopesMoved((org.id,)))
    return org


def get_organization(session: Session, *, slug: str) -> Organization:
    org = session.scalar(select(Organization).where(Organization.slug == slug))
    if org is None:
        raise NotFound("organization", slug)
    return org


def get_organizations(session: Session) -> list[Organization]:
    return list(session.scalars(select(Organization).order_by(Organization.slug)))


def set_release_required(session: Session, *, organization: Organization, required: bool) -> None:
    """Turn on (or off) the rule that a releaser lets out what would leave the organization.

    Reports already published stay as they are; it applies to what is filed,
    imported or widened from now on.
    """
    organization.release_required = required
    session.flush()


def may_set_release(*, role: str, own_org_id: str, organization: Organization) -> bool:
    """A node administrator, or the organization's own duty officer, sets its release rule."""
    return role == "node-admin" or (role == "duty-officer" and own_org_id == organization.id)


def hash_password(password: str) -> str:
    if len(password) < 12:
        raise ValidationError.field("password", "must be at least 12 characters long.")
    return _hasher.hash(password)


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    organization: Organization,
    role: str,
    password: str | None = None,
    password_hash: str | None = None,
) -> User:
    if not USERNAME.match(username):
        raise ValidationError.field(
            "username", f"'{username}' must be lower-case letters, digits, '.', '_' or '-'."
        )
    if role not in ROLES:
        raise ValidationError.field("role", f"'{role}' is not one of {', '.join(ROLES)}.")
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(f"A user named '{username}' already exists.")
    if password is not None:
        password_hash = hash_password(password)
    user = User(
        username=username,
        display_name=display_name,
        organization_id=organization.id,
        role=role,
        password_hash=password_hash,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"A user named '{username}' already exists.") from exc
    events.publish(session, ScopesMoved((), (user.id,)))
    return user


def get_user(session: Session, *, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound("user", username)
    return user


def get_users(session: Session, *, include_disabled: bool = True) -> list[User]:
    query = select(User).order_by(User.username)
    if not include_disabled:
        query = query.where(User.disabled.is_(False))
    return list(session.scalars(query))


def check_password(user: User, password: str) -> bool:
    """True when `password` is the user's; a disabled user never signs in."""
    if user.disabled or not user.password_hash:
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def disable_user(session: Session, *, username: str) -> User:
    user = get_user(session, username=username)
    user.disabled = True
    return user


def create_sharing_group(
    session: Session, *, slug: str, name: str, owner: Organization
) -> SharingGroup:
    if not SLUG.match(slug):
        raise ValidationError.field("slug", f"'{slug}' {SLUG_RULE}")
    if session.scalar(select(SharingGroup.id).where(SharingGroup.slug == slug)):
        raise Conflict(f"A sharing group with slug '{slug}' already exists.")
    group = SharingGroup(slug=slug, name=name, owner_org_id=owner.id)
    session.add(group)
    session.flush()
    return group


def get_sharing_group(session: Session, *, slug: str) -> SharingGroup:
    group = session.scalar(select(SharingGroup).where(SharingGroup.slug == slug))
    if group is None:
        raise NotFound("sharing group", slug)
    return group


def get_sharing_groups(session: Session) -> list[SharingGroup]:
    return list(session.scalars(select(SharingGroup).order_by(SharingGroup.slug)))


def group_members(session: Session, *, group: SharingGroup) -> list[SharingGroupMember]:
    query = select(SharingGroupMember).where(SharingGroupMember.group_id == group.id)
    return list(session.scalars(query.order_by(SharingGroupMember.kind, SharingGroupMember.ref)))


def set_group_members(
    session: Session,
    *,
    group: SharingGroup,
    acting_org: Organization,
    organizations: Iterable[Organization] = (),
    member_states: Iterable[str] = (),
) -> None:
    """Replace a group's membership; only the owning organization may."""
    if acting_org.id != group.owner_org_id:
        raise Forbidden(f"Only the organization that owns '{group.slug}' may change its members.")
    session.query(SharingGroupMember).filter(SharingGroupMember.group_id == group.id).delete()
    rows = [
        SharingGroupMember(group_id=group.id, kind="organization", ref=o.id) for o in organizations
    ]
    for code in member_states:
        rows.append(
            SharingGroupMember(
                group_id=group.id,
                kind="member_state",
                ref=ensure_member_state(session, code=code).code,
            )
        )
    session.add_all(rows)
    session.flush()
    events.publish(session, ScopesMoved(tuple(o.id for o in organizations)))
