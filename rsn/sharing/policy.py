"""The one access decision of the node: who may read an item.

Both sides of the decision are sets of audience keys:

    item keys (from marking + distribution)      reader keys (from who the reader is)
    clear         -> public                      public            every reader
    green         -> members                     members           every user but observers
    amber         -> org:<originator org>,       org:<own org>
                     state:<CC>, org:<id>,       state:<CC>        a government agency of CC
                     group:<id>                  group:<id>        member, directly or by state
    amber+strict  -> org:<originator org>,
                     org:<id>
    red           -> user:<originator>,          user:<own id>
                     user:<id>
    (a draft: see `rsn.sharing.release`)         rel:<own org>[:<own id>]  a releaser

A reader sees an item exactly when the two sets meet. `visible` states that as SQL
for queries; `audience` states it over the user table for "who will see this".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import (
    ColumnElement,
    SQLColumnExpression,
    and_,
    delete,
    exists,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from rsn.registry.models import Organization, SharingGroupMember, User
from rsn.sharing.models import SharingGrant
from rsn.store.bulk import insert_plain

GOVERNMENT = "government-agency"
RELEASER_ROLES = frozenset({"liaison", "duty-officer"})
PUBLIC = "public"
MEMBERS = "members"


@dataclass(frozen=True)
class Principal:
    """The acting user, with the audience keys that open items to them."""

    user_id: str
    username: str
    display_name: str
    organization_id: str
    organization_slug: str
    organization_type: str
    member_state: str | None
    role: str
    keys: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Distribution:
    """A distribution resolved to ids; names are kept by the item for display."""

    member_states: tuple[str, ...] = ()
    organization_ids: tuple[str, ...] = ()
    sharing_group_ids: tuple[str, ...] = ()
    user_ids: tuple[str, ...] = ()


def discloses(principal: Principal, *, tlp: str, originator_user_id: str) -> bool:
    """Whether showing an item's fields to `principal` is a disclosure the audit log records.

    Public (clear) items and an originator's own items disclose nothing.
    """
    return tlp != "clear" and originator_user_id != principal.user_id


def public_reader() -> Principal:
    """Someone without an account, as the public pages serve them: the `public` key only."""
    return Principal(
        user_id="",
        username="public",
        display_name="Public",
        organization_id="",
        organization_slug="",
        organization_type="",
        member_state=None,
        role="observer",
        keys=frozenset({PUBLIC}),
    )


def item_keys(
    tlp: str, distribution: Distribution, *, originator_user_id: str, originator_org_id: str
) -> frozenset[str]:
    """The audience keys an item's marking and distribution open it to."""
    if tlp == "clear":
        return frozenset({PUBLIC})
    if tlp == "green":
        return frozenset({MEMBERS})
    if tlp == "red":
        return frozenset(
            {f"user:{originator_user_id}", *(f"user:{u}" for u in distribution.user_ids)}
        )
    keys = {f"org:{originator_org_id}", *(f"org:{o}" for o in distribution.organization_ids)}
    if tlp == "amber":
        keys.update(f"state:{s}" for s in distribution.member_states)
        keys.update(f"group:{g}" for g in distribution.sharing_group_ids)
    elif tlp != "amber+strict":
        raise ValueError(f"unknown TLP marking {tlp!r}")
    return frozenset(keys)


def reader_keys(
    *,
    user_id: str,
    organization_id: str,
    organization_type: str,
    member_state: str | None,
    role: str,
    group_ids: Iterable[str],
) -> frozenset[str]:
    """The audience keys a reader holds, from their user, organization and groups."""
    keys = {PUBLIC, f"user:{user_id}", f"org:{organization_id}"}
    if role != "observer":
        keys.add(MEMBERS)
    if organization_type == GOVERNMENT and member_state:
        keys.add(f"state:{member_state}")
    keys.update(f"group:{g}" for g in group_ids)
    if role in RELEASER_ROLES:
        keys.update({f"rel:{organization_id}", f"rel:{organization_id}:{user_id}"})  # a releaser
    return frozenset(keys)


