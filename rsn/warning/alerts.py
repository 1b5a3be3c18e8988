"""Raising alerts and working them: who sees one, who may act on it, and what is kept.

A detector or rule hands what it found (`Found`) to `raise_alert`. The alert's readers
are exactly those who may read every report it links (`sharing.share_derived`), so an
alert never tells anyone of a report they could not read; several scopes firing on the
same reports share one alert. Its condition (rule, series, readers) finds the open
alert of the same condition, which a later period updates instead of opening another.

Among its readers, analysts and duty officers acknowledge, escalate, close (with a
reason) and write notes; other readers only read. Every step is kept in the alert's
history and in the audit log.
"""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select
from sqlalchemy.orm import Session

from rsn import audit, clock, events, sharing
from rsn.errors import Conflict, Forbidden, NotFound, ValidationError
from rsn.reports.events import ReportChanged, ReportRevoked
from rsn.reports.models import Report
from rsn.sharing import Principal, keysets
from rsn.store import new_id, paging
from rsn.warning.models import (
    CLOSE_REASONS,
    OPEN,
    SEVERITIES,
    STATUSES,
    Alert,
    AlertEvent,
    AlertMute,
    AlertReport,
)

KIND = "alert"  # the sharing kind of an alert
ACTING_ROLES = ("analyst", "duty-officer")
NODE = "node"  # the audit actor of what detection does by itself
MAX_NOTE = 4000
MAX_MUTE = timedelta(days=90)  # a mute ends: a series is looked at again within a quarter
MAX_REASON = 500
MAX_PAGE = 200

# action: (statuses it may start from, status it leads to, its past tense)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "acknowledge": (("new",), "acknowledged", "acknowledged"),
    "escalate": (("new", "acknowledged"), "escalated", "escalated"),
    "close": (OPEN, "closed", "closed"),
}


@dataclass(frozen=True)
class Found:
    """What a rule found: the series it watched, the period, its score and the reports."""

    rule: str
    series: str
    severity: str
    period_start: datetime
    period_end: datetime
    score: float
    report_ids: tuple[str, ...]
    category: str | None = None
    country: str | None = None
    countries: tuple[str, ...] = ()
    observable: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def _spelled(codes: Sequence[str]) -> str:
    """Member states as the `countries` column keeps them: ",BD,IN," (found by ",IN,")."""
    unique = sorted({c.upper() for c in codes})
    return f",{','.join(unique)}," if unique else ""


def _condition(rule: str, series: str, keys: frozenset[str]) -> str:
    """The rule, its series and the alert's readers, as one name."""
    readers = keysets.keyset_id(keys)
    return hashlib.sha256(f"{rule}\n{series}\n{readers}".encode()).hexdigest()[:32]


def raise_alert(session: Session, found: Found) -> Alert:
    """Open an alert for what a rule found, or bring the open one of its condition up to date.

    A report among `found.report_ids` that is open to no one or only to named people
    cannot be summarised: a `ValueError` (detectors count per scope and never link one).
    """
    if found.severity not in SEVERITIES:
        raise ValueError(f"severity {found.severity!r} is not one of {SEVERITIES}")
    if not found.report_ids:
        raise ValueError("an alert stands on at least one report")
    keys = sharing.derived_keys(session, sources=found.report_ids, source_kind="report")
    condition = _condition(found.rule, found.series, keys)
    now = clock.now()
    alert = session.scalar(
        select(Alert).where(Alert.condition == condition, Alert.status.in_(OPEN)).limit(1)
    )
    if alert is None:
        alert = Alert(
            id=new_id(),
            rule=found.rule,
            series=found.series,
            condition=condition,
            category=found.category,
            country=found.country,
            countries=_spelled(found.countries),
            observable=found.observable,
            severity=found.severity,
            tlp=sharing.derived_tlp(keys),
            period_start=found.period_start,
            period_end=found.period_end,
            score=found.score,
            detail=dict(found.detail),
            status="new",
            created=now,
            modified=now,
        )
        session.add(alert)
        session.flush()
        linked = sorted(set(found.report_ids))
        fresh, action = True, "raised"
    else:
        before = set(
            session.scalars(select(AlertReport.report_id).where(AlertReport.alert_id == alert.id))
        )
        linked = sorted(before | set(found.report_ids))
        rises = SEVERITIES.index(found.severity) > SEVERITIES.index(alert.severity)
        if set(linked) == before and not rises:
            # The same condition seen again with nothing new (the daily sweep, a re-run):
            # its figures move, its history and its place in the list do not.
            alert.score, alert.detail = found.score, dict(found.detail)
            alert.period_end = max(alert.period_end, found.period_end)
            return alert
        alert.period_start = min(alert.period_start, found.period_start)
        alert.period_end = max(alert.period_end, found.period_end)
        alert.score = found.score
        alert.detail = dict(found.detail)
        alert.countries = _spelled([*alert.country_codes, *found.countries])
        if SEVERITIES.index(found.severity) > SEVERITIES.index(alert.severity):
            alert.severity = found.severity
        alert.modified = now
        session.execute(delete(AlertReport).where(AlertReport.alert_id == alert.id))
        fresh, action = False, "updated"
    session.add_all(AlertReport(alert_id=alert.id, report_id=r) for r in linked)
    shared = sharing.share_derived(
        session, kind=KIND, item_id=alert.id, sources=linked, source_kind="report", fresh=fresh
    )
    alert.tlp = sharing.derived_tlp(shared)
    _history(session, alert, None, action)
    audit.record(
        session,
        actor=NODE,
        action=f"alert.{'raise' if fresh else 'update'}",
        item_ids=[alert.id],
        detail={"rule": alert.rule, "reports": len(linked), "score": round(alert.score, 3)},
    )
    return alert


