"""The event seam: subscribers during the transaction, after the commit, never after a rollback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rsn import audit, events
from rsn.reports import service
from rsn.reports.events import ReportChanged, ReportFiled, ReportRevoked
from rsn.reports.models import Report
from rsn.reports.schemas import ReportCreate
from rsn.store import Database
from tests.factories import World, api_for, bimstec_world, report_payload


@dataclass(frozen=True)
class Happened(events.Event):
    name = "test.happened"
    what: str


@dataclass(frozen=True)
class MustBeHeard(events.Event):
    name = "test.must_be_heard"
    required = frozenset({"tests.nowhere"})


@pytest.fixture
def heard() -> Iterator[list[str]]:
    """What the subscribers of `Happened` saw, during (`during:…`) and after commit (`after:…`)."""
    seen: list[str] = []

    def during(session: Session, happened: Happened) -> None:
        seen.append(f"during:{happened.what}:{session.in_transaction()}")

    def after(happened: Happened) -> None:
        seen.append(f"after:{happened.what}")

    events.during(Happened)(during)
    events.after_commit(Happened, after)
    yield seen
    events.unsubscribe(Happened, during)
    events.unsubscribe(Happened, after)


def test_after_commit_runs_once_committed_and_never_after_a_rollback(
    db: Database, heard: list[str]
) -> None:
    with db.session(write=True) as s:
        events.publish(s, Happened("kept"))
        assert heard == ["during:kept:True"]  # the after-commit handler waits
    assert heard == ["during:kept:True", "after:kept"]
    heard.clear()
    with pytest.raises(RuntimeError), db.session(write=True) as s:
        events.publish(s, Happened("lost"))
        raise RuntimeError("the request failed")
    assert heard == ["during:lost:True"]
    with db.session(write=True):
        pass
    assert heard == ["during:lost:True"]  # nothing left pending for the next transaction


def test_a_required_subscriber_that_is_missing_refuses_the_publish(db: Database) -> None:
    with pytest.raises(RuntimeError, match=r"tests\.nowhere"), db.session(write=True) as s:
        events.publish(s, MustBeHeard())


def test_a_failing_after_commit_handler_is_logged_and_the_others_still_run(
    db: Database, heard: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_: Happened) -> None:
        raise ValueError("broken handler")

    db.bus.after_commit(Happened, broken)
    db.bus.after_commit(Happened, lambda h: heard.append(f"bus:{h.what}"))
    with caplog.at_level(logging.ERROR, "rsn.events"), db.session(write=True) as s:
        events.publish(s, Happened("x"))
    assert heard == ["during:x:True", "after:x", "bus:x"]
    assert "broken handler" in caplog.text


def test_a_database_bus_hears_only_its_own_database(db: Database, tmp_path: object) -> None:
    other = Database("sqlite://")
    woken: list[str] = []
    other.bus.after_commit(audit.AuditRecorded, lambda _: woken.append("other"))
    db.bus.after_commit(audit.AuditRecorded, lambda _: woken.append("mine"))
    with db.session(write=True) as s:
        audit.record(s, actor="test", action="test.wake")
    assert woken == ["mine"]
    other.dispose()


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


def test_report_events_say_what_happened_with_ids_only(world: World) -> None:
    seen: list[tuple[str, tuple[str, ...]]] = []

    def note(_: Session, happened: ReportFiled | ReportChanged | ReportRevoked) -> None:
        seen.append((happened.name, happened.report_ids))

    for kind in (ReportFiled, ReportChanged, ReportRevoked):
        events.during(kind)(note)
    try:
        analyst = world.people["bd.analyst"].principal
        with world.db.session(write=True) as s:
            rid = service.create(
                s, principal=analyst, data=ReportCreate.model_validate(report_payload())
            )
        with world.db.session(write=True) as s:
            service.revoke(s, principal=analyst, report_id=rid, reason="Filed in error, sorry.")
        with pytest.raises(RuntimeError), world.db.session(write=True) as s:
            service.create(s, principal=analyst, data=ReportCreate.model_validate(report_payload()))
            raise RuntimeError("rolled back")
    finally:
        for kind in (ReportFiled, ReportChanged, ReportRevoked):
            events.unsubscribe(kind, note)
    assert seen[:2] == [("report.filed", (rid,)), ("report.revoked", (rid,))]
    with world.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Report)) == 1


def test_any_audited_request_wakes_the_chainer_without_the_face_asking(
    world: World, tmp_path: Path
) -> None:
    api = api_for(world.db, tmp_path)
    chainer = api.app.state.node.chainer
    chainer._wake.clear()
    assert api.get("/api/v1/reports", as_=world.people["in.analyst"]).status_code == 200
    assert not chainer._wake.is_set()  # nothing was recorded: nothing to link
    answer = api.post("/api/v1/reports", as_=world.people["bd.analyst"], json=report_payload())
    assert answer.status_code == 201
    assert chainer._wake.is_set()
