"""Cross-border rules: an observable across member states, and a thing that moves.

Each is judged as reader profiles see the correlation index: a report a profile may
not read never makes a state count for it, so no alert, count or path reveals it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from rsn.reports import service
from rsn.reports.schemas import ReportCreate
from rsn.store import Database
from rsn.warning import alerts, crossborder
from rsn.warning.models import Alert
from tests.conftest import Clock
from tests.factories import World, bimstec_world, report_payload, stamp
from tests.jobs.conftest import run_jobs

GREEN: dict[str, Any] = {"tlp": "green", "distribution": {}}
STRICT: dict[str, Any] = {"tlp": "amber+strict", "distribution": {}}
DOMAIN = {"type": "domain-name", "value": "login-bay-bank.example"}
PHONE = {"type": "phone-number", "value": "+8801712345678"}
MEMBERS = ["bd.analyst", "bd.police", "in.analyst", "in.coast", "mm.analyst"]


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


def filed(
    world: World,
    author: str,
    clock: Clock,
    *,
    observable: dict[str, str],
    days_ago: float = 1,
    country: str | None = None,
    **marking: Any,
) -> str:
    body = report_payload(
        occurred_at=stamp(clock.now - timedelta(days=days_ago)),
        category="cyber.attack",
        country=country or world.people[author].principal.member_state,
        observables=[observable],
        **(marking or GREEN),
    )
    with world.db.session(write=True) as s:
        data = ReportCreate.model_validate(body)
        return service.create(s, principal=world.people[author].principal, data=data)


def run(world: World, clock: Clock, report_ids: list[str] | None = None) -> list[str]:
    with world.db.session(write=True) as s:
        return [a.id for a in crossborder.detect(s, now=clock.now, report_ids=report_ids)]


def seen_by(world: World, name: str) -> list[Alert]:
    with world.db.session() as s:
        return alerts.listing(s, world.people[name].principal, alerts.Filters())[0]


def test_a_domain_reported_from_two_states_then_three(world: World, clock: Clock) -> None:
    first = filed(world, "bd.analyst", clock, observable=DOMAIN, days_ago=3)
    assert run(world, clock) == []  # one state is no crossing
    second = filed(world, "in.analyst", clock, observable=DOMAIN, days_ago=2)
    raised = run(world, clock)
    assert len(raised) == 1
    for name in MEMBERS:
        [alert] = seen_by(world, name)
        assert alert.id == raised[0]
    assert seen_by(world, "in.watch") == []  # an observer reads no green report
    with world.db.session() as s:
        alert = s.get(Alert, raised[0])
        assert alert is not None
        assert alert.rule == crossborder.OBSERVABLE_RULE
        assert alert.country_codes == ["BD", "IN"]
        assert alert.observable == "domain-name:login-bay-bank.example"
        assert alert.severity == "medium"
        linked = alerts.report_ids(s, world.people["mm.analyst"].principal, alert.id)
        assert sorted(linked) == sorted([first, second])
    filed(world, "mm.analyst", clock, observable=DOMAIN, days_ago=1)
    assert run(world, clock) == raised  # the open alert grows to the third state
    with world.db.session() as s:
        alert = s.get(Alert, raised[0])
        assert alert is not None
        assert alert.country_codes == ["BD", "IN", "MM"] and alert.severity == "high"
        assert s.scalar(select(func.count()).select_from(Alert)) == 1


def test_a_state_a_profile_cannot_read_never_counts_for_it(world: World, clock: Clock) -> None:
    filed(world, "bd.analyst", clock, observable=DOMAIN)  # green: every member reads it
    filed(world, "in.analyst", clock, observable=DOMAIN, **STRICT)  # in-cert's alone
    raised = run(world, clock)
    assert len(raised) == 1
    assert [a.id for a in seen_by(world, "in.analyst")] == raised
    for name in ("bd.analyst", "bd.police", "in.coast", "mm.analyst", "in.watch"):
        assert seen_by(world, name) == [], name
    # A third state's green report: every member now sees two states of their own, and
    # in-cert, which reads all three, its own alert (grown to three) beside theirs.
    filed(world, "mm.analyst", clock, observable=DOMAIN)
    run(world, clock)
    for name in ("bd.analyst", "mm.analyst", "in.coast"):
        [alert] = seen_by(world, name)
        assert alert.country_codes == ["BD", "MM"], name
    theirs = {tuple(a.country_codes) for a in seen_by(world, "in.analyst")}
    assert theirs == {("BD", "MM"), ("BD", "IN", "MM")}


def test_red_old_or_common_values_warn_no_one(world: World, clock: Clock) -> None:
    red = {"tlp": "red", "distribution": {"users": ["bd.analyst"]}}
    filed(world, "bd.analyst", clock, observable=DOMAIN)
    filed(world, "in.analyst", clock, observable=DOMAIN, **red)  # a named reader only
    old = {"type": "domain-name", "value": "old-campaign.example"}
    filed(world, "bd.analyst", clock, observable=old, days_ago=40)  # outside 30 days
    filed(world, "in.analyst", clock, observable=old, days_ago=1)
    common = {"type": "ipv4-addr", "value": "8.8.8.8"}
    for i in range(21):  # more reports than `common` (20): a resolver, not a lead
        filed(world, ["bd.analyst", "in.analyst"][i % 2], clock, observable=common)
    assert run(world, clock) == []


def test_a_phone_that_moves_from_state_to_state(world: World, clock: Clock) -> None:
    # All filed by Bangladesh's CERT, about events in three states in turn: a movement,
    # not an observable across reporting states.
    for days, country in ((9, "BD"), (7, "BD"), (5, "IN"), (2, "MM")):
        filed(world, "bd.analyst", clock, observable=PHONE, days_ago=days, country=country)
    raised = run(world, clock)
    assert len(raised) == 1
    with world.db.session() as s:
        alert = s.get(Alert, raised[0])
        assert alert is not None
        assert alert.rule == crossborder.MOVEMENT_RULE
        assert alert.detail["path"] == ["BD", "IN", "MM"]
        assert alert.country_codes == ["BD", "IN", "MM"]
        assert alert.observable == "phone-number:+8801712345678"


def test_only_the_values_of_the_reports_in_hand_when_given(world: World, clock: Clock) -> None:
    filed(world, "bd.analyst", clock, observable=DOMAIN)
    filed(world, "in.analyst", clock, observable=DOMAIN)
    other = filed(
        world, "mm.analyst", clock, observable={"type": "domain-name", "value": "x.example"}
    )
    assert run(world, clock, report_ids=[other]) == []
    assert len(run(world, clock)) == 1


def test_filing_queues_the_rule_and_the_job_raises_once(
    db: Database, world: World, clock: Clock
) -> None:
    filed(world, "bd.analyst", clock, observable=DOMAIN)
    filed(world, "in.analyst", clock, observable=DOMAIN)
    run_jobs(db)
    assert len(seen_by(world, "mm.analyst")) == 1
    run_jobs(db)
    with world.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 1


def test_a_region_tunes_the_window_and_the_states_it_takes(world: World, clock: Clock) -> None:
    from rsn.registry import catalog, regionpacks

    filed(world, "bd.analyst", clock, observable=DOMAIN, days_ago=20)
    filed(world, "in.analyst", clock, observable=DOMAIN, days_ago=1)
    with world.db.session(write=True) as s:
        tuned = {"cross_border": {"observable": {"window_days": 10, "min_states": 2}}}
        pack = regionpacks.load("bimstec").model_copy(update={"detection": tuned})
        catalog.load_pack(s, pack)
    assert run(world, clock) == []  # the Bangladeshi report is older than 10 days
