"""Storing what a parser read: one path for every format, the CLI, the API and TAXII.

An import is an upsert keyed by (importing organization, source, external id)
among the reports the importer may read. The source and external id are what
the file claims, which anyone can write: keyed by them alone, whoever imported
an item first would own it for everyone (a forged copy dated 2099 made every
later import of the genuine item "unchanged"). So each organization keeps its
own copy, and correlation links the copies through their observables.

A foreign report always gets a fresh local id, never the one its file names:
keeping a free id and replacing a taken one told the importer whether a report
it may not see held that id. The file's id is kept as the external id, for
re-import. A key whose holder is hidden from the importer is treated as unseen,
so an import never confirms nor overwrites what its importer may not see.
Versions the node already holds (same or older `modified`) are skipped, so
importing the same file twice changes nothing. A report this node exported
itself comes back "unchanged", under its own id, only when the node's MAC
proves each of its versions and the importer may read it (`provenance`);
otherwise it is one more foreign report.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.orm import Session

from rsn import sharing
from rsn.errors import Forbidden, ValidationError
from rsn.interop import provenance
from rsn.interop.model import Incoming, IncomingVersion, problem
from rsn.interop.models import KeptObject, ReportLink
from rsn.registry.models import MemberState, Organization, SharingGroup, User
from rsn.reports import release, service
from rsn.reports.models import Report
from rsn.reports.schemas import DistributionIn, ReportCreate
from rsn.sharing import Principal

BATCH = 500
NAME_COLUMNS: dict[str, Any] = {
    "member_states": MemberState.code,
    "organizations": Organization.slug,
    "sharing_groups": SharingGroup.slug,
    "users": User.username,
}


@dataclass
class Summary:
    """What an import did, for the CLI to print and the API to answer."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    versions_added: int = 0
    kept: int = 0
    awaiting_release: int = 0
    report_ids: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the node filled in, per object

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "versions_added": self.versions_added,
            "kept_objects": self.kept,
            "awaiting_release": self.awaiting_release,
            "report_ids": self.report_ids,
            "warnings": self.warnings,
            "notes": self.notes,
        }


def store(session: Session, *, principal: Principal, items: Iterable[Incoming]) -> Summary:
    """Store every item in the caller's transaction; any error leaves nothing behind."""
    if not sharing.may_file(principal):
        raise Forbidden(f"A {principal.role} may read reports but not import them.")
    summary = Summary()
    batch: list[Incoming] = []
    for item in items:
        batch.append(item)
        if len(batch) >= BATCH:
            _store_batch(session, principal, batch, summary)
            batch = []
    _store_batch(session, principal, batch, summary)
    return summary


def check(session: Session, *, principal: Principal, items: Iterable[Incoming]) -> int:
    """Check every item as `store` would, writing nothing; how many items there are.

    A staged import runs this over the whole file before it takes the write lock,
    so a bad object anywhere refuses the file before anything is written.
    """
    if not sharing.may_file(principal):
        raise Forbidden(f"A {principal.role} may read reports but not import them.")
    scratch, count = Summary(), 0
    for item in items:
        if not item.versions:
            raise problem(item.where, "holds no report version to import.")
        for version in item.versions:
            _checked(session, item.where, version, scratch)
        count += 1
    return count


def stage(
    session: Session,
    *,
    principal: Principal,
    items: list[Incoming],
    summary: Summary,
    deferred: dict[int, str],
    offset: int,
) -> list[str]:
    """One chunk of a staged import: its new reports, in a batch (`sharing.staged`).

    Items that update a report the importer's organization holds already are not
    written here, where they would show before the rest: their positions in the
    file (counted from `offset`) go into `deferred`, for `update_deferred` in the
    transaction that publishes the batch. Returns the ids of the reports created.
    """
    return _store_batch(session, principal, items, summary, deferred, offset)


def update_deferred(
    session: Session,
    *,
    principal: Principal,
    items: Iterable[tuple[Incoming, str]],
    summary: Summary,
) -> None:
    """Apply the updates `stage` left for the publishing transaction."""
    scratch, touched = Summary(), []
    for item, report_id in items:
        item.versions = [_checked(session, item.where, v, scratch) for v in item.versions]
        _update(session, principal, report_id, item, summary)
        touched.append(report_id)
    summary.awaiting_release += release.waiting(session, touched)


