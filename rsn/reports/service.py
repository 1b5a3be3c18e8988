"""Report queries and writes; the only module that reads or writes reports.

Every read goes through `rsn.sharing.visible`, so lists, counts, search and
single reads answer the same question. Services never commit.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rsn import audit, events, sharing
from rsn.errors import Conflict, Forbidden, NotFound, ValidationError
from rsn.registry import catalog
from rsn.registry.models import Organization, User
from rsn.registry.service import country_name
from rsn.reports import held, rows
from rsn.reports.events import ReportChanged, ReportFiled, ReportRevoked
from rsn.reports.models import (
    IdempotencyKey,
    PendingVersion,
    Report,
    ReportObservable,
    ReportVersion,
)
from rsn.reports.schemas import ReportCreate, ReportUpdate, in_country
from rsn.sharing import Principal
from rsn.store import new_id, utcnow

if TYPE_CHECKING:  # fusion reads reports; reports only name its result
    from rsn.fusion import Correlations

SEQ_COUNTER = "report_seq"
REPORT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class Loaded:
    """A report with what a reader gets alongside it."""

    report: Report
    observables: list[tuple[str, str]]
    originator_username: str
    originator_org_slug: str
    correlations: Correlations | None = None  # set by `rsn.fusion.attach`
    disclosed_matches: list[str] = field(default_factory=list)
    next_version: PendingVersion | None = None
    next_version_by: str = ""


# One statement whether or not the counter exists yet: two first filings at once on a
# new node both found no row and both inserted one, and the second failed (PostgreSQL).
_BUMP = text(
    "INSERT INTO counters (name, value) VALUES (:name, :n)"
    " ON CONFLICT (name) DO UPDATE SET value = counters.value + excluded.value RETURNING value"
)


def next_seqs(session: Session, n: int = 1) -> range:
    """The next `n` commit-order numbers.

    The counter row stays locked until the transaction ends, so transactions that
    write reports take their numbers, and commit, one after another.
    """
    conn = session.connection()
    last = conn.execute(_BUMP, {"n": n, "name": SEQ_COUNTER}).scalar_one()
    return range(int(last) - n + 1, int(last) + 1)


def renumber_published(session: Session, report_ids: Select[Any], *, now: datetime) -> None:
    """Give the versions of a batch just published commit numbers and dates from now.

    A batch is written in chunks over minutes while other writes commit; readers
    that page by commit order (TAXII) are past its numbers by the time it opens,
    and would never see it. Shifted past the counter, its versions keep their order
    and come after everything already committed, dated when they became visible.
    """
    conn = session.connection()
    lo, hi = conn.execute(
        select(func.min(ReportVersion.seq), func.max(ReportVersion.seq)).where(
            ReportVersion.report_id.in_(report_ids)
        )
    ).one()
    if lo is None:
        return
    shift = next_seqs(session, hi - lo + 1)[0] - lo
    conn.execute(
        update(ReportVersion)
        .where(ReportVersion.report_id.in_(report_ids))
        .values(seq=ReportVersion.seq + shift, date_added=now)
    )
    conn.execute(update(Report).where(Report.id.in_(report_ids)).values(seq=Report.seq + shift))


def next_seq(session: Session) -> int:
    return next_seqs(session, 1)[0]


def check_fields(session: Session, data: ReportCreate | ReportUpdate) -> None:
    """The checks that need the node's data: its taxonomy and the ISO country list."""
    if data.category is not None and data.category not in catalog.category_ids(session):
        raise ValidationError.field(
            "category", f"'{data.category}' is not a category of this node's taxonomy."
        )
    if data.country is not None and country_name(data.country) is None:
        raise ValidationError.field(
            "country", f"'{data.country}' is not an ISO 3166 alpha-2 country code."
        )