def groups_of(session: Session, organization: Organization) -> list[str]:
    """The sharing groups an organization belongs to, by name or through its state."""
    member = and_(
        SharingGroupMember.kind == "organization", SharingGroupMember.ref == organization.id
    )
    if organization.type == GOVERNMENT and organization.member_state:
        member = or_(
            member,
            and_(
                SharingGroupMember.kind == "member_state",
                SharingGroupMember.ref == organization.member_state,
            ),
        )
    return list(session.scalars(select(SharingGroupMember.group_id).where(member).distinct()))


def visible(principal: Principal, item_id: SQLColumnExpression[str]) -> ColumnElement[bool]:
    """SQL that is true for the items `principal` may read (for any shareable table)."""
    return exists(
        select(SharingGrant.item_id).where(
            SharingGrant.item_id == item_id, SharingGrant.key.in_(sorted(principal.keys))
        )
    )


def _user_holds(key: str) -> ColumnElement[bool]:
    """SQL over users joined to organizations: true when the user holds `key`."""
    kind, _, ref = key.partition(":")
    active = User.disabled.is_(False)
    if key == PUBLIC:
        return active
    if key == MEMBERS:
        return User.role != "observer"
    if kind == "user":
        return User.id == ref
    if kind == "org":
        return User.organization_id == ref
    if kind == "rel":
        org, _, user = ref.partition(":")
        releaser = and_(User.role.in_(sorted(RELEASER_ROLES)), User.organization_id == org)
        return and_(releaser, User.id == user) if user else releaser
    government_of = and_(Organization.type == GOVERNMENT, Organization.member_state.is_not(None))
    if kind == "state":
        return and_(government_of, Organization.member_state == ref)
    if kind == "group":
        by_org = select(SharingGroupMember.group_id).where(
            SharingGroupMember.group_id == ref,
            SharingGroupMember.kind == "organization",
            SharingGroupMember.ref == Organization.id,
        )
        by_state = select(SharingGroupMember.group_id).where(
            SharingGroupMember.group_id == ref,
            SharingGroupMember.kind == "member_state",
            SharingGroupMember.ref == Organization.member_state,
        )
        return or_(exists(by_org), and_(government_of, exists(by_state)))
    return false()


@dataclass(frozen=True)
class Audience:
    """Who would read an item: its states, its organizations, and how many users."""

    member_states: list[str]
    organizations: list[str]
    user_count: int


def audience(session: Session, keys: frozenset[str]) -> Audience:
    """The active users an item with `keys` would open to, summed up for people."""
    holds = or_(*(_user_holds(k) for k in sorted(keys))) if keys else false()
    base = (
        select(User.id, Organization.slug, Organization.member_state)
        .join(Organization, Organization.id == User.organization_id)
        .where(User.disabled.is_(False), holds)
        .subquery()
    )
    count = session.scalar(select(func.count()).select_from(base)) or 0
    orgs = session.scalars(select(base.c.slug).distinct().order_by(base.c.slug))
    states = session.scalars(
        select(base.c.member_state)
        .where(base.c.member_state.is_not(None))
        .distinct()
        .order_by(base.c.member_state)
    )
    return Audience(member_states=list(states), organizations=list(orgs), user_count=count)


def set_grants(session: Session, grants: Mapping[str, frozenset[str]], *, fresh: bool) -> None:
    """Replace items' audience keys, whenever their marking or distribution changes.

    `fresh` says the items are new, so there is nothing to clear first.
    """
    conn = session.connection()
    if not fresh and grants:
        conn.execute(delete(SharingGrant).where(SharingGrant.item_id.in_(list(grants))))
    rows = [{"item_id": item, "key": k} for item, keys in grants.items() for k in sorted(keys)]
    insert_plain(conn, SharingGrant, rows)


def can_read(session: Session, principal: Principal, item_id: str) -> bool:
    """One item's visibility, asked of the same rules table as every query."""
    query = select(SharingGrant.item_id).where(
        SharingGrant.item_id == item_id, SharingGrant.key.in_(sorted(principal.keys))
    )
    return session.scalar(query.limit(1)) is not None