def _store_batch(
    session: Session,
    principal: Principal,
    items: list[Incoming],
    summary: Summary,
    deferred: dict[int, str] | None = None,
    offset: int = 0,
) -> list[str]:
    if not items:
        return []
    for item in items:
        if not item.versions:
            raise problem(item.where, "holds no report version to import.")
        item.versions = [_checked(session, item.where, v, summary) for v in item.versions]
        summary.notes.extend(item.notes)
    own = _own(session, principal, items)
    rest = [item for item in items if id(item) not in own]
    held = _held(session, principal, rest)
    fresh = [item for item in rest if _key(item) not in held]
    ids = _create(session, principal, fresh, summary)
    stored: list[str] = []
    touched: list[str] = []  # what this import wrote: its own unchanged reports are not
    for position, item in enumerate(items, start=offset):
        key = _key(item)
        if id(item) in own:
            summary.unchanged += 1
            stored.append(own[id(item)])
        elif key in held and deferred is not None:
            stored.append(held[key])
            deferred[position] = held[key]
        elif key in held:
            stored.append(held[key])
            touched.append(held[key])
            _update(session, principal, held[key], item, summary)
        else:
            stored.append(ids[id(item)])
            touched.append(ids[id(item)])
    summary.report_ids.extend(stored)
    summary.awaiting_release += release.waiting(session, touched)
    return [ids[id(item)] for item in fresh]


def _own(session: Session, principal: Principal, items: Sequence[Incoming]) -> dict[int, str]:
    """Items that are this node's own export of a report the importer may read: id -> report.

    Every version must carry a seal the node's key proves, and the node must hold
    that version already; anything less and the item is handled as one the node
    never saw, whether or not a report with its id exists (see `provenance`).
    """
    mac = provenance.existing_mac(session)
    if mac is None:
        return {}
    sealed = {
        id(item): (item.preferred_id, max(seal.version for seal in item.seals))
        for item in items
        if item.preferred_id
        and len(item.seals) == len(item.versions)
        and all(mac.proves(item.preferred_id, seal) for seal in item.seals)
    }
    if not sealed:
        return {}
    query = select(Report.id, Report.version).where(
        Report.id.in_({rid for rid, _ in sealed.values()}), sharing.visible(principal, Report.id)
    )
    readable: dict[str, int] = {rid: version for rid, version in session.execute(query)}
    return {
        key: rid
        for key, (rid, version) in sealed.items()
        if rid in readable and version <= readable[rid]
    }


def _key(item: Incoming) -> tuple[str, str] | None:
    return None if item.external_id is None else (item.source, item.external_id)


def _held(
    session: Session, principal: Principal, items: Sequence[Incoming]
) -> dict[tuple[str, str] | None, str]:
    """Keys the importer's organization imported already, into a report the importer may read."""
    keys = {k for k in (_key(i) for i in items) if k is not None}
    if not keys:
        return {}
    query = (
        select(ReportLink.source, ReportLink.external_id, ReportLink.report_id)
        .where(
            ReportLink.org_id == principal.organization_id,
            tuple_(ReportLink.source, ReportLink.external_id).in_(keys),
            sharing.visible(principal, ReportLink.report_id),
        )
        .order_by(ReportLink.report_id)
    )
    found: dict[tuple[str, str] | None, str] = {}
    for source, external_id, report_id in session.execute(query):
        found.setdefault((source, external_id), report_id)
    return found


def _create(
    session: Session, principal: Principal, items: list[Incoming], summary: Summary
) -> dict[int, str]:
    """New reports, each with a fresh id, as version 1 in bulk, then later versions one by one."""
    if not items:
        return {}
    filings = [_filing(principal, item, item.versions[0], None) for item in items]
    ids = service.create_many(session, filings)
    org_id = principal.organization_id
    links = [
        {"org_id": org_id, "source": i.source, "external_id": i.external_id, "report_id": rid}
        for i, rid in zip(items, ids, strict=True)
        if i.external_id is not None
    ]
    if links:
        session.connection().execute(insert(ReportLink), links)
    summary.created += len(items)
    summary.versions_added += len(items)
    for item, report_id in zip(items, ids, strict=True):
        _keep(session, report_id, item.kept, summary, fresh=True)
        for version in item.versions[1:]:
            _append(session, principal, report_id, item, version)
            summary.versions_added += 1
    return {id(item): rid for item, rid in zip(items, ids, strict=True)}


