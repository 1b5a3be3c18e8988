"""Writing the demo node through the service layer, in three short transactions.

Everything goes through the same services the API uses (registry, tokens,
reports), so the demo's data obeys the same rules, lands in the same indexes and
leaves the same audit trail as real use. The registry (with its audit records)
commits first, then the reports, then their second versions and revocations; the
audit chain is linked after the last commit and the accounts file is written last
of all, so a node that holds users but no accounts file was interrupted, and
`prepare` says so instead of seeding over it.

Password hashing (argon2, ~0.1-0.2 s each) is the slowest step: the hashes are
computed in a thread pool (argon2-cffi releases the GIL) while the main thread
loads the pack, creates the organizations and plans the scenario.
"""

from __future__ import annotations

import os
import random
import secrets
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from rsn import audit, clock, sharing
from rsn.config import Settings
from rsn.demo import accounts, data, scenario
from rsn.demo.accounts import Account
from rsn.demo.scenario import Planned
from rsn.node import open_database
from rsn.registry import approvals, catalog, regionpacks, tokens
from rsn.registry import service as registry
from rsn.registry.models import Organization, User
from rsn.reports import service as reports
from rsn.reports.schemas import ReportCreate
from rsn.sharing import Principal
from rsn.store import Database

PACK = "bimstec"
ACTOR = "rsn demo"
TOKEN_NAME = "demo"
HASH_WORKERS = min(4, os.cpu_count() or 1)


def prepare(settings: Settings, *, now: datetime | None = None, seed: int = 2026) -> list[Account]:
    """The demo accounts of the node in `settings`, seeding it first if it has no users.

    The database must already be migrated. A second call on the same data
    directory creates nothing and returns the accounts the first one wrote.
    """
    when = _utc(now)
    path = accounts.path_in(settings.data_dir)
    db = open_database(settings)
    try:
        if not _is_empty(db):
            return accounts.read(path)
        issued = seed_node(db, now=when, seed=seed)
        audit.chain(db)
    finally:
        db.dispose()
    accounts.write(path, issued)
    return issued


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return clock.now()
    if now.tzinfo is None:
        raise ValueError("prepare(now=...) needs a timezone-aware datetime")
    return now.astimezone(UTC)


def _is_empty(db: Database) -> bool:
    with db.session() as session:
        return not registry.get_users(session)


def seed_node(db: Database, *, now: datetime, seed: int) -> list[Account]:
    """Seed an empty node: registry, ~300 reports, their follow-ups; returns the accounts."""
    cast = data.cast()
    passwords = {u.username: secrets.token_urlsafe(12) for u in cast.users if u.account}
    with ThreadPoolExecutor(HASH_WORKERS, thread_name_prefix="rsn-demo-hash") as pool:
        hashing = {name: pool.submit(registry.hash_password, pw) for name, pw in passwords.items()}
        with db.session(write=True) as session:
            orgs = _organizations(session, cast)
            taxonomy = catalog.node_taxonomy(session)
            planned = scenario.plan(list(taxonomy), now=now, rng=random.Random(seed))
            hashes = {name: future.result() for name, future in hashing.items()}
            users = _users(session, cast, orgs, hashes)
            issued = _tokens(session, users, list(passwords))
            _groups(session, cast, orgs)
    with db.session(write=True) as session:
        report_ids = _reports(session, planned)
    with db.session(write=True) as session:
        _follow_ups(session, planned, report_ids)
    with db.session(write=True) as session:
        _release_rules(session, cast, now=now)
        _requests(session, cast)
    return [_account(cast.user(name), cast, passwords[name], issued[name]) for name in passwords]


def _account(user: data.UserSpec, cast: data.Cast, password: str, token: str) -> Account:
    org = cast.org(user.org)
    return Account(
        username=user.username,
        password=password,
        member_state=org.state,
        organization=org.slug,
        role=user.role,
        api_token=token,
    )


def _organizations(session: Session, cast: data.Cast) -> dict[str, Organization]:
    """The pack's states and bodies, then every agency of the cast not already there."""
    pack = regionpacks.load(PACK)
    catalog.load_pack(session, pack)
    audit.record(
        session,
        actor=ACTOR,
        action="region.load",
        detail={"slug": pack.slug, "version": pack.version},
    )
    orgs = {o.slug: o for o in registry.get_organizations(session)}
    for spec in cast.organizations:
        if spec.slug in orgs:
            continue
        org = registry.create_organization(
            session, slug=spec.slug, name=spec.name, type=spec.type, member_state=spec.state
        )
        audit.record(
            session, actor=ACTOR, action="org.create", item_ids=[org.id], detail={"slug": spec.slug}
        )
        orgs[spec.slug] = org
    _focal_points(session, cast, orgs)
    return orgs


def _focal_points(session: Session, cast: data.Cast, orgs: Mapping[str, Organization]) -> None:
    """The cast's focal points, then each other state's first organization, as the CLI does."""
    first = sorted(cast.organizations, key=lambda spec: not spec.focal_point)
    for spec in first:
        org = orgs[spec.slug]
        if approvals.focal_point(session, org.member_state) is None:
            approvals.set_focal_point(session, organization=org)
            audit.record(
                session,
                actor=ACTOR,
                action="org.settings",
                item_ids=[org.id],
                detail={"focal_point_of": org.member_state},
            )


