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
one with fewer than `MIN_EVENTS` reports in its baseline is skipped: too sparse for a
count method (single-event rules cover what one report is enough for).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from rsn.warning.methods import Method

from rsn import clock, events, jobs
from rsn.reports import tallies
from rsn.reports.events import ReportChanged, ReportFiled
from rsn.reports.models import Report
from rsn.sharing import keysets
from rsn.warning import alerts
from rsn.warning.models import Alert

log = logging.getLogger("rsn.warning")

DETECT = "warning.detect"
SWEEP = "warning.sweep"
WEEKS = 160  # weeks of history read per series: the default method's three-year span
WINDOW = 2  # weeks an alarm links reports from: the widest sum the default method scores
MIN_EVENTS = 10  # reports in a series' baseline before a count method judges it
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
    query = select(
        tallies.Tally.category, tallies.Tally.country, tallies.Tally.start, tallies.Tally.n
    ).where(
        tallies.Tally.unit.in_(units),
        tallies.Tally.span == 0,
        tallies.Tally.start >= first.toordinal(),
        tallies.Tally.start <= today.toordinal(),
        tallies.Tally.n != 0,
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
    base = first.toordinal()
    for category, country, start, n in rows:
        week = (start - base) // 7
        for level in levels(words[category]):
            key = (level, words[country])
            if wanted is not None and key not in wanted:
                continue
            counts = found.get(key)
            if counts is None:
                counts = found[key] = np.zeros(WEEKS, dtype=np.float64)
            counts[week] += n
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
    """Run the method on the current week of every series (or those `wanted`) of every
    profile, and raise or update an alert for each that alarms; the alerts touched."""
    now = clock.now()
    today = now.astimezone(UTC).date()
    # numpy's statistics (scipy) load with the first detection, not with every process
    # that opens the node (a CLI command took 1.2 s longer to start).
    from rsn.warning import methods

    chosen = method or methods.by_name(methods.DEFAULT)
    threshold = float(getattr(chosen, "threshold", 0.0))
    judged: dict[bytes, tuple[float, bool]] = {}  # the same counts, judged once
    alarms: list[Alarm] = []
    for profile in keysets.profiles(session):
        for (category, country), counts in series(
            session, profile, today=today, wanted=wanted
        ).items():
            # Weeks before a series' first report are no data, not zeros: a series the
            # node has heard of for 30 weeks is judged against those 30 weeks.
            counts = counts[int(np.argmax(counts > 0)) :]
            if counts[:-WINDOW].sum() < MIN_EVENTS:
                continue
            fingerprint = counts.tobytes()
            if fingerprint not in judged:
                verdict = chosen.run(counts)
                judged[fingerprint] = (float(verdict.score[-1]), bool(verdict.alarm[-1]))
            score, alarmed = judged[fingerprint]
            if alarmed:
                alarms.append(
                    Alarm(profile, category, country, score, threshold, [int(c) for c in counts])
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
    raised = [
        _raise(session, alarm, ids, chosen.name, start=start, now=now)
        for alarm, ids in chosen_alarms.values()
    ]
    return list({a.id: a for a in raised}.values())


def severity(score: float, threshold: float) -> str:
    """How far past its threshold the score went (a method's scores have its own scale)."""
    ratio = score / threshold if threshold > 0 else 1.0
    if ratio >= 2.5:
        return "critical"
    return "high" if ratio >= 1.7 else "medium"


def _raise(
    session: Session, alarm: Alarm, ids: list[str], rule: str, *, start: date, now: datetime
) -> Alert:
    found = alerts.Found(
        rule=rule,
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
    return alerts.raise_alert(session, found)


def linked(
    session: Session,
    profile: Sequence[str],
    category: str,
    country: str,
    since: date,
    until: date,
) -> list[str]:
    """The live reports of a series between two days (inclusive) that `profile` reads."""
    units = tallies.known(session, "unit", profile)
    codes = tallies.known(session, "category", _below(session, [category]))
    countries = tallies.known(session, "country", [country])
    if not (units and codes and countries):
        return []
    readable = select(keysets.KeySetUnit.keyset_id).where(
        keysets.KeySetUnit.unit.in_(list(profile))
    )
    query = (
        select(tallies.Counted.report_id)
        .join(Report, Report.id == tallies.Counted.report_id)
        .where(
            tallies.Counted.day >= since.toordinal(),
            tallies.Counted.day <= until.toordinal(),
            tallies.Counted.category.in_(codes),
            tallies.Counted.country.in_(countries),
            tallies.Counted.keyset.in_(readable),
        )
        .order_by(Report.occurred_at, Report.id)
    )
    return list(session.scalars(query))


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
    """`warning.detect` for the series of new or changed reports; `warning.sweep` every
    series once a day. Both may run again: an alarm updates its condition's open alert."""

    def run_detect(ctx: jobs.JobContext) -> None:
        ids = [str(i) for i in ctx.args.get("reports", [])]
        with ctx.db.session(write=True) as session:
            wanted = touched(session, ids)
            if wanted:
                detect(session, wanted=wanted)

    def run_sweep(ctx: jobs.JobContext) -> None:
        with ctx.db.session(write=True) as session:
            detect(session)

    jobs.define(DETECT, run_detect, retries=3, backoff=3)
    jobs.define(SWEEP, run_sweep, retries=2, backoff=60, cron="17 3 * * *")


define_jobs()