def _update(
    session: Session, principal: Principal, report_id: str, item: Incoming, summary: Summary
) -> None:
    """Append the versions newer than the stored one; the rest the node already has."""
    report = service.get(session, principal=principal, report_id=report_id)
    newer = [v for v in item.versions if _newer(session, report, v)]
    if not newer:
        summary.unchanged += 1
        return
    for version in newer:
        _append(session, principal, report_id, item, version)
        summary.versions_added += 1
    if item.kept:
        _keep(session, report_id, item.kept, summary, fresh=False)
    summary.updated += 1


def _newer(session: Session, report: Report, version: IncomingVersion) -> bool:
    """Whether a version is one the node lacks: later by its time, or (untimed) different."""
    if version.modified is not None:
        return version.modified > report.modified
    return _fields(session, report) != version.data.model_dump(mode="json")


def _fields(session: Session, report: Report) -> dict[str, Any]:
    """The stored report in the shape of the contract's create body, to compare with one."""
    current = ReportCreate.model_validate(
        {
            **{name: getattr(report, name) for name in service.SCALAR_FIELDS},
            "location": None if report.lat is None else {"lat": report.lat, "lon": report.lon},
            "tlp": report.tlp,
            "distribution": report.distribution,
            "observables": [
                {"type": t, "value": v}
                for t, v in service.observables_of(session, [report.id])[report.id]
            ],
        }
    )
    return current.model_dump(mode="json")


def _append(
    session: Session, principal: Principal, report_id: str, item: Incoming, v: IncomingVersion
) -> None:
    filing = _filing(principal, item, v, report_id)
    staged = sharing.staging(session) is not None  # then report_id is this batch's own
    try:
        service.replace(
            session, principal=principal, report_id=report_id, filing=filing, staged=staged
        )
    except ValidationError as exc:
        raise _named(item.where, exc) from None


def _filing(
    principal: Principal, item: Incoming, v: IncomingVersion, report_id: str | None
) -> service.Filing:
    revoked_at = (v.revoked_at or v.modified) if v.revoked else None
    return service.Filing(
        principal=principal,
        data=v.data,
        source_identity=item.source_identity,
        report_id=report_id,
        created=v.created,
        modified=v.modified,
        revoked_reason=v.revoked_reason if v.revoked else None,
        revoked_at=revoked_at,
    )


def _keep(
    session: Session, report_id: str, kept: list[dict[str, Any]], summary: Summary, *, fresh: bool
) -> None:
    conn = session.connection()
    if not fresh:
        conn.execute(delete(KeptObject).where(KeptObject.report_id == report_id))
    if not kept:
        return
    rows = [
        {
            "report_id": report_id,
            "position": i,
            "object_id": str(obj.get("id") or f"{report_id}#{i}")[:300],
            "object_type": str(obj.get("type") or "unknown")[:120],
            "body": obj,
        }
        for i, obj in enumerate(kept)
    ]
    conn.execute(insert(KeptObject), rows)
    summary.kept += len(rows)


def _checked(
    session: Session, where: str, version: IncomingVersion, summary: Summary
) -> IncomingVersion:
    """A version whose fields the node accepts, its distribution cut to names it knows.

    A name this node does not know (an organization of another node, say) grants
    nothing here; it is dropped with a warning rather than refusing the file,
    which can only narrow who sees the report, never widen it.
    """
    data = version.data
    known = _known_names(session, data.distribution)
    dropped = {
        key: [n for n in getattr(data.distribution, key) if n not in known[key]] for key in known
    }
    for key, names in dropped.items():
        for name in names:
            summary.warnings.append(
                f"{where}.distribution.{key}: '{name}' is not known on this node; left out."
            )
    if any(dropped.values()):
        trimmed = DistributionIn(**{k: sorted(known[k], key=_order(data, k)) for k in known})
        data = data.model_copy(update={"distribution": trimmed})
        version = replace(version, data=data)
    try:
        service.check_fields(session, data)
        sharing.resolve_distribution(session, data.tlp, data.distribution.model_dump())
    except ValidationError as exc:
        raise _named(where, exc) from None
    return version


def _order(data: Any, key: str) -> Any:
    given = list(getattr(data.distribution, key))
    return given.index


def _known_names(session: Session, dist: DistributionIn) -> dict[str, set[str]]:
    known: dict[str, set[str]] = {}
    for key, column in NAME_COLUMNS.items():
        names = list(getattr(dist, key))
        known[key] = (
            set(session.scalars(select(column).where(column.in_(names)))) if names else set()
        )
    return known


def _named(where: str, exc: ValidationError) -> ValidationError:
    """The same problems, each field prefixed with the object it came from."""
    return ValidationError([type(p)(f"{where}.{p.field}", p.message) for p in exc.problems])
