"""Detection over the kept counts: weekly series as each reader profile sees them.

A series is the count of live reports of one category (at every level of the dotted
tree: `maritime` and `maritime.piracy` are both series) in one member state, week by
ISO week, over `occurred_at`. It is always counted as one reader profile may see it
(`keysets.profiles`: an organization's users, its observers, the public), from the
tallies kept on write, so a series never holds a report its profile could not read and
red items never count. Profiles that see the same counts share one run of the method.

When the current week alarms, the reports of the series in the alarm's window that the
profile reads become an alert (`alerts.raise_alert`), whose readers are those who read
all of them: several profiles alarming over the same reports make one alert. The
current week is judged as it stands, so a count that is already surprising alarms at
once; counts only grow, so waiting for the week's end could only delay the alarm.

`detect` runs for the series a batch of reports touched (the `warning.detect` job,
queued in the filing's transaction), and for every series once a day (`warning.sweep`).
A series starts at its first report (the weeks before are no data, not zeros), and
one with fewer reports in its baseline than its category's `min_events` is skipped:
too sparse for a count method. Each category's method and numbers are data
(`rsn.warning.config`), and so are the single-event rules, for what one report is
enough to warn of (a tsunami): those alert on the reports themselves, no count needed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from rsn.warning.methods import Method

from rsn import clock, events, jobs
from rsn.reports import tallies
from rsn.reports.events import ReportChanged, ReportFiled
from rsn.reports.models import Report
from rsn.sharing import keysets
from rsn.warning import alerts, clusters, config, crossborder, rules, silence
from rsn.warning.models import Alert

log = logging.getLogger("rsn.warning")

DETECT = "warning.detect"
SWEEP = "warning.sweep"
WEEKS = 160  # weeks of history read per series: the default method's three-year span
WINDOW = 2  # weeks an alarm links reports from: the widest sum the default method scores
EVENT_RULE = "single-event"  # the rule of alerts raised by single-event rules
SERIES_CHUNK = 200  # series (category, country) per query of the tallies

Key = tuple[str, str]  # (category at some level, member state)


@dataclass(frozen=True)
class Alarm:
    """A series whose current week alarmed, as one profile sees it."""

    profile: tuple[str, ...]
    category: str
    country: str
    score: float
    threshold: float
    counts: list[int]
    method: str  # the method's name: the alert's rule


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def levels(category: str) -> list[str]:
    """The category and every category above it: `a.b.c` counts in `a`, `a.b`, `a.b.c`."""
    parts = category.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def series(
    session: Session,
    profile: Sequence[str],
    *,
    today: date,
    wanted: set[Key] | None = None,
) -> dict[Key, np.ndarray]:
    """Weekly counts of every series (or those `wanted`) as `profile` sees them, the
    current week last."""
    first = week_start(today) - timedelta(weeks=WEEKS - 1)
    units = tallies.known(session, "unit", profile)
    if not units:
        return {}
    base = first.toordinal()
    # Summed by week in the store: day rows by severity and marking are many more.
    week_of = (tallies.Tally.start - base) // 7
    query = (
        select(tallies.Tally.category, tallies.Tally.country, week_of, func.sum(tallies.Tally.n))
        .where(
            tallies.Tally.unit.in_(units),
            tallies.Tally.span == 0,
            tallies.Tally.start >= base,
            tallies.Tally.start <= today.toordinal(),
            tallies.Tally.n != 0,
        )
        .group_by(tallies.Tally.category, tallies.Tally.country, week_of)
    )
    if wanted is not None:
        categories = {c for c, _ in wanted}
        countries = {cc for _, cc in wanted}
        codes = tallies.known(session, "category", _below(session, categories))
        query = query.where(
            tallies.Tally.category.in_(codes),
            tallies.Tally.country.in_(tallies.known(session, "country", countries)),
        )
    rows = session.execute(query).all()
    words = tallies.spelled(session, {r[0] for r in rows} | {r[1] for r in rows})
    found: dict[Key, np.ndarray] = {}
    for category, country, week, n in rows:
        for level in levels(words[category]):
            key = (level, words[country])
            if wanted is not None and key not in wanted:
                continue
            counts = found.get(key)
            if counts is None:
                counts = found[key] = np.zeros(WEEKS, dtype=np.float64)
            counts[int(week)] += n
    return found


def _below(session: Session, categories: Iterable[str]) -> list[str]:
    """The counted categories at or below these (what a rolled-up series sums)."""
    heads = set(categories)
    counted = session.scalars(select(tallies.Term.term).where(tallies.Term.field == "category"))
    return [c for c in counted if any(c == h or c.startswith(h + ".") for h in heads)]


def detect(
    session: Session,
    *,
    wanted: set[Key] | None = None,
    method: Method | None = None,
) -> list[Alert]:
    """Raise or update an alert for everything `found` finds; the alerts touched."""
    return raise_all(session, found(session, wanted=wanted, method=method))


def raise_all(session: Session, findings: Sequence[alerts.Found]) -> list[Alert]:
    """An alert for each finding, in the caller's (short) write transaction; the alerts
    touched. A finding whose reports were narrowed to named readers since it was found
    cannot be summarised any more: it is logged and left out."""
    raised = []
    for finding in findings:
        try:
            raised.append(alerts.raise_alert(session, finding))
        except ValueError as exc:
            log.warning("%s on %s left out: %s", finding.rule, finding.series, exc)
    return list({a.id: a for a in raised}.values())


def found(
    session: Session,
    *,
    wanted: set[Key] | None = None,
    method: Method | None = None,
) -> list[alerts.Found]:
    """Judge the current week of every series (or those `wanted`) of every profile, each
    by its category's settings (`config`, or `method` for all), and apply the
    single-event rules: what should become alerts. It only reads, so a long pass runs
    in a read transaction and never holds the store's write lock (SQLite has one)."""
    now = clock.now()
    today = now.astimezone(UTC).date()
    settings = config.for_node(session)
    judged: dict[tuple[int, bytes], tuple[float, bool]] = {}  # the same counts, judged once
    alarms: list[Alarm] = []
    for profile in keysets.profiles(session):
        for (category, country), counts in series(
            session, profile, today=today, wanted=wanted
        ).items():
            judge = settings.judge(category)
            chosen = method or judge.method
            # Weeks before a series' first report are no data, not zeros: a series the
            # node has heard of for 30 weeks is judged against those 30 weeks.
            counts = counts[int(np.argmax(counts > 0)) :]
            if counts[:-WINDOW].sum() < judge.min_events:
                continue
            fingerprint = (id(chosen), counts.tobytes())
            if fingerprint not in judged:
                verdict = chosen.run(counts)
                judged[fingerprint] = (float(verdict.score[-1]), bool(verdict.alarm[-1]))
            score, alarmed = judged[fingerprint]
            if alarmed:
                threshold = float(getattr(chosen, "threshold", 0.0))
                counted = [int(c) for c in counts]
                alarms.append(
                    Alarm(profile, category, country, score, threshold, counted, chosen.name)
                )
    start = week_start(today) - timedelta(weeks=WINDOW - 1)
    # Profiles that read the same reports alarm over them once; a rise in
    # `maritime.piracy` shows in `maritime` too, and over the same reports the most
    # specific series speaks for both.
    chosen_alarms: dict[frozenset[str], tuple[Alarm, list[str]]] = {}
    for alarm in alarms:
        ids = linked(session, alarm.profile, alarm.category, alarm.country, start, today)
        if not ids:  # the window's reports were re-marked or revoked since the count
            log.warning("alarm on %s %s with no report to link", alarm.category, alarm.country)
            continue
        held = chosen_alarms.get(frozenset(ids))
        if held is None or alarm.category.count(".") > held[0].category.count("."):
            chosen_alarms[frozenset(ids)] = (alarm, ids)
    findings = [_found(alarm, ids, start=start, now=now) for alarm, ids in chosen_alarms.values()]
    return findings + single_events(session, settings.events, wanted=wanted, start=start, now=now)