def _history(
    session: Session, alert: Alert, actor: Principal | None, action: str, text: str | None = None
) -> None:
    session.add(
        AlertEvent(
            alert_id=alert.id,
            at=clock.now(),
            actor_id=actor.user_id if actor else None,
            action=action,
            status=alert.status,
            text=text,
        )
    )


def get(session: Session, principal: Principal, alert_id: str) -> Alert:
    """An alert the principal may read; 404 otherwise, the same for one that does not exist."""
    alert = session.scalar(
        select(Alert).where(Alert.id == alert_id, sharing.visible(principal, Alert.id))
    )
    if alert is None:
        raise NotFound("alert", alert_id[:64])
    return alert


def report_ids(session: Session, principal: Principal, alert_id: str) -> list[str]:
    """The alert's reports that the principal may read (a reader of the alert reads all of
    them when it was raised; a report re-marked since may have narrowed)."""
    query = (
        select(AlertReport.report_id)
        .join(Report, Report.id == AlertReport.report_id)
        .where(AlertReport.alert_id == alert_id, sharing.visible(principal, Report.id))
        .order_by(Report.occurred_at, Report.id)
    )
    return list(session.scalars(query))


def report_ids_of(
    session: Session, principal: Principal, alert_ids: Sequence[str]
) -> dict[str, list[str]]:
    """`report_ids` for a page of alerts, in one query."""
    found: dict[str, list[str]] = {a: [] for a in alert_ids}
    query = (
        select(AlertReport.alert_id, AlertReport.report_id)
        .join(Report, Report.id == AlertReport.report_id)
        .where(AlertReport.alert_id.in_(list(alert_ids)), sharing.visible(principal, Report.id))
        .order_by(Report.occurred_at, Report.id)
    )
    for alert_id, report_id in session.execute(query):
        found[alert_id].append(report_id)
    return found


def disclosed(session: Session, principal: Principal, alert_ids: Sequence[str]) -> list[str]:
    """The reports whose non-public fields these alerts hand to the principal (its
    category, country, period and observable come from them): for the disclosure record."""
    query = (
        select(Report.id, Report.tlp, Report.originator_user_id)
        .join(AlertReport, AlertReport.report_id == Report.id)
        .where(AlertReport.alert_id.in_(list(alert_ids)), sharing.visible(principal, Report.id))
    )
    return list(
        dict.fromkeys(
            rid
            for rid, tlp, originator in session.execute(query)
            if sharing.discloses(principal, tlp=tlp, originator_user_id=originator)
        )
    )


def history(session: Session, alert_id: str) -> list[AlertEvent]:
    query = select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)
    return list(session.scalars(query))


