"""Silence: an organization that reports regularly falls quiet for longer than its own
history makes usual, as each reader profile reads its reports."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from rsn.reports import service
from rsn.reports.schemas import ReportCreate
from rsn.store import Database
from rsn.warning import alerts, config, silence
from rsn.warning.models import Alert
from tests.conftest import Clock
from tests.factories import World, bimstec_world, report_payload, stamp

GREEN: dict[str, Any] = {"tlp": "green", "distribution": {}}
STRICT: dict[str, Any] = {"tlp": "amber+strict", "distribution": {}}


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


def steady(
    world: World, clock: Clock, author: str, n: int, every_hours: float, **marking: Any
) -> None:
    """`n` reports, one every `every_hours` by the clock, the last one now."""
    for _ in range(n):
        clock.advance(hours=every_hours)
        body = report_payload(
            occurred_at=stamp(clock.now), location=None, observables=[], **(marking or GREEN)
        )
        with world.db.session(write=True) as s:
            data = ReportCreate.model_validate(body)
            service.create(s, principal=world.people[author].principal, data=data)


def run(world: World, clock: Clock) -> list[str]:
    with world.db.session(write=True) as s:
        return [a.id for a in silence.detect(s, now=clock.now)]


def seen_by(world: World, name: str) -> list[Alert]:
    with world.db.session() as s:
        return alerts.listing(s, world.people[name].principal, alerts.Filters())[0]


def test_the_usual_quiet_is_the_longest_of_rate_history_and_floor() -> None:
    rule = config.SilenceRule(min_hours=1)
    base = datetime(2020, 1, 1, tzinfo=UTC)  # any time: only the gaps matter
    hourly = [base + timedelta(hours=h) for h in range(11)]
    assert silence.quiet_allowed(hourly, rule) == pytest.approx(-math.log(0.001))  # 6.9 h
    gappy = [*hourly, hourly[-1] + timedelta(hours=20)]  # rate 11 in 30 h gives 18.8 h
    assert silence.quiet_allowed(gappy, rule) == pytest.approx(20.0)  # its longest gap
    shorter = [*hourly, hourly[-1] + timedelta(hours=9)]  # rate 11 in 19 h
    assert silence.quiet_allowed(shorter, rule) == pytest.approx(-math.log(0.001) * 19 / 11)
    assert silence.quiet_allowed(hourly, config.SilenceRule()) == 48.0  # the floor
    assert silence.quiet_allowed(hourly[:1], rule) is None


def test_a_regular_reporter_gone_quiet_alerts_those_who_read_it(world: World, clock: Clock) -> None:
    steady(world, clock, "bd.analyst", 30, every_hours=12)  # usual quiet: -ln(0.001) x 12 h
    clock.advance(hours=60)
    assert run(world, clock) == []  # 60 h: quieter than usual, not unusual
    clock.advance(hours=30)  # 90 h > 82.9 h
    [raised] = run(world, clock)
    with world.db.session() as s:
        alert = s.get(Alert, raised)
        assert alert is not None
        assert (alert.rule, alert.country) == (silence.SILENCE_RULE, "BD")
        assert alert.detail["organization"] == "bd-cert"
        assert alert.detail["usual_quiet_hours"] == pytest.approx(82.9, abs=0.1)
        assert alert.severity == "medium"
    for name in ("bd.analyst", "in.analyst", "mm.analyst"):
        assert [a.id for a in seen_by(world, name)] == [raised], name
    assert seen_by(world, "in.watch") == []  # an observer reads none of its reports
    clock.advance(hours=100)
    assert run(world, clock) == [raised]  # still quiet: the same alert, graver
    with world.db.session() as s:
        assert s.get(Alert, raised).severity == "high"  # type: ignore[union-attr]
        assert s.scalar(select(func.count()).select_from(Alert)) == 1


def test_silence_in_reports_only_its_own_may_read_is_theirs_alone(
    world: World, clock: Clock
) -> None:
    steady(world, clock, "in.analyst", 25, every_hours=6, **STRICT)
    clock.advance(hours=80)
    raised = run(world, clock)
    assert len(raised) == 1
    assert [a.id for a in seen_by(world, "in.analyst")] == raised
    for name in ("bd.analyst", "in.coast", "mm.analyst", "in.watch"):
        assert seen_by(world, name) == [], name


def test_who_reports_now_and_then_is_never_silent(world: World, clock: Clock) -> None:
    steady(world, clock, "mm.analyst", 10, every_hours=12)  # under 20 in 180 days
    clock.advance(days=30)
    assert run(world, clock) == []