def single_events(
    session: Session,
    event_rules: Sequence[rules.EventRule],
    *,
    wanted: set[Key] | None,
    start: date,
    now: datetime,
) -> list[alerts.Found]:
    """An alert for each category and member state where a report of a single-event
    rule's category and severity came in the window: one per set of such reports that
    some profile reads (so its readers read them all), however few.

    With `wanted`, only the rules and states of those series.
    """
    today = now.astimezone(UTC).date()
    found: dict[frozenset[str], tuple[rules.EventRule, str, list[str]]] = {}
    for rule in event_rules:
        countries = None
        if wanted is not None:
            countries = {cc for category, cc in wanted if _under(category, rule.category)}
            if not countries:
                continue
        severities = [s for s in rules.SEVERITIES if rules.rank(s) >= rules.rank(rule.min_severity)]
        for profile in keysets.profiles(session):
            by_state = _matching(session, profile, rule.category, severities, start, today)
            for country, ids in by_state.items():
                if countries is not None and country not in countries:
                    continue
                held = found.get(frozenset(ids))
                if held is None or rule.category.count(".") > held[0].category.count("."):
                    found[frozenset(ids)] = (rule, country, ids)
    return [
        _event_found(session, rule, country, ids, start=start, now=now)
        for rule, country, ids in found.values()
    ]


def _under(category: str, head: str) -> bool:
    return category == head or category.startswith(head + ".")


def _matching(
    session: Session,
    profile: Sequence[str],
    category: str,
    severities: Sequence[str],
    since: date,
    until: date,
) -> dict[str, list[str]]:
    """The live reports of a category (and below) at these severities between two days
    (inclusive) that `profile` reads, by member state."""
    graded = tallies.known(session, "severity", severities)
    found: dict[str, list[str]] = {}
    if graded:
        read = _read(session, profile, category, since, until, field="severity", codes=graded)
        for country, report_id in read:
            found.setdefault(country or "", []).append(report_id)
    return found


