"""Alerts: read exactly by those who read every report they stand on; worked by analysts
and duty officers among them; one open alert per condition; every step kept."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from rsn import sharing
from rsn.audit.models import AuditRecord
from rsn.errors import Conflict, Forbidden, NotFound, ValidationError
from rsn.reports import service
from rsn.reports.schemas import ReportCreate, ReportUpdate
from rsn.store import Database
from rsn.warning import alerts
from rsn.warning.models import Alert
from tests.conftest import Clock
from tests.factories import World, bimstec_world, report_payload, stamp

READERS = [
    "bd.analyst",
    "bd.duty",
    "bd.policy",
    "bd.police",
    "in.analyst",
    "in.coast",
    "mm.analyst",
    "in.watch",
]


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


def file(world: World, author: str, clock: Clock, n: int = 1, **fields: Any) -> list[str]:
    """`n` reports filed by `author` through the service, a day apart, newest first."""
    ids = []
    with world.db.session(write=True) as s:
        for i in range(n):
            body = report_payload(occurred_at=stamp(clock.now - timedelta(days=i + 1)), **fields)
            data = ReportCreate.model_validate(body)
            ids.append(service.create(s, principal=world.people[author].principal, data=data))
    return ids


def found(report_ids: list[str], clock: Clock, **fields: Any) -> alerts.Found:
    values: dict[str, Any] = {
        "rule": "weekly",
        "series": "category=organized-crime.human-trafficking country=BD",
        "severity": "high",
        "period_start": clock.now - timedelta(days=7),
        "period_end": clock.now,
        "score": 4.2,
        "report_ids": tuple(report_ids),
        "category": "organized-crime.human-trafficking",
        "country": "BD",
    }
    values.update(fields)
    return alerts.Found(**values)


def raised(world: World, what: alerts.Found) -> str:
    with world.db.session(write=True) as s:
        return alerts.raise_alert(s, what).id


def seen_by(world: World, alert_id: str) -> set[str]:
    """Who finds the alert on each path: the list, a read, the counts by status."""
    who = set()
    with world.db.session() as s:
        for name in READERS:
            principal = world.people[name].principal
            listed = [a.id for a in alerts.listing(s, principal, alerts.Filters())[0]]
            try:
                alerts.get(s, principal, alert_id)
                read = True
            except NotFound:
                read = False
            counted = sum(alerts.counts_by_status(s, principal).values())
            assert (alert_id in listed) == read == (counted > 0), name
            if read:
                who.add(name)
    return who


def test_strict_reports_of_one_organization_alert_it_and_no_one_else(
    world: World, clock: Clock
) -> None:
    strict = {"tlp": "amber+strict", "distribution": {}}
    ids = file(world, "bd.analyst", clock, 30, **strict)
    alert_id = raised(world, found(ids, clock))
    assert seen_by(world, alert_id) == {"bd.analyst", "bd.duty", "bd.policy"}
    with world.db.session() as s:
        assert s.get(Alert, alert_id).tlp == "amber"  # type: ignore[union-attr]


def test_an_observer_sees_no_alert_counted_over_green_reports(world: World, clock: Clock) -> None:
    ids = file(world, "in.analyst", clock, 3, tlp="green", distribution={})
    alert_id = raised(world, found(ids, clock))
    readers = seen_by(world, alert_id)
    assert "in.watch" not in readers
    assert {"bd.analyst", "bd.police", "in.analyst", "mm.analyst"} <= readers


def test_the_narrowest_report_decides_and_a_reader_gets_only_the_reports_they_read(
    world: World, clock: Clock
) -> None:
    green = file(world, "bd.analyst", clock, 2, tlp="green", distribution={})
    to_india = file(world, "bd.analyst", clock, 1)  # amber to IN
    alert_id = raised(world, found([*green, *to_india], clock))
    assert seen_by(world, alert_id) == {
        "bd.analyst",
        "bd.duty",
        "bd.policy",
        "in.analyst",
        "in.coast",
    }
    with world.db.session() as s:
        mine = alerts.report_ids(s, world.people["in.analyst"].principal, alert_id)
    assert sorted(mine) == sorted([*green, *to_india])


def test_the_same_condition_updates_the_open_alert(world: World, clock: Clock) -> None:
    first = file(world, "bd.analyst", clock, 3, tlp="green", distribution={})
    one = raised(world, found(first, clock))
    assert raised(world, found(first, clock)) == one  # several scopes, the same reports
    clock.advance(days=7)
    later = file(world, "in.analyst", clock, 2, tlp="green", distribution={})
    again = raised(world, found(later, clock, severity="critical", score=9.0))
    assert again == one
    with world.db.session() as s:
        alert = s.get(Alert, one)
        assert alert is not None
        assert (alert.severity, alert.score) == ("critical", 9.0)
        assert alert.period_end == clock.now
        ids = alerts.report_ids(s, world.people["bd.analyst"].principal, one)
        assert sorted(ids) == sorted([*first, *later])
        # The second raise brought nothing new: no step of its own.
        assert [e.action for e in alerts.history(s, one)] == ["raised", "updated"]
    # Other readers make another condition: an alert of its own.
    strict = file(world, "bd.analyst", clock, 1, tlp="amber+strict", distribution={})
    assert raised(world, found(strict, clock)) != one


def test_lifecycle_by_analysts_and_duty_officers_with_its_history_and_audit(
    world: World, clock: Clock
) -> None:
    ids = file(world, "bd.analyst", clock, 2, tlp="green", distribution={})
    alert_id = raised(world, found(ids, clock))
    people = world.people
    with world.db.session(write=True) as s:
        with pytest.raises(Forbidden):  # a reader, not one who acts
            alerts.act(s, people["bd.policy"].principal, alert_id, "acknowledge")
        with pytest.raises(NotFound):  # no reader at all
            alerts.act(s, people["in.watch"].principal, alert_id, "acknowledge")
        alerts.act(s, people["in.analyst"].principal, alert_id, "acknowledge")
        with pytest.raises(Conflict):
            alerts.act(s, people["bd.duty"].principal, alert_id, "acknowledge")
        alerts.add_note(s, people["bd.duty"].principal, alert_id, "Coast guard informed.")
        alerts.act(s, people["bd.duty"].principal, alert_id, "escalate")
        with pytest.raises(ValidationError) as no_reason:
            alerts.act(s, people["bd.duty"].principal, alert_id, "close")
        assert no_reason.value.problems[0].field == "reason"  # type: ignore[attr-defined]
        alerts.act(s, people["bd.duty"].principal, alert_id, "close", reason="real")
        with pytest.raises(Conflict):
            alerts.act(s, people["bd.duty"].principal, alert_id, "escalate")
    with world.db.session() as s:
        alert = s.get(Alert, alert_id)
        assert alert is not None
        assert (alert.status, alert.close_reason) == ("closed", "real")
        assert alert.owner_id == people["in.analyst"].user.id
        assert alert.acknowledged_at is not None and alert.closed_at is not None
        steps = [(e.action, e.status) for e in alerts.history(s, alert_id)]
        assert steps == [
            ("raised", "new"),
            ("acknowledge", "acknowledged"),
            ("note", "acknowledged"),
            ("escalate", "escalated"),
            ("close", "closed"),
        ]
        audited = list(
            s.scalars(select(AuditRecord.action).where(AuditRecord.action.like("alert.%")))
        )
    assert audited == [
        "alert.raise",
        "alert.acknowledge",
        "alert.note",
        "alert.escalate",
        "alert.close",
    ]


def test_a_closed_condition_opens_a_new_alert(world: World, clock: Clock) -> None:
    ids = file(world, "bd.analyst", clock, 2, tlp="green", distribution={})
    first = raised(world, found(ids, clock))
    with world.db.session(write=True) as s:
        alerts.act(s, world.people["bd.analyst"].principal, first, "close", reason="false-alarm")
    assert raised(world, found(ids, clock)) != first


def test_filters_and_bad_filters(world: World, clock: Clock) -> None:
    ids = file(world, "bd.analyst", clock, 2, tlp="green", distribution={})
    crossing = raised(
        world,
        found(
            ids,
            clock,
            rule="crossborder.observable",
            series="phone:+8801712345678",
            country=None,
            countries=("BD", "IN"),
        ),
    )
    weekly = raised(world, found(ids, clock))
    who = world.people["mm.analyst"].principal
    with world.db.session() as s:

        def ids_for(**f: Any) -> set[str]:
            return {a.id for a in alerts.listing(s, who, alerts.Filters(**f))[0]}

        assert ids_for(country="in") == {crossing}
        assert ids_for(country="BD") == {crossing, weekly}
        assert ids_for(rule="weekly") == {weekly}
        assert ids_for(category="organized-crime") == {crossing, weekly}
        assert ids_for(category="organized") == set()
        assert ids_for(status="new") == {crossing, weekly}
        assert ids_for(since=clock.now + timedelta(seconds=1)) == set()
        with pytest.raises(ValidationError):
            ids_for(status="open")
        page, cursor = alerts.listing(s, who, alerts.Filters(), limit=1)
        rest, end = alerts.listing(s, who, alerts.Filters(), limit=1, cursor=cursor)
        assert {page[0].id, rest[0].id} == {crossing, weekly} and end is None


def test_a_report_gone_red_withdraws_the_alert_from_everyone(world: World, clock: Clock) -> None:
    ids = file(world, "bd.analyst", clock, 2, tlp="green", distribution={})
    alert_id = raised(world, found(ids, clock))
    with world.db.session(write=True) as s:
        service.update_report(
            s,
            principal=world.people["bd.analyst"].principal,
            report_id=ids[0],
            data=ReportUpdate.model_validate({"tlp": "red", "distribution": {"users": []}}),
        )
    assert seen_by(world, alert_id) == set()


MARKINGS: list[dict[str, Any]] = [
    {"tlp": "clear", "distribution": {}},
    {"tlp": "green", "distribution": {}},
    {"tlp": "amber", "distribution": {"member_states": ["IN"]}},
    {"tlp": "amber", "distribution": {"organizations": ["mm-cert"]}},
    {"tlp": "amber", "distribution": {"member_states": ["MM"], "organizations": ["in-watch"]}},
    {"tlp": "amber+strict", "distribution": {"organizations": ["bd-police"]}},
]
AUTHORS = ["bd.analyst", "in.analyst", "mm.analyst"]
filings = st.lists(
    st.tuples(st.sampled_from(AUTHORS), st.sampled_from(range(len(MARKINGS)))),
    min_size=1,
    max_size=6,
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(reports=filings)
def test_every_reader_of_an_alert_reads_every_report_it_links(
    world: World, clock: Clock, reports: list[tuple[str, int]]
) -> None:
    ids = [file(world, author, clock, **MARKINGS[m])[0] for author, m in reports]
    alert_id = raised(world, found(ids, clock, series=f"series {uuid.uuid4()}"))
    with world.db.session() as s:
        for name in READERS:
            who = world.people[name].principal
            reads_all = all(sharing.can_read(s, who, r) for r in ids)
            try:
                alerts.get(s, who, alert_id)
                reads_alert = True
            except NotFound:
                reads_alert = False
            assert reads_alert == reads_all, name
            if reads_alert:
                assert sorted(alerts.report_ids(s, who, alert_id)) == sorted(set(ids))


def test_readers_follow_the_reports_markings_and_the_registry(world: World, clock: Clock) -> None:
    to_india = file(world, "bd.analyst", clock, 2)  # amber to IN
    alert_id = raised(world, found(to_india, clock))
    assert {"in.analyst", "in.coast"} <= seen_by(world, alert_id)

    world.org("in-new", state="IN")  # a new Indian agency reads amber to IN at once
    world.person("in-new.analyst", "in-new")
    with world.db.session() as s:
        assert alerts.get(s, world.people["in-new.analyst"].principal, alert_id).id == alert_id

    with world.db.session(write=True) as s:  # one report narrowed to its organization
        service.update_report(
            s,
            principal=world.people["bd.analyst"].principal,
            report_id=to_india[0],
            data=ReportUpdate.model_validate({"tlp": "amber+strict", "distribution": {}}),
        )
    assert seen_by(world, alert_id) == {"bd.analyst", "bd.duty", "bd.policy"}
    with world.db.session() as s, pytest.raises(NotFound):
        alerts.get(s, world.people["in-new.analyst"].principal, alert_id)


def test_each_rule_has_its_triage_record_among_what_its_reader_reads(
    world: World, clock: Clock
) -> None:
    green = file(world, "bd.analyst", clock, 1, tlp="green", distribution={})
    noisy = raised(world, found(green, clock, series="a"))
    raised(world, found(green, clock, series="b"))
    strict = file(world, "bd.analyst", clock, 1, tlp="amber+strict", distribution={})
    raised(world, found(strict, clock, rule="ewma"))  # bd-cert's own
    clock.advance(minutes=30)
    with world.db.session(write=True) as s:
        who = world.people["bd.duty"].principal
        alerts.act(s, who, noisy, "close", reason="false-alarm")
    with world.db.session() as s:
        ours = {r.rule: r for r in alerts.triage_record(s, world.people["bd.duty"].principal)}
        theirs = alerts.triage_record(s, world.people["mm.analyst"].principal)
    assert set(ours) == {"weekly", "ewma"}
    weekly = ours["weekly"]
    assert (weekly.raised, weekly.still_open, weekly.closed) == (2, 1, {"false-alarm": 1})
    assert weekly.median_minutes_to_act == 30.0 and weekly.false_alarm_share == 1.0
    assert [r.rule for r in theirs] == ["weekly"]  # an outsider's record holds no ewma alert
