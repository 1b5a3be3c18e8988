"""Silence: an organization that reports regularly has sent nothing for an unusual time.

A coast guard that files a piracy report every other day and has filed nothing for a
week may have lost its connection, its officer, or its nerve; any of these is worth a
duty officer's call. What is "unusual" comes from the organization's own history: its
last reports (at most `last`) give its rate, and it is silent when the time since the
newest is longer than a gap that rate would produce with a chance under `p` (an
exponential waiting time: -ln(p) / rate), longer than every gap in those reports, and
longer than `min_hours`. Only an organization with `min_reports` or more in
`history_days` is judged: a body that reports now and then is never "silent".

Judged as each reader profile reads the organization's reports, like every rule: the
alert links the reports its judgement stood on, so its readers are those who read all
of them, and none learns of reports (or a rate) they could not read. Peers will be
judged the same way once nodes federate.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from rsn.registry.models import Organization
from rsn.reports import tallies
from rsn.reports.models import Report
from rsn.sharing import keysets
from rsn.warning import alerts, config
from rsn.warning.models import Alert

SILENCE_RULE = "silence"


@dataclass(frozen=True)
class Silent:
    """An organization silent in one profile's view, with the reports that showed it."""

    organization_id: str
    report_ids: tuple[str, ...]  # oldest first; the last is its newest report
    last_at: datetime
    expected_hours: float  # the longest quiet its rate and history allow
    silent_hours: float


def quiet_allowed(times: list[datetime], rule: config.SilenceRule) -> float | None:
    """The longest quiet, in hours, that these filing times (oldest first) make usual;
    None when they are too few or too close together to give a rate."""
    if len(times) < 2:
        return None
    span = (times[-1] - times[0]).total_seconds() / 3600
    if span <= 0:
        return None
    rate = (len(times) - 1) / span  # reports an hour
    longest = max((b - a).total_seconds() / 3600 for a, b in itertools.pairwise(times))
    return max(-math.log(rule.p) / rate, longest, rule.min_hours)


def silences(session: Session, rule: config.SilenceRule, *, now: datetime) -> list[Silent]:
    """Every organization silent for some profile; one per set of reports judged."""
    since = now - timedelta(days=rule.history_days)
    rows = session.execute(
        select(Report.originator_org_id, Report.id, Report.created, tallies.Counted.keyset)
        .join(tallies.Counted, tallies.Counted.report_id == Report.id)
        .where(Report.created >= since, Report.created <= now)
        .order_by(Report.created, Report.id)
    ).all()
    readers = keysets.units(session, {keyset for *_, keyset in rows})
    found: dict[frozenset[str], Silent] = {}
    for profile in keysets.profiles(session):
        mine = set(profile)
        by_org: dict[str, list[tuple[str, datetime]]] = defaultdict(list)
        for org_id, report_id, created, keyset in rows:
            if mine.intersection(readers.get(keyset, ())):
                by_org[org_id].append((report_id, created.astimezone(UTC)))
        for org_id, filed in by_org.items():
            if len(filed) < rule.min_reports:
                continue
            recent = filed[-rule.last :]
            allowed = quiet_allowed([t for _, t in recent], rule)
            quiet = (now - recent[-1][1]).total_seconds() / 3600
            if allowed is not None and quiet > allowed:
                ids = tuple(r for r, _ in recent)
                found.setdefault(frozenset(ids), Silent(org_id, ids, recent[-1][1], allowed, quiet))
    return list(found.values())


def finding(session: Session, silent: Silent, *, now: datetime) -> alerts.Found:
    org = session.get(Organization, silent.organization_id)
    assert org is not None  # a report's originator is a foreign key
    times = silent.silent_hours / silent.expected_hours
    what = alerts.Found(
        rule=SILENCE_RULE,
        series=f"silence organization={org.slug}",
        severity="high" if times >= 2 else "medium",
        period_start=silent.last_at,
        period_end=now,
        score=round(times, 3),
        report_ids=silent.report_ids,
        country=org.member_state,
        detail={
            "organization": org.slug,
            "organization_name": org.name,
            "last_report_at": silent.last_at.isoformat(),
            "usual_quiet_hours": round(silent.expected_hours, 1),
            "silent_hours": round(silent.silent_hours, 1),
            "period": "since its last report",
        },
    )
    return what


def found(session: Session, *, now: datetime) -> list[alerts.Found]:
    """Every organization gone unusually quiet, to become alerts (it only reads)."""
    rule = config.for_node(session).silence
    return [finding(session, s, now=now) for s in silences(session, rule, now=now)]


def detect(session: Session, *, now: datetime) -> list[Alert]:
    """Raise or update an alert for every organization gone unusually quiet."""
    return [alerts.raise_alert(session, f) for f in found(session, now=now)]


__all__ = ["SILENCE_RULE", "Silent", "detect", "finding", "found", "quiet_allowed", "silences"]