@dataclass(frozen=True)
class Filing:
    """One report to file, by whom, and (for imports) from which source.

    An import keeps the times and the revocation its source gave the report;
    a report filed here leaves them unset and the node stamps them.
    """

    principal: Principal
    data: ReportCreate
    source_identity: str | None = None
    report_id: str | None = None
    created: datetime | None = None
    modified: datetime | None = None
    revoked_reason: str | None = None
    revoked_at: datetime | None = None
    draft: bool = False


def create(
    session: Session,
    *,
    principal: Principal,
    data: ReportCreate,
    source_identity: str | None = None,
    report_id: str | None = None,
    draft: bool = False,
) -> str:
    """Store a new report as version 1, with its grants, index rows and audit record.

    Returns the new id; reading the report back is the caller's choice. A draft,
    or a report its organization must release first, is stored unpublished.
    """
    filing = Filing(principal, data, source_identity, report_id, draft=draft)
    [new] = create_many(session, [filing])
    return new


def create_many(session: Session, filings: Sequence[Filing]) -> list[str]:
    """File many reports in a few multi-row statements: the path of bulk loads and imports.

    Each filing is checked as a single create would be; any error rejects all.
    """
    for filing in filings:
        if filing.report_id is not None and not REPORT_ID.fullmatch(filing.report_id):
            raise ValueError(f"a report id is a lower-case UUID, not {filing.report_id!r}")
        if not sharing.may_file(filing.principal):
            raise Forbidden(f"A {filing.principal.role} may read reports but not file them.")
        check_fields(session, filing.data)
    dists = sharing.resolve_distributions(
        session, [(f.data.tlp, f.data.distribution.model_dump()) for f in filings]
    )
    now = utcnow()
    seqs = next_seqs(session, len(filings))
    required = sharing.required_by(session, {f.principal.organization_id for f in filings})
    values = [
        _new_values(f, seq, now, _status(session, f, d, required))
        for f, seq, d in zip(filings, seqs, dists, strict=True)
    ]
    rows.insert_reports(session, values)
    versions = [
        rows.Version(v, [(o.type, o.value) for o in f.data.observables], d, f.principal.user_id)
        for f, v, d in zip(filings, values, dists, strict=True)
    ]
    rows.write_versions(session, versions, now=now, fresh=True)
    if sharing.staging(session) is None:  # a staged batch is filed when it is published
        events.publish(session, ReportFiled(tuple(str(v["id"]) for v in values)))
    audit.record_many(
        session,
        action="report.create",
        entries=[(f.principal.username, [v["id"]]) for f, v in zip(filings, values, strict=True)],
    )
    return [str(v["id"]) for v in values]


def _status(
    session: Session, filing: Filing, dist: sharing.Distribution, required: frozenset[str]
) -> str:
    """A new report's status: a draft when asked, pending when its organization must release it."""
    if filing.draft:
        return sharing.DRAFT
    principal = filing.principal
    held_back = sharing.held_if_filed(
        session,
        principal=principal,
        tlp=filing.data.tlp,
        dist=dist,
        required=principal.organization_id in required,
    )
    return sharing.PENDING if held_back else sharing.PUBLISHED


def _new_values(filing: Filing, seq: int, now: datetime, status: str) -> dict[str, Any]:
    data, principal = filing.data, filing.principal
    return {
        "id": filing.report_id or new_id(),
        "version": 1,
        "seq": seq,
        "doc_id": seq,
        "title": data.title,
        "category": data.category,
        "description": data.description,
        "occurred_at": data.occurred_at,
        "country": data.country,
        "lat": data.location.lat if data.location else None,
        "lon": data.location.lon if data.location else None,
        "sea_area": data.sea_area,
        "severity": data.severity,
        "confidence": data.confidence,
        "source_reliability": data.source_reliability,
        "information_credibility": data.information_credibility,
        "tlp": data.tlp,
        "distribution": data.distribution.model_dump(),
        "originator_user_id": principal.user_id,
        "originator_org_id": principal.organization_id,
        "originator_state": principal.member_state,
        "source_identity": filing.source_identity,
        "created": filing.created or now,
        "modified": filing.modified or filing.created or now,
        "revoked": filing.revoked_at is not None,
        "revoked_reason": filing.revoked_reason,
        "revoked_at": filing.revoked_at,
        "status": status,
        "refusal_reason": None,
    }