def _may_act(principal: Principal, what: str) -> None:
    if principal.role not in ACTING_ROLES:
        raise Forbidden(
            f"Only analysts and duty officers among an alert's readers may {what}; "
            f"your role is {principal.role}."
        )


def act(
    session: Session,
    principal: Principal,
    alert_id: str,
    action: str,
    *,
    reason: str | None = None,
    note: str | None = None,
) -> Alert:
    """Acknowledge, escalate or close an alert the principal may read and act on."""
    if action not in TRANSITIONS:
        raise ValidationError.field("action", f"'{action}' is not one of {', '.join(TRANSITIONS)}.")
    alert = get(session, principal, alert_id)
    _may_act(principal, f"{action} it")
    allowed, to, past = TRANSITIONS[action]
    if action == "close":
        if reason not in CLOSE_REASONS:
            given = "none given" if not reason else f"'{reason[:40]}'"
            raise ValidationError.field(
                "reason", f"Say why it is closed: one of {', '.join(CLOSE_REASONS)} ({given})."
            )
    elif reason is not None:
        raise ValidationError.field("reason", "Only closing takes a reason.")
    text = _note_text(note) if note is not None else None
    if alert.status not in allowed:
        raise Conflict(f"This alert is {alert.status}: it cannot be {past} now.")
    before, now = alert.status, clock.now()
    alert.status, alert.modified = to, now
    if action == "acknowledge" or alert.owner_id is None:
        alert.owner_id = principal.user_id
    if alert.acknowledged_at is None:
        alert.acknowledged_at = now  # any first action takes it in hand
    if action == "close":
        alert.close_reason, alert.closed_at = reason, now
    _history(session, alert, principal, action, text)
    audit.record(
        session,
        actor=principal.username,
        action=f"alert.{action}",
        item_ids=[alert.id],
        detail={"from": before, "to": to, **({"reason": reason} if reason else {})},
    )
    return alert


def _note_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise ValidationError.field("text", "A note needs some text.")
    if len(text) > MAX_NOTE:
        raise ValidationError.field("text", f"At most {MAX_NOTE} characters, not {len(text)}.")
    return text


def add_note(session: Session, principal: Principal, alert_id: str, text: str) -> Alert:
    """A note on an alert's history, by one who may act on it."""
    alert = get(session, principal, alert_id)
    _may_act(principal, "write notes on it")
    clean = _note_text(text)
    alert.modified = clock.now()
    _history(session, alert, principal, "note", clean)
    audit.record(session, actor=principal.username, action="alert.note", item_ids=[alert.id])
    return alert


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    rule: str | None = None
    category: str | None = None  # the category and everything under it
    country: str | None = None
    since: datetime | None = None  # changed at or after
    open: bool = False  # only those not closed (the dashboard's)
    muted: bool = False  # also those of series the reader's organization muted


