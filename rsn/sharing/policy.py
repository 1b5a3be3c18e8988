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
    (an item built from others, such as an       mem:<own org>     every user of the
     alert: see `keysets.readers_of_all`)                          org but observers

A reader sees an item exactly when the two sets meet. `visible` states that as SQL
for queries; `audience` states it over the user table for "who will see this".
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import (
    ColumnElement,
    SQLColumnExpression,
    and_,
    case,
    delete,
    exists,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from rsn.registry.models import (
    MemberState,
    Organization,
    SharingGroup,
    SharingGroupMember,
    User,
)
from rsn.sharing import staging
from rsn.sharing.models import SharingGrant
from rsn.store.bulk import insert_plain

GOVERNMENT = "government-agency"
RELEASER_ROLES = frozenset({"liaison", "duty-officer"})
PUBLIC = "public"
MEMBERS = "members"
ORG_MEMBERS = "mem:"  # mem:<org>: the organization's users but its observers


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
        keys.update({MEMBERS, f"{ORG_MEMBERS}{organization_id}"})
    if organization_type == GOVERNMENT and member_state:
        keys.add(f"state:{member_state}")
    keys.update(f"group:{g}" for g in group_ids)
    if role in RELEASER_ROLES:
        keys.update({f"rel:{organization_id}", f"rel:{organization_id}:{user_id}"})  # a releaser
    return frozenset(keys)


# Hex digits spelled as letters: a token of letters only stays one word in both
# stores' tokenizers (SQLite's unicode61, PostgreSQL's `simple` parser).
_AS_LETTERS = str.maketrans("0123456789abcdef", "abcdefghijklmnop")


def index_tokens(keys: Iterable[str]) -> list[str]:
    """One search-index word per audience key, so a text index can be split by audience.

    A report's search document carries the tokens of its grants and a search asks
    for the reader's, so the text index never hands back a hidden match to probe.
    A digest, not the key: the key's spelling stays in this module.
    """
    digests = (hashlib.sha256(k.encode()).hexdigest()[:24] for k in keys)
    return sorted({"k" + d.translate(_AS_LETTERS) for d in digests})


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


def holds(principal: Principal, key: SQLColumnExpression[str]) -> ColumnElement[bool]:
    """SQL true where a row's audience key (an index kept by keys: correlation) is the reader's.

    An index whose rows carry the keys of their item answers a reader with a look-up
    by the reader's own keys: every row touched is one the reader may see.
    """
    return key.in_(sorted(principal.keys))


def visible_version(
    principal: Principal, version_id: SQLColumnExpression[str], item_id: SQLColumnExpression[str]
) -> ColumnElement[bool]:
    """SQL true for the versions of items `principal` may read under both markings.

    A version keeps the keys of the marking it was written with: a reader needs
    those and the item's current ones, so a wider marking later never opens
    what was said under a narrower one, nor a narrower one later what was wide.
    """
    return and_(visible(principal, version_id), visible(principal, item_id))


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
    if kind == "mem":
        return and_(User.organization_id == ref, User.role != "observer")
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


Scope = Literal["public", "members", "distribution"]
WHOLE = frozenset({"public", "originator", "organization", "state", "group"})


@dataclass(frozen=True)
class Reason:
    """Why an organization reads, named after the item key that opened the item to it.

    `kind` is one of public, members, originator (the filer's own organization),
    organization (listed by name), state (a government agency of a listed state),
    group (a member of a listed sharing group) or person (named users only); `ref`
    is the state's code or the group's slug, `name` the group's name.
    """

    kind: str
    ref: str = ""
    name: str = ""


@dataclass(frozen=True)
class AudienceOrganization:
    """One organization that would read an item: how many of its people, and why."""

    slug: str
    name: str
    member_state: str | None
    user_count: int
    reasons: tuple[Reason, ...]

    @property
    def whole(self) -> bool:
        """Every active user of it reads, because it came in as an organization."""
        return any(r.kind in WHOLE for r in self.reasons)


@dataclass(frozen=True)
class AudiencePerson:
    """A user named on a red item (or its originator), for the panel to list by name."""

    username: str
    display_name: str
    organization: str
    organization_name: str


@dataclass(frozen=True)
class AudienceState:
    """The readers of one member state; `whole` when all its government agencies read."""

    code: str | None
    name: str
    whole: bool
    organizations: tuple[AudienceOrganization, ...]

    @property
    def user_count(self) -> int:
        return sum(o.user_count for o in self.organizations)


@dataclass(frozen=True)
class Audience:
    """Who would read an item, exactly: by member state, organization, and person.

    `scope` is public (clear), members (green) or distribution (amber, amber+strict,
    red: the item names its readers). `states` groups the reading organizations by
    member state, organizations of no state last; a state listed whole appears even
    while none of its agencies has an active user.
    """

    scope: Scope
    states: tuple[AudienceState, ...]
    people: tuple[AudiencePerson, ...]
    user_count: int

    @property
    def organizations(self) -> tuple[AudienceOrganization, ...]:
        return tuple(o for s in self.states for o in s.organizations)

    @property
    def member_states(self) -> list[str]:
        """The states whose every government agency reads, by the distribution's choice."""
        return [s.code for s in self.states if s.whole and s.code]


def _scope(keys: frozenset[str]) -> Scope:
    if PUBLIC in keys:
        return "public"
    return "members" if MEMBERS in keys else "distribution"


def _reason(key: str, *, own_org_id: str, groups: Mapping[str, tuple[str, str]]) -> Reason:
    """The words for one item key that reaches an organization."""
    kind, _, ref = key.partition(":")
    if key in (PUBLIC, MEMBERS):
        return Reason(key)
    if kind == "org":
        return Reason("originator" if ref == own_org_id else "organization")
    if kind == "mem":
        return Reason("org-members")
    if kind == "state":
        return Reason("state", ref)
    if kind == "group":
        slug, name = groups.get(ref, (ref, ref))
        return Reason("group", slug, name)
    return Reason("person")


def group_ids(principal: Principal) -> list[str]:
    """The sharing groups the principal reads as a member of (their collections in TAXII)."""
    return _refs(principal.keys, "group")


def shared_with_group(group_id: str, item_id: SQLColumnExpression[str]) -> ColumnElement[bool]:
    """SQL true for the items shared with a sharing group (by its own key, not a reader's).

    Alongside `visible` for a reader, it makes a group's collection: what the group
    was given that the reader may read.
    """
    return exists(
        select(SharingGrant.item_id).where(
            SharingGrant.item_id == item_id, SharingGrant.key == f"group:{group_id}"
        )
    )


def _refs(keys: Iterable[str], kind: str) -> list[str]:
    return sorted(k.partition(":")[2] for k in keys if k.startswith(f"{kind}:"))


def _whole_states(session: Session, keys: frozenset[str]) -> set[str]:
    """States every government agency of which the keys open to: listed, or in a group."""
    states = set(_refs(keys, "state"))
    group_ids = _refs(keys, "group")
    if group_ids:
        by_state = select(SharingGroupMember.ref).where(
            SharingGroupMember.group_id.in_(group_ids), SharingGroupMember.kind == "member_state"
        )
        states.update(session.scalars(by_state))
    return states


def _reading_organizations(
    session: Session, keys: list[str], *, own_org_id: str
) -> list[AudienceOrganization]:
    """In one query: each organization with active readers, how many, and which keys reach it."""
    holds = [_user_holds(k) for k in keys]
    flags = [func.max(case((h, 1), else_=0)).label(f"k{i}") for i, h in enumerate(holds)]
    query = (
        select(Organization.slug, Organization.name, Organization.member_state, *flags)
        .add_columns(func.count(User.id).label("readers"))
        .join(User, User.organization_id == Organization.id)
        .where(User.disabled.is_(False), or_(*holds))
        .group_by(Organization.id, Organization.slug, Organization.name, Organization.member_state)
    )
    group_ids = _refs(keys, "group")
    named = select(SharingGroup.id, SharingGroup.slug, SharingGroup.name).where(
        SharingGroup.id.in_(group_ids)
    )
    groups = {g.id: (g.slug, g.name) for g in session.execute(named)} if group_ids else {}
    found = []
    for row in session.execute(query):
        reached = [k for i, k in enumerate(keys) if row[3 + i]]
        reasons = tuple(
            dict.fromkeys(_reason(k, own_org_id=own_org_id, groups=groups) for k in reached)
        )
        found.append(
            AudienceOrganization(row.slug, row.name, row.member_state, row.readers, reasons)
        )
    return found


def _named_people(session: Session, keys: list[str]) -> tuple[AudiencePerson, ...]:
    """The active users a red item names (its originator among them), by name."""
    named = [_user_holds(k) for k in keys if k.startswith("user:")]
    if not named:
        return ()
    query = (
        select(User.username, User.display_name, Organization.slug, Organization.name)
        .join(Organization, Organization.id == User.organization_id)
        .where(User.disabled.is_(False), or_(*named))
        .order_by(User.display_name, User.username)
    )
    return tuple(AudiencePerson(*row) for row in session.execute(query))


def _by_state(
    session: Session, orgs: list[AudienceOrganization], whole: set[str]
) -> tuple[AudienceState, ...]:
    codes = sorted(whole | {o.member_state for o in orgs if o.member_state})
    named = select(MemberState.code, MemberState.name).where(MemberState.code.in_(codes))
    names = {row.code: row.name for row in session.execute(named)} if codes else {}
    ordered = sorted(orgs, key=lambda o: (o.name.casefold(), o.slug))
    states = [
        AudienceState(
            c, names.get(c, c), c in whole, tuple(o for o in ordered if o.member_state == c)
        )
        for c in codes
    ]
    stateless = tuple(o for o in ordered if o.member_state is None)
    if stateless:
        states.append(AudienceState(None, "", False, stateless))
    return tuple(states)


def audience(session: Session, keys: frozenset[str], *, own_org_id: str = "") -> Audience:
    """Exactly the active users an item with `keys` opens to, as people read it.

    The same keys and the same `_user_holds` as `visible`, so the panel and the policy
    cannot disagree; `own_org_id` only tells the originator's organization apart from
    the listed ones.
    """
    ordered = sorted(keys)
    orgs = _reading_organizations(session, ordered, own_org_id=own_org_id) if ordered else []
    return Audience(
        scope=_scope(keys),
        states=_by_state(session, orgs, _whole_states(session, keys)),
        people=_named_people(session, ordered),
        user_count=sum(o.user_count for o in orgs),
    )


def set_grants(
    session: Session, grants: Mapping[str, frozenset[str]], *, fresh: bool, kind: str
) -> None:
    """Replace items' audience keys, whenever their marking or distribution changes.

    `fresh` says the items are new, so there is nothing to clear first. Within
    `staging.staged`, the keys are held back until the batch is published. Features
    call `share`, `share_many`, `share_like` or `unshare` (`rsn.sharing.share`).
    """
    if staging.staging(session) is not None:
        staging.hold(session, grants, fresh=fresh, kind=kind)
        return
    conn = session.connection()
    if not fresh and grants:
        conn.execute(delete(SharingGrant).where(SharingGrant.item_id.in_(list(grants))))
    rows = [
        {"item_id": item, "key": k, "kind": kind}
        for item, keys in grants.items()
        for k in sorted(keys)
    ]
    insert_plain(conn, SharingGrant, rows)


def can_read(session: Session, principal: Principal, item_id: str) -> bool:
    """One item's visibility, asked of the same rules table as every query."""
    query = select(SharingGrant.item_id).where(
        SharingGrant.item_id == item_id, SharingGrant.key.in_(sorted(principal.keys))
    )
    return session.scalar(query.limit(1)) is not None