def create_once(
    session: Session,
    *,
    principal: Principal,
    data: ReportCreate,
    key: str | None,
    draft: bool = False,
) -> tuple[str, bool]:
    """Create, or replay the report an earlier request with the same key created.

    The key belongs to its user; the same key with a different body is refused,
    since answering with the first report would hide that the second was lost.
    """
    if key is None:
        return create(session, principal=principal, data=data, draft=draft), False
    digest = hashlib.sha256(
        json.dumps(data.model_dump(mode="json"), sort_keys=True).encode()
    ).hexdigest()
    seen = session.get(IdempotencyKey, (principal.user_id, key))
    if seen is not None:
        if seen.request_hash != digest:
            raise ValidationError.field(
                "Idempotency-Key", f"'{key}' was already used for a different report."
            )
        return seen.report_id, True
    report_id = create(session, principal=principal, data=data, draft=draft)
    session.add(
        IdempotencyKey(
            user_id=principal.user_id,
            key=key,
            request_hash=digest,
            report_id=report_id,
            created=utcnow(),
        )
    )
    try:
        session.flush()
    except IntegrityError as exc:  # the same key, in a transaction that committed meanwhile
        raise Conflict("A request with this Idempotency-Key is in progress; retry it.") from exc
    return report_id, False


def get(session: Session, *, principal: Principal, report_id: str) -> Report:
    """A report the principal may read; NotFound alike for hidden and absent ones."""
    if not REPORT_ID.fullmatch(report_id):
        raise NotFound("report", report_id[:64])
    report = session.scalar(
        select(Report).where(Report.id == report_id, sharing.visible(principal, Report.id))
    )
    if report is None:
        raise NotFound("report", report_id)
    return report


def _for_change(session: Session, *, principal: Principal, report_id: str) -> Report:
    report = get(session, principal=principal, report_id=report_id)
    if not sharing.may_change(principal, originator_org_id=report.originator_org_id):
        raise Forbidden(
            "Only analysts and duty officers of the originating organization may change it."
        )
    return report


