"""Detection over the kept counts: a series is counted as one reader profile may see it,
and an alarm becomes an alert read by exactly those who read its reports."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from rsn.registry import catalog, regionpacks
from rsn.reports import service
from rsn.reports.schemas import ReportCreate
from rsn.sharing import keysets
from rsn.store import Database
from rsn.warning import alerts, detect
from rsn.warning.models import Alert
from tests.conftest import Clock
from tests.factories import World, bimstec_world, report_payload, stamp
from tests.jobs.conftest import run_jobs

PIRACY = "maritime.piracy"
GREEN: dict[str, Any] = {"tlp": "green", "distribution": {}}
STRICT: dict[str, Any] = {"tlp": "amber+strict", "distribution": {}}
OUTSIDERS = ["bd.police", "in.analyst", "in.coast", "mm.analyst", "in.watch"]


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


def filed(
    world: World,
    author: str,
    times: list[Any],
    country: str = "BD",
    category: str = PIRACY,
    **fields: Any,
) -> list[str]:
    ids = []
    with world.db.session(write=True) as s:
        for when in times:
            body = report_payload(  # no point: the place rules are tested on their own
                occurred_at=stamp(when),
                category=category,
                country=country,
                observables=[],
                location=None,
                **fields,
            )
            data = ReportCreate.model_validate(body)
            ids.append(service.create(s, principal=world.people[author].principal, data=data))
    return ids


def history(world: World, clock: Clock, author: str = "bd.analyst", weeks: int = 30) -> None:
    """A steady series: 2 to 4 green reports a week for `weeks` weeks before this one."""
    this_week = detect.week_start(clock.now.date())
    times = [
        clock.now.replace(year=this_week.year, month=this_week.month, day=this_week.day)
        - timedelta(weeks=w, hours=3 * i)
        for w in range(1, weeks + 1)
        for i in range(2 + w % 3)
    ]
    filed(world, author, times, **GREEN)


def burst(clock: Clock, n: int) -> list[Any]:
    """`n` times earlier today (the current week, whatever weekday today is)."""
    return [clock.now - timedelta(minutes=i + 1) for i in range(n)]


def visible_alerts(world: World, name: str) -> list[Alert]:
    with world.db.session() as s:
        who = world.people[name].principal
        found = alerts.listing(s, who, alerts.Filters())[0]
        assert sum(alerts.counts_by_status(s, who).values()) == len(found)
        return found


def run(world: World) -> list[str]:
    with world.db.session(write=True) as s:
        return [a.id for a in detect.detect(s)]


def test_strict_burst_alerts_its_organization_and_no_one_else(world: World, clock: Clock) -> None:
    history(world, clock)
    filed(world, "bd.analyst", burst(clock, 30), **STRICT)
    raised = run(world)
    assert len(raised) == 1
    mine = visible_alerts(world, "bd.analyst")
    assert [a.id for a in mine] == raised
    alert = mine[0]
    assert (alert.category, alert.country, alert.rule) == (PIRACY, "BD", "weekly")
    assert alert.severity in ("high", "critical")
    with world.db.session() as s:
        assert len(alerts.report_ids(s, world.people["bd.analyst"].principal, alert.id)) >= 30
    for name in OUTSIDERS:  # their series never held the burst: no alert, not even a count
        assert visible_alerts(world, name) == [], name


def test_a_green_burst_is_no_alert_for_an_observer(world: World, clock: Clock) -> None:
    history(world, clock, author="in.analyst")
    filed(world, "in.analyst", burst(clock, 25), **GREEN)
    raised = run(world)
    assert len(raised) == 1
    for name in ("bd.analyst", "bd.police", "in.analyst", "mm.analyst"):
        assert [a.id for a in visible_alerts(world, name)] == raised, name
    assert visible_alerts(world, "in.watch") == []


def test_one_alert_per_condition_and_period(world: World, clock: Clock) -> None:
    history(world, clock)
    filed(world, "bd.analyst", burst(clock, 20), **GREEN)
    first = run(world)
    assert len(first) == 1  # maritime rises too, over the same reports: the narrower speaks
    with world.db.session() as s:
        assert s.get(Alert, first[0]).category == PIRACY  # type: ignore[union-attr]
    assert run(world) == first  # run again: the same alert, not another
    clock.advance(minutes=30)
    filed(world, "bd.analyst", burst(clock, 10), **GREEN)
    assert run(world) == first
    with world.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 1


def test_a_steady_or_sparse_series_raises_nothing(world: World, clock: Clock) -> None:
    history(world, clock)
    filed(world, "bd.analyst", burst(clock, 3), **GREEN)  # an ordinary week so far
    filed(world, "mm.analyst", burst(clock, 8), country="MM", **GREEN)  # no history: sparse
    assert run(world) == []


def test_filing_queues_detection_and_the_job_raises_the_alert(
    db: Database, world: World, clock: Clock
) -> None:
    history(world, clock)
    run_jobs(db)  # the history's own detection runs: a steady series, nothing to say
    with world.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 0
    filed(world, "bd.analyst", burst(clock, 20), **GREEN)
    run_jobs(db)
    assert len(visible_alerts(world, "mm.analyst")) == 1
    run_jobs(db)  # nothing queued twice, nothing doubled
    with world.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 1


def tune(world: World, detection: dict[str, Any]) -> None:
    """The region pack loaded again with these early-warning settings."""
    with world.db.session(write=True) as s:
        pack = regionpacks.load("bimstec").model_copy(update={"detection": detection})
        catalog.load_pack(s, pack)


def test_a_category_is_judged_by_its_own_settings(world: World, clock: Clock) -> None:
    history(world, clock)
    filed(world, "bd.analyst", burst(clock, 20), **GREEN)
    tune(world, {"categories": {"maritime": {"method": "weekly", "min_events": 1000}}})
    assert run(world) == []  # too sparse for its category now, at every level
    tune(world, {"categories": {"maritime.piracy": {"method": "ears-c2"}}})
    raised = run(world)
    with world.db.session() as s:
        rules = {s.get(Alert, i).rule for i in raised}  # type: ignore[union-attr]
    assert "ears-c2" in rules


TSUNAMI = "disaster.tsunami"


def test_one_tsunami_report_is_warning_enough(world: World, clock: Clock) -> None:
    first = filed(world, "bd.analyst", burst(clock, 1), category=TSUNAMI, severity="low", **GREEN)
    raised = run(world)
    assert len(raised) == 1
    with world.db.session() as s:
        alert = s.get(Alert, raised[0])
        assert alert is not None
        assert (alert.rule, alert.category, alert.country) == (detect.EVENT_RULE, TSUNAMI, "BD")
        assert alert.severity == "low"
    for name in ("bd.analyst", "bd.police", "in.analyst", "mm.analyst"):
        assert [a.id for a in visible_alerts(world, name)] == raised, name
    assert visible_alerts(world, "in.watch") == []  # an observer reads no green report
    clock.advance(minutes=20)
    second = filed(
        world, "in.analyst", burst(clock, 1), category=TSUNAMI, severity="critical", **GREEN
    )
    assert run(world) == raised  # the open alert grows
    with world.db.session() as s:
        linked = alerts.report_ids(s, world.people["bd.analyst"].principal, raised[0])
        assert sorted(linked) == sorted(first + second)
        assert s.get(Alert, raised[0]).severity == "critical"  # type: ignore[union-attr]


def test_a_single_event_alert_reaches_only_the_reports_readers(world: World, clock: Clock) -> None:
    filed(world, "bd.analyst", burst(clock, 1), category=TSUNAMI, severity="high", **STRICT)
    raised = run(world)
    assert [a.id for a in visible_alerts(world, "bd.analyst")] == raised
    assert len(raised) == 1
    for name in OUTSIDERS:
        assert visible_alerts(world, name) == [], name


def test_below_its_severity_or_red_no_single_event_alert(world: World, clock: Clock) -> None:
    quake = "disaster.earthquake"  # warns alone from `high`
    filed(world, "bd.analyst", burst(clock, 2), category=quake, severity="medium", **GREEN)
    red = {"tlp": "red", "distribution": {"users": ["in.analyst"]}}
    filed(world, "bd.analyst", burst(clock, 1), category=TSUNAMI, severity="critical", **red)
    assert run(world) == []
    with world.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 0


def test_a_filed_tsunami_report_alerts_through_the_job(
    db: Database, world: World, clock: Clock
) -> None:
    filed(
        world,
        "mm.analyst",
        burst(clock, 1),
        country="MM",
        category=TSUNAMI,
        severity="low",
        **GREEN,
    )
    run_jobs(db)
    [alert] = visible_alerts(world, "bd.analyst")
    assert (alert.rule, alert.country) == (detect.EVENT_RULE, "MM")
    run_jobs(db)
    with world.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 1


def test_every_reader_counts_as_one_of_the_profiles(world: World) -> None:
    """Their own scope aside: what only a person's own keys open is never watched."""
    with world.db.session() as s:
        profiles = {frozenset(p) for p in keysets.profiles(s)}
    for person in world.people.values():
        units = keysets.units_of(person.principal)
        own = [u for u in units if u.startswith(keysets.PERSON)]
        assert len(own) == 1, person.user.username
        assert frozenset(units) - set(own) in profiles, person.user.username


def test_weeks_start_on_monday(clock: Clock) -> None:
    today = clock.now.astimezone(UTC).date()
    start = detect.week_start(today)
    assert start.weekday() == 0 and 0 <= (today - start).days < 7
