"""Checking a distribution against its marking and resolving its names to ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rsn.errors import FieldProblem, ValidationError
from rsn.registry.models import MemberState, Organization, SharingGroup, User
from rsn.sharing.policy import Audience, Distribution, Principal, audience, item_keys

ALLOWED = {
    "clear": frozenset(),
    "green": frozenset(),
    "amber": frozenset({"member_states", "organizations", "sharing_groups"}),
    "amber+strict": frozenset({"organizations"}),
    "red": frozenset({"users"}),
}
KEYS = ("member_states", "organizations", "sharing_groups", "users")
LOOKUP_CHUNK = 500  # names per IN list, well under every store's limit of bound values


LOOKUPS: dict[str, Any] = {
    "member_states": (MemberState.code, MemberState.code),
    "organizations": (Organization.slug, Organization.id),
    "sharing_groups": (SharingGroup.slug, SharingGroup.id),
    "users": (User.username, User.id),
}


def _marking_allows(tlp: str, names: dict[str, Sequence[str]]) -> None:
    problems = []
    for key in KEYS:
        if names.get(key) and key not in ALLOWED[tlp]:
            allowed = ", ".join(sorted(ALLOWED[tlp])) or "no distribution at all"
            message = f"TLP:{tlp.upper()} takes {allowed}; '{key}' must be empty."
            problems.append(FieldProblem(f"distribution.{key}", message))
    if problems:
        raise ValidationError(problems)


def _ids(session: Session, key: str, entries: list[str]) -> dict[str, str]:
    """Names to ids, remembered for the transaction: a bulk load names the same few often.

    Only names found are remembered; registry entries are never deleted, so a hit
    stays true for the rest of the transaction.
    """
    known: dict[str, str] = session.info.setdefault("rsn_distribution_ids", {}).setdefault(key, {})
    missing = [e for e in entries if e not in known]
    if missing:
        name_col, id_col = LOOKUPS[key]
        query = select(name_col.label("name"), id_col.label("id")).where(name_col.in_(missing))
        known.update({row.name: row.id for row in session.execute(query)})
    return {e: known[e] for e in entries if e in known}


def resolve(session: Session, tlp: str, names: dict[str, Sequence[str]]) -> Distribution:
    """Ids for a distribution given by names; 422 naming every entry that is wrong."""
    _marking_allows(tlp, names)
    problems: list[FieldProblem] = []
    resolved: dict[str, tuple[str, ...]] = {}
    for key in KEYS:
        entries = list(names.get(key) or [])
        found = _ids(session, key, entries) if entries else {}
        for i, entry in enumerate(entries):
            if entry not in found:
                kind = key.removesuffix("s").replace("_", " ")
                problems.append(
                    FieldProblem(f"distribution.{key}[{i}]", f"'{entry}' is not a known {kind}.")
                )
        resolved[key] = tuple(dict.fromkeys(found[e] for e in entries if e in found))
    if problems:
        raise ValidationError(problems)
    return Distribution(
        member_states=resolved["member_states"],
        organization_ids=resolved["organizations"],
        sharing_group_ids=resolved["sharing_groups"],
        user_ids=resolved["users"],
    )


def resolve_many(
    session: Session, markings: Sequence[tuple[str, dict[str, Sequence[str]]]]
) -> list[Distribution]:
    """`resolve` for a batch, with one look-up per kind of name for the whole batch.

    A bulk load names the same few states, organizations and users again and again;
    asking for each new name as it comes was a query per name per transaction.
    """
    for key in KEYS:
        entries = sorted({e for _, names in markings for e in names.get(key) or []})
        for start in range(0, len(entries), LOOKUP_CHUNK):
            _ids(session, key, entries[start : start + LOOKUP_CHUNK])
    return [resolve(session, tlp, names) for tlp, names in markings]


def audience_for(
    session: Session, principal: Principal, tlp: str, names: dict[str, Sequence[str]]
) -> Audience:
    """Who would read an item marked and distributed so, were `principal` to file it now.

    The "who will see this" answer of the API and the report form alike.
    """
    dist = resolve(session, tlp, names)
    keys = item_keys(
        tlp, dist, originator_user_id=principal.user_id, originator_org_id=principal.organization_id
    )
    return audience(session, keys, own_org_id=principal.organization_id)