def _conditions(principal: Principal, filters: Filters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [sharing.visible(principal, Alert.id)]
    if filters.status is not None:
        if filters.status not in STATUSES:
            raise ValidationError.field(
                "status", f"'{filters.status[:40]}' is not one of {', '.join(STATUSES)}."
            )
        where.append(Alert.status == filters.status)
    if filters.open:
        where.append(Alert.status.in_(OPEN))
    if filters.rule:
        where.append(Alert.rule == filters.rule)
    if filters.category:
        where.append(
            or_(
                Alert.category == filters.category,
                Alert.category.startswith(f"{filters.category}."),
            )
        )
    if filters.country:
        code = filters.country.upper()
        where.append(or_(Alert.country == code, Alert.countries.contains(f",{code},")))
    if filters.since is not None:
        where.append(Alert.modified >= filters.since)
    if not filters.muted:
        where.append(~_muted_for(principal.organization_id))
    return where


def _active(organization_id: str) -> list[ColumnElement[bool]]:
    return [
        AlertMute.organization_id == organization_id,
        AlertMute.lifted_at.is_(None),
        AlertMute.until > clock.now(),
    ]


def _muted_for(organization_id: str) -> ColumnElement[bool]:
    """True for alerts of a series the organization has muted, now."""
    return (
        select(AlertMute.id)
        .where(
            *_active(organization_id),
            AlertMute.rule == Alert.rule,
            AlertMute.series == Alert.series,
        )
        .exists()
    )


def mute_of(session: Session, principal: Principal, alert: Alert) -> AlertMute | None:
    """The reader's organization's mute of this alert's series, while it holds."""
    return session.scalar(
        select(AlertMute)
        .where(
            *_active(principal.organization_id),
            AlertMute.rule == alert.rule,
            AlertMute.series == alert.series,
        )
        .order_by(AlertMute.created.desc())
        .limit(1)
    )


def muted_until(
    session: Session, principal: Principal, rows: Sequence[Alert]
) -> dict[str, datetime]:
    """For a page of alerts, until when the reader's organization muted each one's series."""
    held = {
        (m.rule, m.series): m.until
        for m in session.scalars(
            select(AlertMute).where(
                *_active(principal.organization_id),
                AlertMute.rule.in_({a.rule for a in rows}),
            )
        )
    }
    return {a.id: held[(a.rule, a.series)] for a in rows if (a.rule, a.series) in held}


def muted_organizations(session: Session, alert: Alert) -> set[str]:
    """The organizations not to be told of this alert now (for notifications)."""
    query = select(AlertMute.organization_id).where(
        AlertMute.lifted_at.is_(None),
        AlertMute.until > clock.now(),
        AlertMute.rule == alert.rule,
        AlertMute.series == alert.series,
    )
    return set(session.scalars(query))


def mute(
    session: Session, principal: Principal, alert_id: str, *, until: datetime, reason: str
) -> AlertMute:
    """Mute the alert's series for the principal's organization until a time (snoozing
    is a short mute); a mute already holding is replaced. Audited, with its reason."""
    alert = get(session, principal, alert_id)
    _may_act(principal, "mute its series")
    now = clock.now()
    if until.tzinfo is None:
        raise ValidationError.field("until", f"'{until.isoformat()}' needs a UTC offset.")
    if until <= now:
        raise ValidationError.field("until", "must be in the future.")
    if until > now + MAX_MUTE:
        raise ValidationError.field(
            "until", f"at most {MAX_MUTE.days} days ahead: a muted series is looked at again."
        )
    text = reason.strip()
    if not text:
        raise ValidationError.field("reason", "Say why the series is muted.")
    if len(text) > MAX_REASON:
        raise ValidationError.field("reason", f"At most {MAX_REASON} characters, not {len(text)}.")
    held = mute_of(session, principal, alert)
    if held is not None:
        held.lifted_at, held.lifted_by = now, principal.user_id
    row = AlertMute(
        id=new_id(),
        organization_id=principal.organization_id,
        rule=alert.rule,
        series=alert.series,
        reason=text,
        until=until,
        created_by=principal.user_id,
        created=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=principal.username,
        action="alert.mute",
        item_ids=[alert.id],
        detail={
            "rule": alert.rule,
            "series": alert.series,
            "until": until.isoformat(),
            "reason": text,
        },
    )
    return row


def unmute(session: Session, principal: Principal, alert_id: str) -> None:
    """Lift the organization's mute of the alert's series; 409 when none holds."""
    alert = get(session, principal, alert_id)
    _may_act(principal, "lift a mute")
    held = mute_of(session, principal, alert)
    if held is None:
        raise Conflict("This alert's series is not muted for your organization.")
    held.lifted_at, held.lifted_by = clock.now(), principal.user_id
    audit.record(
        session,
        actor=principal.username,
        action="alert.unmute",
        item_ids=[alert.id],
        detail={"rule": alert.rule, "series": alert.series},
    )


def listing(
    session: Session,
    principal: Principal,
    filters: Filters,
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Alert], str | None]:
    """A page of the alerts the principal may read, latest change first."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError.field("limit", f"must be between 1 and {MAX_PAGE}, not {limit}.")
    where = _conditions(principal, filters)
    if cursor:
        stamp, last = paging.decode(cursor)
        where.append(and_(Alert.modified <= stamp, or_(Alert.modified < stamp, Alert.id < last)))
    query = select(Alert).where(*where).order_by(Alert.modified.desc(), Alert.id.desc())
    rows = list(session.scalars(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, paging.encode(rows[-1].modified, rows[-1].id) if more and rows else None


def counts_by_status(session: Session, principal: Principal) -> dict[str, int]:
    """How many alerts the principal may read are in each status (the triage list's tabs),
    those of series their organization muted aside, as the list leaves them out."""
    query = (
        select(Alert.status, func.count())
        .where(sharing.visible(principal, Alert.id), ~_muted_for(principal.organization_id))
        .group_by(Alert.status)
    )
    found = {status: int(n) for status, n in session.execute(query)}
    return {s: found.get(s, 0) for s in STATUSES}


@dataclass(frozen=True)
class RuleRecord:
    """How one rule's alerts fared in triage, among those a reader may read."""

    rule: str
    raised: int
    still_open: int
    closed: dict[str, int]  # by reason
    median_minutes_to_act: float | None  # from raised to the first action

    @property
    def false_alarm_share(self) -> float | None:
        done = sum(self.closed.values())
        return self.closed.get("false-alarm", 0) / done if done else None


def triage_record(session: Session, principal: Principal) -> list[RuleRecord]:
    """Each rule's record: raised, still open, closed by reason, and how fast its alerts
    were taken in hand (what tells a noisy rule from a useful one)."""
    query = select(
        Alert.rule, Alert.status, Alert.close_reason, Alert.created, Alert.acknowledged_at
    ).where(sharing.visible(principal, Alert.id))
    rows: dict[str, list[tuple[str, str | None, datetime, datetime | None]]] = {}
    for rule, status, reason, created, acted in session.execute(query):
        rows.setdefault(rule, []).append((status, reason, created, acted))
    records = []
    for rule, found in sorted(rows.items()):
        closed: dict[str, int] = {}
        waits = []
        for status, reason, created, acted in found:
            if status == "closed" and reason:
                closed[reason] = closed.get(reason, 0) + 1
            if acted is not None:
                waits.append((acted - created).total_seconds() / 60)
        records.append(
            RuleRecord(
                rule=rule,
                raised=len(found),
                still_open=sum(1 for f in found if f[0] in OPEN),
                closed=closed,
                median_minutes_to_act=float(statistics.median(waits)) if waits else None,
            )
        )
    return records


def reshare(session: Session, alert_ids: Sequence[str]) -> None:
    """Derive these alerts' readers again from their reports as they are now (a report
    re-marked or revoked, the registry moved); one whose reports no longer summarise for
    anyone is closed to everyone."""
    for alert in session.scalars(select(Alert).where(Alert.id.in_(list(alert_ids)))):
        linked = list(
            session.scalars(select(AlertReport.report_id).where(AlertReport.alert_id == alert.id))
        )
        try:
            keys = sharing.share_derived(
                session,
                kind=KIND,
                item_id=alert.id,
                sources=linked,
                source_kind="report",
                fresh=False,
            )
        except ValueError:
            # A report went red or was revoked: nobody may be told of it through this alert.
            sharing.unshare(session, [alert.id])
            _history(session, alert, None, "withdrawn")
            audit.record(session, actor=NODE, action="alert.withdraw", item_ids=[alert.id])
            continue
        alert.tlp = sharing.derived_tlp(keys)


def _linking(session: Session, report_ids: Sequence[str]) -> list[str]:
    query = select(AlertReport.alert_id).where(AlertReport.report_id.in_(list(report_ids)))
    return sorted(set(session.scalars(query)))


@events.during(ReportChanged)
def _report_changed(session: Session, event: ReportChanged) -> None:
    """A report re-marked: the alerts it stands on are read by whom its new marking says."""
    reshare(session, _linking(session, event.report_ids))


@events.during(ReportRevoked)
def _report_revoked(session: Session, event: ReportRevoked) -> None:
    reshare(session, _linking(session, event.report_ids))


@events.during(keysets.UnitsMoved)
def _registry_moved(session: Session, _moved: keysets.UnitsMoved) -> None:
    """Organizations' keys moved (a group's members, a new agency): every alert's readers
    are derived again, as its reports' are."""
    reshare(session, list(session.scalars(select(Alert.id))))


__all__ = [
    "ACTING_ROLES",
    "KIND",
    "TRANSITIONS",
    "Filters",
    "Found",
    "RuleRecord",
    "act",
    "add_note",
    "counts_by_status",
    "disclosed",
    "get",
    "history",
    "listing",
    "raise_alert",
    "report_ids",
    "report_ids_of",
    "reshare",
    "triage_record",
]
