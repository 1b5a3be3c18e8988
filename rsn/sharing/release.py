"""Drafts and release: who reads an item before its organization lets it out.

A draft, or an item waiting for release, opens to its author and to the
organization's releasers (liaison officers and duty officers) among the readers
its marking allows, and to no one else. That is stated as audience keys, like
every other rule, so each read path (lists, search, counts, correlations,
exports, TAXII, the public page) hides it through the one `visible` condition:

    draft of a clear/green/amber/amber+strict item   user:<author>, rel:<org>
    draft of a red item                               user:<author>, rel:<org>:<named user>
    a releaser of <org> holds                         rel:<org>, rel:<org>:<own id>

Every releaser of the originating organization is a reader of a clear, green,
amber or amber+strict item (each opens to the whole organization at least), so
for those the organization's releaser key is exactly "releasers among the
readers". A red item opens to named users only, so only those of them who are
releasers of the organization get a key.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from rsn.registry.models import Organization, User
from rsn.sharing.policy import PUBLIC, RELEASER_ROLES, Distribution, Principal, item_keys

PUBLISHED = "published"
DRAFT = "draft"
PENDING = "pending"
STATUSES = (PUBLISHED, DRAFT, PENDING)
RELEASER = "rel:"
USER = "user:"
ORG = "org:"


def is_releaser(principal: Principal, *, organization_id: str) -> bool:
    """Liaison officers and duty officers release what their own organization files."""
    return principal.role in RELEASER_ROLES and principal.organization_id == organization_id


def draft_keys(
    tlp: str, distribution: Distribution, *, originator_user_id: str, originator_org_id: str
) -> frozenset[str]:
    """The audience keys of a draft: its author, and the releasers its marking lets read it."""
    marking = item_keys(
        tlp,
        distribution,
        originator_user_id=originator_user_id,
        originator_org_id=originator_org_id,
    )
    keys = {f"{USER}{originator_user_id}"}
    if tlp == "red":
        named = (k.removeprefix(USER) for k in marking if k.startswith(USER))
        keys.update(f"{RELEASER}{originator_org_id}:{u}" for u in named)
    else:
        keys.add(f"{RELEASER}{originator_org_id}")
    return frozenset(keys)


def keys_for(
    status: str,
    tlp: str,
    distribution: Distribution,
    *,
    originator_user_id: str,
    originator_org_id: str,
) -> frozenset[str]:
    """An item's audience keys in its status: its marking's once published, a draft's before."""
    keys = draft_keys if status != PUBLISHED else item_keys
    return keys(
        tlp,
        distribution,
        originator_user_id=originator_user_id,
        originator_org_id=originator_org_id,
    )


def reaches_outside(session: Session, keys: Iterable[str], *, organization_id: str) -> bool:
    """Whether an item with these keys would be read by anyone outside the organization.

    Decided by the keys, not by who holds them today: a state named in an amber
    distribution is outside even before any of its agencies has an account.
    """
    users = []
    for key in keys:
        if key == f"{ORG}{organization_id}":
            continue
        if not key.startswith(USER):
            return True
        users.append(key.removeprefix(USER))
    if not users:
        return False
    orgs = session.scalars(select(User.organization_id).where(User.id.in_(users)).distinct())
    return any(org != organization_id for org in orgs)


def needs_release(
    session: Session,
    *,
    principal: Principal,
    required: bool,
    keys: frozenset[str],
    organization_id: str,
    before: frozenset[str] | None = None,
) -> bool:
    """Whether an item must wait for a releaser before these keys apply.

    Only when its organization requires release and the item would be read
    outside it; for a new version of a published item, only when the keys it
    adds to `before` reach outside (a clear item already reaches everyone). A
    releaser's own filing is released by filing it.
    """
    if not required or is_releaser(principal, organization_id=organization_id):
        return False
    if before is not None:
        if PUBLIC in before:
            return False
        keys = keys - before
    return reaches_outside(session, keys, organization_id=organization_id)


def held_if_filed(
    session: Session,
    *,
    principal: Principal,
    tlp: str,
    dist: Distribution,
    required: bool | None = None,
) -> bool:
    """Whether `principal` filing an item so, now, would wait for a releaser.

    The one answer for the service that files and the form that warns before
    filing. `required` is whether the filer's organization requires release,
    when the caller already knows (a bulk load asks once for all its filings).
    """
    org = principal.organization_id
    if required is None:
        required = org in required_by(session, [org])
    keys = item_keys(tlp, dist, originator_user_id=principal.user_id, originator_org_id=org)
    return needs_release(
        session, principal=principal, required=required, keys=keys, organization_id=org
    )


def required_by(session: Session, organization_ids: Iterable[str]) -> frozenset[str]:
    """Of these organizations, those whose releasers must let out what leaves them."""
    ids = sorted(set(organization_ids))
    if not ids:
        return frozenset()
    query = select(Organization.id).where(
        Organization.id.in_(ids), Organization.release_required.is_(True)
    )
    return frozenset(session.scalars(query))