def observables_of(session: Session, report_ids: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {r: [] for r in report_ids}
    rows = session.execute(
        select(ReportObservable.report_id, ReportObservable.type, ReportObservable.value)
        .where(ReportObservable.report_id.in_(list(report_ids)))
        .order_by(ReportObservable.report_id, ReportObservable.position)
    )
    for rid, kind, value in rows:
        found[rid].append((kind, value))
    return found


SCALAR_FIELDS = (
    "title",
    "category",
    "description",
    "occurred_at",
    "country",
    "sea_area",
    "severity",
    "confidence",
    "source_reliability",
    "information_credibility",
)
NULLABLE_FIELDS = frozenset({"sea_area", "location"})


def update_report(
    session: Session, *, principal: Principal, report_id: str, data: ReportUpdate
) -> Report:
    """Apply a partial update as a new full version; an update that changes nothing adds none."""
    report = _for_change(session, principal=principal, report_id=report_id)
    if report.revoked:
        raise Forbidden("A revoked report cannot be edited.")
    given = data.model_dump(exclude_unset=True)
    for name, value in given.items():
        if value is None and name not in NULLABLE_FIELDS:
            raise ValidationError.field(name, "may not be null.")
    check_fields(session, data)
    tlp = data.tlp or report.tlp
    names = _distribution_after(report, given, tlp)
    dist = sharing.resolve_distribution(session, tlp, names)
    observables = observables_of(session, [report.id])[report.id]
    if held.must_hold(session, principal=principal, report=report, tlp=tlp, dist=dist):
        proposed = _proposed(report, observables, {**given, "tlp": tlp, "distribution": names})
        held.hold(session, principal=principal, report=report, dist=dist, filing=proposed)
        return report
    before = rows.snapshot(rows.values_of(report), observables)
    for name in SCALAR_FIELDS:
        if name in given:
            setattr(report, name, getattr(data, name))
    if "location" in given:
        report.lat = data.location.lat if data.location else None
        report.lon = data.location.lon if data.location else None
    report.tlp, report.distribution = tlp, _names(names)
    if data.observables is not None:
        observables = [(o.type, o.value) for o in in_country(data.observables, report.country)]
    if rows.snapshot(rows.values_of(report), observables) == before:
        return report
    return new_version(session, report, observables, dist, principal, "report.update")


def replace(
    session: Session,
    *,
    principal: Principal,
    report_id: str,
    filing: Filing,
    staged: bool = False,
) -> Report:
    """A whole new version as an import brings it, keeping the source's times.

    Unlike `update_report`, every field is replaced and a revoked report may be
    replaced too: the source's later version is what it is. `staged`: the report
    was filed by this same import, in a batch not yet published (so open to
    nobody, its importer included, until then).
    """
    if staged:
        report = session.get_one(Report, report_id)
        if not sharing.may_change(principal, originator_org_id=report.originator_org_id):
            raise Forbidden("Only the importing organization may add to what it imports.")
    else:
        report = _for_change(session, principal=principal, report_id=report_id)
    data = filing.data
    check_fields(session, data)
    dist = sharing.resolve_distribution(session, data.tlp, data.distribution.model_dump())
    if held.must_hold(session, principal=principal, report=report, tlp=data.tlp, dist=dist):
        kept = held.as_json(
            data,
            source_identity=filing.source_identity,
            created=filing.created,
            modified=filing.modified,
            revoked_reason=filing.revoked_reason,
            revoked_at=filing.revoked_at,
        )
        held.hold(session, principal=principal, report=report, dist=dist, filing=kept)
        return report
    return apply(session, principal=principal, report=report, filing=filing, dist=dist)


def apply(
    session: Session,
    *,
    principal: Principal,
    report: Report,
    filing: Filing,
    dist: sharing.Distribution,
    action: str = "report.import",
    submitted_by: str | None = None,
) -> Report:
    """Write a whole filing as the report's next version (an import's, or a released one)."""
    data = filing.data
    for name in SCALAR_FIELDS:
        setattr(report, name, getattr(data, name))
    report.lat = data.location.lat if data.location else None
    report.lon = data.location.lon if data.location else None
    report.tlp, report.distribution = data.tlp, data.distribution.model_dump()
    report.source_identity = filing.source_identity
    report.revoked = filing.revoked_at is not None
    report.revoked_reason, report.revoked_at = filing.revoked_reason, filing.revoked_at
    observables = [(o.type, o.value) for o in data.observables]
    return new_version(
        session,
        report,
        observables,
        dist,
        principal,
        action,
        modified=filing.modified,
        submitted_by=submitted_by,
    )


def _proposed(
    report: Report, observables: list[tuple[str, str]], given: dict[str, Any]
) -> dict[str, Any]:
    """The whole next version an update asks for, as a held version keeps it."""
    current: dict[str, Any] = {name: getattr(report, name) for name in SCALAR_FIELDS}
    current["location"] = None if report.lat is None else {"lat": report.lat, "lon": report.lon}
    current["observables"] = [{"type": t, "value": v} for t, v in observables]
    data = ReportCreate.model_validate({**current, **given})
    return held.as_json(data, source_identity=report.source_identity)


def _distribution_after(report: Report, given: dict[str, Any], tlp: str) -> dict[str, Any]:
    """The distribution an update leaves: the one given, else the current one.

    A new marking without a new distribution starts from none, so a change of
    marking never opens a report wider than its editor asked.
    """
    if "distribution" in given:
        return dict(given["distribution"])
    return dict(report.distribution) if tlp == report.tlp else {}


def _names(names: dict[str, Sequence[str]]) -> dict[str, list[str]]:
    return {
        k: list(names.get(k) or [])
        for k in ("member_states", "organizations", "sharing_groups", "users")
    }


def new_version(
    session: Session,
    report: Report,
    observables: list[tuple[str, str]],
    dist: sharing.Distribution,
    principal: Principal,
    action: str,
    *,
    modified: datetime | None = None,
    submitted_by: str | None = None,
) -> Report:
    now = utcnow()
    report.version += 1
    # STIX tells versions apart by `modified`: two edits within one millisecond
    # must still get two distinct times, or an importer would merge them.
    report.modified = modified or max(now, report.modified + timedelta(milliseconds=1))
    report.seq = next_seq(session)
    session.flush()
    author = submitted_by or principal.user_id
    version = rows.Version(rows.values_of(report), observables, dist, author)
    rows.write_versions(session, [version], now=now, fresh=False)
    if action == "report.revoke":
        events.publish(session, ReportRevoked((report.id,)))
    else:
        events.publish(session, ReportChanged((report.id,), action))
    audit.record(
        session,
        actor=principal.username,
        action=action,
        item_ids=[report.id],
        detail={"version": report.version},
    )
    return report


def revoke(session: Session, *, principal: Principal, report_id: str, reason: str) -> Report:
    """Mark revoked with a reason; it stays readable, as revoked, by the same readers."""
    report = _for_change(session, principal=principal, report_id=report_id)
    if report.revoked:
        return report
    report.revoked, report.revoked_reason, report.revoked_at = True, reason, utcnow()
    dist = sharing.resolve_distribution(session, report.tlp, report.distribution)
    observables = observables_of(session, [report.id])[report.id]
    return new_version(session, report, observables, dist, principal, "report.revoke")


def history(session: Session, *, principal: Principal, report_id: str) -> list[ReportVersion]:
    """The versions `principal` may read: under their own marking and the current one."""
    get(session, principal=principal, report_id=report_id)
    query = select(ReportVersion).where(
        ReportVersion.report_id == report_id,
        sharing.visible_version(principal, ReportVersion.item_id, ReportVersion.report_id),
    )
    return list(session.scalars(query.order_by(ReportVersion.version)))


def load(
    session: Session,
    *,
    principal: Principal,
    reports: Sequence[Report],
    with_next_version: bool = False,
) -> list[Loaded]:
    """Reports with their observables, originator names and (read whole) the version held back.

    A report read whole also shows its correlations: `rsn.fusion.attach` adds them.
    """
    obs = observables_of(session, [r.id for r in reports])
    user_ids = {r.originator_user_id for r in reports}
    org_ids = {r.originator_org_id for r in reports}
    names = usernames(session, user_ids)
    slugs = _slugs(session, org_ids)
    loaded = []
    for r in reports:
        item = Loaded(
            r, obs[r.id], names.get(r.originator_user_id, ""), slugs.get(r.originator_org_id, "")
        )
        if with_next_version:
            _with_next_version(session, principal, item)
        loaded.append(item)
    return loaded


def _with_next_version(session: Session, principal: Principal, item: Loaded) -> None:
    """The version held for release, for the author and releasers who may see it."""
    item.next_version = held.get(session, principal=principal, report_id=item.report.id)
    if item.next_version is not None:
        by = item.next_version.submitted_by
        item.next_version_by = usernames(session, {by}).get(by, "")


def usernames(session: Session, ids: set[str]) -> dict[str, str]:
    rows = session.execute(select(User.id, User.username).where(User.id.in_(ids)))
    return {user_id: name for user_id, name in rows}


def _slugs(session: Session, ids: set[str]) -> dict[str, str]:
    rows = session.execute(
        select(Organization.id, Organization.slug).where(Organization.id.in_(ids))
    )
    return {org_id: slug for org_id, slug in rows}
