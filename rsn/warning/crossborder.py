"""Cross-border rules: one observable turning up across member states.

Counts tell a state that something grows at home; they cannot tell it that the phishing
domain its CERT reported on Monday was reported by two neighbours' CERTs by Wednesday,
or that a vessel seen off Chittagong was seen off Yangon a week later. These rules
read the correlation index, which holds each live report's observables under each of
its audience keys:

- `cross-border-observable`: the same value in reports from organizations of two or
  more member states (`Report.originator_state`) whose events occurred in the window;
- `movement`: a value of a type that moves (a vessel, a phone number, a wallet) in
  reports of events in one state, then another (`Report.country`), in time order; the
  alert keeps the path.

As with counts, a rule is judged as each reader profile (`keysets.profiles`) sees the
index, through the keys every reader of the profile holds, so a report a profile may
not read never makes a state count for it; the alert stands on the reports the profile
reads and is read by exactly those who read them all. Profiles that see the same
reports make one alert. A value more than `common` reports carry is noise and warns
no one, as it correlates nothing.

The values worth a look are found first, across all reports and without regard to
who reads what (two states among the reports that carry it): that only narrows the
work, nothing of it is shown, and every alert is then decided per profile.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from rsn.fusion.models import CorrelationEntry
from rsn.reports.models import Report, ReportObservable
from rsn.sharing import keysets
from rsn.warning import alerts, config
from rsn.warning.models import Alert

log = logging.getLogger("rsn.warning")

OBSERVABLE_RULE = "cross-border-observable"
MOVEMENT_RULE = "movement"
MAX_VALUES = 500  # values judged in one run; a sweep over more logs and judges the newest


@dataclass(frozen=True)
class Sighting:
    """A report carrying the value, as the index and the report have it."""

    report_id: str
    keys: frozenset[str]
    originator_state: str | None
    country: str | None
    occurred_at: datetime


@dataclass(frozen=True)
class Crossing:
    """What one rule found for one value, as some profile sees it."""

    rule: str
    type: str
    value: str
    reports: tuple[Sighting, ...]  # in the order the events occurred

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(s.report_id for s in self.reports)


def _states(sightings: Sequence[Sighting]) -> list[str]:
    return sorted({s.originator_state for s in sightings if s.originator_state})


def path(sightings: Sequence[Sighting]) -> list[str]:
    """The member states the events happened in, in time order, repeats run together."""
    found: list[str] = []
    for s in sightings:
        if s.country and (not found or found[-1] != s.country):
            found.append(s.country)
    return found


def _candidates(
    session: Session,
    since: datetime,
    types: Sequence[str] | None,
    state: object,
    report_ids: Sequence[str] | None,
) -> list[tuple[str, str]]:
    """Values that reports of two states or more carry (whoever may read them)."""
    query = (
        select(CorrelationEntry.type, CorrelationEntry.value)
        .join(Report, Report.id == CorrelationEntry.report_id)
        .where(Report.occurred_at >= since)
        .group_by(CorrelationEntry.type, CorrelationEntry.value)
        .having(func.count(func.distinct(state)) >= 2)
        .order_by(func.max(Report.occurred_at).desc())
        .limit(MAX_VALUES + 1)
    )
    if types is not None:
        query = query.where(CorrelationEntry.type.in_(list(types)))
    if report_ids is not None:
        carried = select(ReportObservable.type, ReportObservable.value).where(
            ReportObservable.report_id.in_(list(report_ids))
        )
        query = query.where(tuple_(CorrelationEntry.type, CorrelationEntry.value).in_(carried))
    found = [(t, v) for t, v in session.execute(query)]
    if len(found) > MAX_VALUES:
        log.warning("cross-border: more than %d values to judge; the newest first", MAX_VALUES)
    return found[:MAX_VALUES]


def _sightings(session: Session, type_: str, value: str, since: datetime) -> list[Sighting]:
    rows = session.execute(
        select(
            CorrelationEntry.report_id,
            CorrelationEntry.key,
            Report.originator_state,
            Report.country,
            Report.occurred_at,
        )
        .join(Report, Report.id == CorrelationEntry.report_id)
        .where(
            CorrelationEntry.type == type_,
            CorrelationEntry.value == value,
            Report.occurred_at >= since,
        )
    )
    keys: dict[str, set[str]] = {}
    facts: dict[str, tuple[str | None, str | None, datetime]] = {}
    for report_id, key, state, country, occurred in rows:
        keys.setdefault(report_id, set()).add(key)
        facts[report_id] = (state, country, occurred)
    found = [Sighting(r, frozenset(keys[r]), *facts[r]) for r in keys]
    return sorted(found, key=lambda s: (s.occurred_at, s.report_id))


def crossings(
    session: Session,
    settings: config.Detection,
    *,
    now: datetime,
    report_ids: Sequence[str] | None = None,
) -> list[Crossing]:
    """What each rule finds, once per set of reports some profile reads; with
    `report_ids`, only for the values those reports carry."""
    rule_of: dict[str, config.ObservableRule | config.MovementRule] = {
        OBSERVABLE_RULE: settings.observable,
        MOVEMENT_RULE: settings.movement,
    }
    moving = list(settings.movement.types)
    wanted: list[tuple[str, str, str]] = []  # (rule, type, value)
    since_of = {
        OBSERVABLE_RULE: now - timedelta(days=settings.observable.window_days),
        MOVEMENT_RULE: now - timedelta(days=settings.movement.window_days),
    }
    observable_values = _candidates(
        session, since_of[OBSERVABLE_RULE], None, Report.originator_state, report_ids
    )
    wanted += [(OBSERVABLE_RULE, t, v) for t, v in observable_values if t not in moving]
    if moving:
        moved = _candidates(session, since_of[MOVEMENT_RULE], moving, Report.country, report_ids)
        wanted += [(MOVEMENT_RULE, t, v) for t, v in moved]
    if not wanted:
        return []
    profiles = [(p, keysets.profile_keys(session, p)) for p in keysets.profiles(session)]
    found: dict[tuple[str, str, str, frozenset[str]], Crossing] = {}
    for rule, type_, value in wanted:
        sightings = _sightings(session, type_, value, since_of[rule])
        if len(sightings) > rule_of[rule].common:
            continue  # a common value: noise to everyone
        for _, keys in profiles:
            read = [s for s in sightings if s.keys & keys]
            if rule == OBSERVABLE_RULE:
                crossed = len(_states(read)) >= settings.observable.min_states
            else:
                crossed = len(set(path(read))) >= 2
            if crossed:
                ids = frozenset(s.report_id for s in read)
                found.setdefault(
                    (rule, type_, value, ids), Crossing(rule, type_, value, tuple(read))
                )
    return list(found.values())


def severity(crossing: Crossing) -> str:
    """More states, more weight: two is worth a look, four or more is regional."""
    if crossing.rule == OBSERVABLE_RULE:
        reach = len(_states(crossing.reports))
    else:
        reach = len(set(path(crossing.reports)))
    return "critical" if reach >= 4 else "high" if reach == 3 else "medium"


def finding(crossing: Crossing, *, now: datetime) -> alerts.Found:
    digest = hashlib.sha256(crossing.value.encode()).hexdigest()[:16]
    if crossing.rule == OBSERVABLE_RULE:
        countries = _states(crossing.reports)
        detail: dict[str, object] = {"states": countries}
    else:
        travelled = path(crossing.reports)
        countries = sorted(set(travelled))
        detail = {"path": travelled}
    what = alerts.Found(
        rule=crossing.rule,
        series=f"observable={crossing.type}:{digest}",
        severity=severity(crossing),
        period_start=crossing.reports[0].occurred_at.astimezone(UTC),
        period_end=now,
        score=float(len(countries)),
        report_ids=crossing.ids,
        countries=tuple(countries),
        observable=f"{crossing.type}:{crossing.value}",
        detail={**detail, "period": "window"},
    )
    return what


def found(
    session: Session, *, now: datetime, report_ids: Sequence[str] | None = None
) -> list[alerts.Found]:
    """What the cross-border rules find, to become alerts (it only reads)."""
    settings = config.for_node(session)
    crossed = crossings(session, settings, now=now, report_ids=report_ids)
    return [finding(c, now=now) for c in crossed]


def detect(
    session: Session, *, now: datetime, report_ids: Sequence[str] | None = None
) -> list[Alert]:
    """Raise or update an alert for everything the cross-border rules find."""
    return [alerts.raise_alert(session, f) for f in found(session, now=now, report_ids=report_ids)]


__all__ = [
    "MOVEMENT_RULE",
    "OBSERVABLE_RULE",
    "Crossing",
    "crossings",
    "detect",
    "finding",
    "found",
    "path",
]