def _users(
    session: Session,
    cast: data.Cast,
    orgs: Mapping[str, Organization],
    hashes: Mapping[str, str],
) -> dict[str, User]:
    """Every user of the cast; only those with a listed account can sign in with a password."""
    users = {}
    for spec in cast.users:
        user = registry.create_user(
            session,
            username=spec.username,
            display_name=spec.name,
            organization=orgs[spec.org],
            role=spec.role,
            password_hash=hashes.get(spec.username),
        )
        audit.record(
            session,
            actor=ACTOR,
            action="user.create",
            item_ids=[user.id],
            detail={"username": spec.username, "role": spec.role},
        )
        users[spec.username] = user
    return users


def _tokens(session: Session, users: Mapping[str, User], names: Sequence[str]) -> dict[str, str]:
    """One API token per listed account; the clear token is returned, never stored."""
    issued = {}
    for name in names:
        token = tokens.create(session, user=users[name], name=TOKEN_NAME)
        audit.record(
            session,
            actor=ACTOR,
            action="token.create",
            item_ids=[token.id],
            detail={"username": name, "prefix": token.prefix},
        )
        issued[name] = token.token
    return issued


def _groups(session: Session, cast: data.Cast, orgs: Mapping[str, Organization]) -> None:
    """Each sharing group, its members set by its owner, both changes audited."""
    for spec in cast.sharing_groups:
        owner = orgs[spec.owner]
        group = registry.create_sharing_group(session, slug=spec.slug, name=spec.name, owner=owner)
        audit.record(
            session,
            actor=ACTOR,
            action="group.create",
            item_ids=[group.id],
            detail={"slug": spec.slug, "owner": spec.owner},
        )
        registry.set_group_members(
            session,
            group=group,
            acting_org=owner,
            organizations=[orgs[slug] for slug in spec.organizations],
            member_states=spec.member_states,
        )
        audit.record(
            session,
            actor=f"{spec.by} for {spec.owner}",
            action="group.members",
            item_ids=[group.id],
            detail={
                "organizations": list(spec.organizations),
                "member_states": list(spec.member_states),
            },
        )


class _Principals:
    """Each originator's principal, worked out once per transaction rather than per report."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.known: dict[str, Principal] = {}

    def __getitem__(self, username: str) -> Principal:
        if username not in self.known:
            user = registry.get_user(self.session, username=username)
            self.known[username] = sharing.for_user(self.session, user)
        return self.known[username]


def _reports(session: Session, planned: Sequence[Planned]) -> list[str]:
    principals = _Principals(session)
    filings = [reports.Filing(principals[item.username], item.data) for item in planned]
    return reports.create_many(session, filings)


def _requests(session: Session, cast: data.Cast) -> None:
    """The administrator's requests the cast leaves undecided, asked as the web pages ask."""
    for asked in cast.awaiting_approval:
        by = registry.get_user(session, username=asked.by)
        if asked.member:
            approvals.request_member(
                session,
                by=by,
                username=asked.member.username,
                display_name=asked.member.name,
                organization=registry.get_organization(session, slug=asked.member.org),
                role=asked.member.role,
            )
        if asked.organization:
            spec = asked.organization
            approvals.request_organization(
                session,
                by=by,
                slug=spec.slug,
                name=spec.name,
                type=spec.type,
                member_state=spec.state,
            )


def _release_rules(session: Session, cast: data.Cast, *, now: datetime) -> None:
    """Turn release on where the cast asks, then file what waits in the releasers' queue.

    After the scenario's reports, so those stay as their storylines need them.
    """
    for spec in cast.organizations:
        if spec.release_required:
            org = registry.get_organization(session, slug=spec.slug)
            registry.set_release_required(session, organization=org, required=True)
            detail = {"release_required": True}
            audit.record(
                session, actor=ACTOR, action="org.settings", item_ids=[org.id], detail=detail
            )
    principals = _Principals(session)
    for held in cast.awaiting_release:
        occurred = now - timedelta(days=held.days_ago)
        data_ = ReportCreate.model_validate(
            {
                "title": held.title,
                "category": held.category,
                "description": held.description,
                "occurred_at": occurred.replace(minute=0, second=0, microsecond=0),
                "country": held.country,
                "severity": held.severity,
                "confidence": 70,
                "tlp": held.tlp,
                "distribution": {"member_states": list(held.member_states)},
            }
        )
        reports.create(session, principal=principals[held.by], data=data_)


def _follow_ups(session: Session, planned: Sequence[Planned], report_ids: Sequence[str]) -> None:
    """Second versions and revocations, by the originators themselves."""
    principals = _Principals(session)
    for item, report_id in zip(planned, report_ids, strict=True):
        if item.update is not None:
            reports.update_report(
                session, principal=principals[item.username], report_id=report_id, data=item.update
            )
        if item.revoke is not None:
            reports.revoke(
                session,
                principal=principals[item.username],
                report_id=report_id,
                reason=item.revoke,
            )