def _read(
    session: Session,
    profile: Sequence[str],
    category: str,
    since: date,
    until: date,
    *,
    field: str,
    codes: Sequence[int],
) -> list[tuple[str | None, str]]:
    """(country, id) of the live reports of a category (and below) between two days
    (inclusive) that `profile` reads, whose counted `field` is one of `codes`, in the
    order they occurred: what an alert links, found through the keysets the profile's
    scopes count, never a report it may not read."""
    categories = tallies.known(session, "category", _below(session, [category]))
    if not categories:
        return []
    readable = select(keysets.KeySetUnit.keyset_id).where(
        keysets.KeySetUnit.unit.in_(list(profile))
    )
    query = (
        select(Report.country, tallies.Counted.report_id)
        .join(Report, Report.id == tallies.Counted.report_id)
        .where(
            tallies.Counted.day >= since.toordinal(),
            tallies.Counted.day <= until.toordinal(),
            tallies.Counted.category.in_(categories),
            getattr(tallies.Counted, field).in_(list(codes)),
            tallies.Counted.keyset.in_(readable),
        )
        .order_by(Report.occurred_at, Report.id)
    )
    return [(country, report_id) for country, report_id in session.execute(query)]


def _event_found(
    session: Session,
    rule: rules.EventRule,
    country: str,
    ids: list[str],
    *,
    start: date,
    now: datetime,
) -> alerts.Found:
    graded = session.scalars(select(Report.severity).where(Report.id.in_(ids)))
    worst = max((s for s in graded if s in rules.SEVERITIES), key=rules.rank, default="high")
    what = alerts.Found(
        rule=EVENT_RULE,
        series=f"category={rule.category} country={country} event",
        severity=worst,
        period_start=datetime.combine(start, time(), tzinfo=UTC),
        period_end=now,
        score=float(len(ids)),
        report_ids=tuple(ids),
        category=rule.category,
        country=country or None,
        detail={"min_severity": rule.min_severity, "period": "event"},
    )
    return what


def severity(score: float, threshold: float) -> str:
    """How far past its threshold the score went (a method's scores have its own scale)."""
    ratio = score / threshold if threshold > 0 else 1.0
    if ratio >= 2.5:
        return "critical"
    return "high" if ratio >= 1.7 else "medium"


def _found(alarm: Alarm, ids: list[str], *, start: date, now: datetime) -> alerts.Found:
    what = alerts.Found(
        rule=alarm.method,
        series=f"category={alarm.category} country={alarm.country} weekly",
        severity=severity(alarm.score, alarm.threshold),
        period_start=datetime.combine(start, time(), tzinfo=UTC),
        period_end=now,
        score=round(alarm.score, 3),
        report_ids=tuple(ids),
        category=alarm.category,
        country=alarm.country,
        detail={"counts": alarm.counts[-26:], "threshold": alarm.threshold, "period": "week"},
    )
    return what


def linked(
    session: Session,
    profile: Sequence[str],
    category: str,
    country: str,
    since: date,
    until: date,
) -> list[str]:
    """The live reports of a series between two days (inclusive) that `profile` reads."""
    countries = tallies.known(session, "country", [country])
    if not countries:
        return []
    read = _read(session, profile, category, since, until, field="country", codes=countries)
    return [report_id for _, report_id in read]


def touched(session: Session, report_ids: Sequence[str]) -> set[Key]:
    """The series these reports count in."""
    rows = session.execute(
        select(Report.category, Report.country).where(Report.id.in_(list(report_ids)))
    )
    return {(level, country) for category, country in rows for level in levels(category)}


def _enqueue(session: Session, report_ids: Sequence[str]) -> None:
    if report_ids:
        jobs.enqueue(session, DETECT, {"reports": list(report_ids)})


@events.during(ReportFiled)
def _filed(session: Session, event: ReportFiled) -> None:
    _enqueue(session, event.report_ids)


@events.during(ReportChanged)
def _changed(session: Session, event: ReportChanged) -> None:
    _enqueue(session, event.report_ids)


def define_jobs() -> None:
    """`warning.detect` for the series, observables and places of new or changed
    reports; `warning.sweep` for all of them, and for silent organizations, once a day.
    Both may run again: an alarm updates its condition's open alert."""

    # Each reads in a read transaction and writes its alerts in a short one after: a
    # sweep over a large store must not keep filings waiting for SQLite's write lock.

    def run_detect(ctx: jobs.JobContext) -> None:
        ids = [str(i) for i in ctx.args.get("reports", [])]
        with ctx.db.session() as session:
            now = clock.now()
            wanted = touched(session, ids)
            findings = found(session, wanted=wanted) if wanted else []
            findings += crossborder.found(session, now=now, report_ids=ids)
            findings += clusters.found(session, now=now, report_ids=ids)
        if findings:
            with ctx.db.session(write=True) as session:
                raise_all(session, findings)

    def run_sweep(ctx: jobs.JobContext) -> None:
        with ctx.db.session() as session:
            now = clock.now()
            findings = found(session)
            findings += crossborder.found(session, now=now)
            findings += clusters.found(session, now=now)
            findings += silence.found(session, now=now)
        if findings:
            with ctx.db.session(write=True) as session:
                raise_all(session, findings)

    jobs.define(DETECT, run_detect, retries=3, backoff=3)
    jobs.define(SWEEP, run_sweep, retries=2, backoff=60, cron="17 3 * * *")


define_jobs()
