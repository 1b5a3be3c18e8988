"""Place rules: located reports clustering near a land border or in one sea area.

A handful of reports a few kilometres either side of the India-Myanmar border in one
week, when that stretch usually has one, says more than any one state's counts: the
reports may come from both sides and from any category. Each report with a point is
placed near the borders within `distance_km` (`rsn.warning.borders`) and in its sea
area (the one it names, else the one its point lies in: `rsn.warning.seas`). A place
alarms when its last window holds at least `min_reports` and `ratio` times the mean of
the windows before, so a busy border is judged against itself, not against a quiet one.

As every rule here, a place is counted as each reader profile reads it: the reports a
profile may not read are not in its windows, and an alert stands on the current
window's reports its profile reads, read by those who read them all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from rsn.registry import catalog
from rsn.reports import tallies
from rsn.reports.models import Report
from rsn.sharing import keysets
from rsn.warning import alerts, borders, config, seas
from rsn.warning.models import Alert

BORDER_RULE = "border-cluster"
SEA_RULE = "sea-cluster"

Place = tuple[
    str, str
]  # (rule, where): ("border-cluster", "BD-IN"), ("sea-cluster", "Andaman Sea")


@dataclass(frozen=True)
class Located:
    report_id: str
    keyset: str
    occurred_at: datetime
    places: tuple[Place, ...]


@dataclass(frozen=True)
class Cluster:
    """A place whose last window alarmed, as one profile reads it."""

    rule: str
    where: str
    report_ids: tuple[str, ...]  # the last window's, oldest first
    counts: tuple[int, ...]  # per window, oldest first, the last one current
    baseline: float  # the mean of the windows before the last


def _rule(settings: config.Detection, rule: str) -> config.SeaRule:
    return settings.border if rule == BORDER_RULE else settings.sea


def _located(
    session: Session, settings: config.Detection, since: datetime, now: datetime
) -> list[Located]:
    """Every counted report with a point or a sea area, occurred since `since`."""
    packs = [record.slug for record in catalog.packs(session)]
    lines = [borders.for_pack(slug) for slug in packs]
    shapes = [seas.shapes_for(slug) for slug in packs]
    rows = session.execute(
        select(
            Report.id,
            tallies.Counted.keyset,
            Report.occurred_at,
            Report.lat,
            Report.lon,
            Report.sea_area,
        )
        .join(tallies.Counted, tallies.Counted.report_id == Report.id)
        .where(
            Report.occurred_at >= since,
            Report.occurred_at <= now,
            or_(Report.lat.is_not(None), Report.sea_area.is_not(None)),
        )
        .order_by(Report.occurred_at, Report.id)
    )
    found = []
    km = settings.border.distance_km
    for report_id, keyset, occurred, lat, lon, sea_area in rows:
        places: list[Place] = []
        if lat is not None and lon is not None:
            pairs = {pair for b in lines for pair in b.near(lat, lon, km)}
            places += [(BORDER_RULE, f"{a}-{b}") for a, b in sorted(pairs)]
            if sea_area is None:
                sea_area = next((s.area_at(lat, lon) for s in shapes if s.area_at(lat, lon)), None)
        if sea_area:
            places.append((SEA_RULE, sea_area))
        if places:
            found.append(Located(report_id, keyset, occurred.astimezone(UTC), tuple(places)))
    return found


def clusters(
    session: Session,
    settings: config.Detection,
    *,
    now: datetime,
    report_ids: Sequence[str] | None = None,
) -> list[Cluster]:
    """Every place that alarms for some profile (with `report_ids`, only their places);
    one per place and set of reports, however many profiles read it alike."""
    windows = {
        rule: (timedelta(days=_rule(settings, rule).window_days), _rule(settings, rule))
        for rule in (BORDER_RULE, SEA_RULE)
    }
    longest = max(width * (1 + rule.baseline_windows) for width, rule in windows.values())
    located = _located(session, settings, now - longest, now)
    if report_ids is not None:
        given = set(report_ids)
        wanted = {p for item in located if item.report_id in given for p in item.places}
        located = [
            Located(i.report_id, i.keyset, i.occurred_at, tuple(p for p in i.places if p in wanted))
            for i in located
        ]
    readers = keysets.units(session, {item.keyset for item in located})
    found: dict[tuple[Place, frozenset[str]], Cluster] = {}
    for profile in keysets.profiles(session):
        mine = set(profile)
        by_place: dict[Place, list[Located]] = defaultdict(list)
        for item in located:
            if mine.intersection(readers.get(item.keyset, ())):
                for place in item.places:
                    by_place[place].append(item)
        for place, items in by_place.items():
            width, rule = windows[place[0]]
            counts = [0] * (1 + rule.baseline_windows)
            current: list[str] = []
            for item in items:
                back = int((now - item.occurred_at) // width)
                if back < len(counts):
                    counts[-1 - back] += 1
                    if back == 0:
                        current.append(item.report_id)
            baseline = sum(counts[:-1]) / rule.baseline_windows
            last = counts[-1]
            if last >= rule.min_reports and last >= rule.ratio * baseline:
                key = (place, frozenset(current))
                found.setdefault(key, Cluster(*place, tuple(current), tuple(counts), baseline))
    return list(found.values())


def severity(cluster: Cluster, rule: config.SeaRule) -> str:
    """How far past the rule: twice its ratio is high, four times critical."""
    times = cluster.counts[-1] / max(cluster.baseline, 1.0 / rule.baseline_windows)
    if times >= 4 * rule.ratio and cluster.counts[-1] >= 2 * rule.min_reports:
        return "critical"
    return "high" if times >= 2 * rule.ratio else "medium"


def finding(cluster: Cluster, settings: config.Detection, *, now: datetime) -> alerts.Found:
    rule = _rule(settings, cluster.rule)
    width = timedelta(days=rule.window_days)
    if cluster.rule == BORDER_RULE:
        countries = tuple(cluster.where.split("-"))
        detail: dict[str, object] = {
            "border": list(countries),
            "distance_km": settings.border.distance_km,
        }
    else:
        countries = ()
        detail = {"sea": cluster.where}
    what = alerts.Found(
        rule=cluster.rule,
        series=f"{'border' if cluster.rule == BORDER_RULE else 'sea'}={cluster.where}",
        severity=severity(cluster, rule),
        period_start=now - width,
        period_end=now,
        score=round(cluster.counts[-1] / max(cluster.baseline, 1.0 / rule.baseline_windows), 3),
        report_ids=cluster.report_ids,
        countries=countries,
        detail={**detail, "counts": list(cluster.counts), "period": f"{rule.window_days} days"},
    )
    return what


def found(
    session: Session, *, now: datetime, report_ids: Sequence[str] | None = None
) -> list[alerts.Found]:
    """What the place rules find, to become alerts (it only reads)."""
    settings = config.for_node(session)
    places = clusters(session, settings, now=now, report_ids=report_ids)
    return [finding(c, settings, now=now) for c in places]


def detect(
    session: Session, *, now: datetime, report_ids: Sequence[str] | None = None
) -> list[Alert]:
    """Raise or update an alert for every place that clusters."""
    return [alerts.raise_alert(session, f) for f in found(session, now=now, report_ids=report_ids)]


__all__ = ["BORDER_RULE", "SEA_RULE", "Cluster", "clusters", "detect", "finding", "found"]
