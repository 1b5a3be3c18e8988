"""Jobs on both stores, with workers in this process: the outbox, restarts, retries, schedules."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import text

from rsn import jobs
from rsn.store import Database
from tests.conftest import Clock
from tests.jobs import sample
from tests.jobs.conftest import listed, wait_for

Start = Callable[[], jobs.Workers]


def test_a_job_exists_only_if_its_transaction_commits(
    db: Database, effects: str, start_workers: Start
) -> None:
    start_workers()
    with pytest.raises(RuntimeError), db.session(write=True) as session:
        jobs.enqueue(session, "test.record", {"tag": effects, "n": 1})
        raise RuntimeError("the caller's write fails")
    with db.session(write=True) as session:
        jobs.enqueue(session, "test.record", {"tag": effects, "n": 2})
    wait_for(lambda: [j.state for j in listed(db)] == ["succeeded"])
    assert sample.effects(db, effects).keys() == {2}
    assert sample.effects(db, effects)[2][0] == 1  # ran once
    assert [j.attempts for j in listed(db)] == [1]


def test_a_key_queues_a_logical_job_once_while_it_waits(db: Database, effects: str) -> None:
    args = {"tag": effects, "n": 1}
    with db.session(write=True) as session:
        first = jobs.enqueue(session, "test.record", args, key=f"record:{effects}")
        again = jobs.enqueue(session, "test.record", args, key=f"record:{effects}")
    with db.session(write=True) as session:
        later = jobs.enqueue(session, "test.record", args, key=f"record:{effects}")
        other = jobs.enqueue(session, "test.record", args, key=f"other:{effects}")
    assert first is not None and other is not None
    assert again is None and later is None
    assert len(listed(db)) == 2


def test_a_job_survives_a_restart(db: Database, effects: str, start_workers: Start) -> None:
    start_workers().stop()
    with db.session(write=True) as session:
        jobs.enqueue(session, "test.record", {"tag": effects, "n": 7})
    assert sample.effects(db, effects) == {}
    db.dispose()  # the node goes down; the job waits in its database
    restarted = Database(db.url)
    try:
        running = jobs.workers(restarted, threads=1, stall_after=3)
        running.start()
        try:
            wait_for(lambda: 7 in sample.effects(restarted, effects))
        finally:
            running.stop()
    finally:
        restarted.dispose()
    assert [j.state for j in listed(db)] == ["succeeded"]


def test_a_failing_job_backs_off_then_shows_failed_with_its_last_error(
    db: Database, start_workers: Start, clock: Clock
) -> None:
    start_workers()
    with db.session(write=True) as session:
        jobs.enqueue(session, "test.flaky", {})
    if db.dialect == "sqlite":  # the node's clock: it moves when the test says so
        wait_for(lambda: listed(db)[0].last_error is not None)
        (first,) = listed(db)
        assert (first.state, first.attempts) == ("todo", 1)
        assert first.scheduled_at == clock.now + timedelta(seconds=2)  # backoff 2 ** 1
        clock.advance(seconds=2)
    wait_for(lambda: listed(db)[0].state == "failed")
    (job,) = listed(db)
    assert job.attempts == 2
    assert job.last_error == "RuntimeError: boom on attempt 2"
    assert job.finished_at is not None
    if db.dialect == "postgresql":  # procrastinate's clock is the database's
        with db.engine.connect() as conn:
            first_start = conn.execute(
                text("SELECT min(at) FROM procrastinate_events WHERE type = 'started'")
            ).scalar_one()
        assert job.scheduled_at - first_start >= timedelta(seconds=2)


def test_wait_after_grows_exponentially() -> None:
    spec = jobs.JobDef(name="x", handler=print, backoff=3)
    assert [spec.wait_after(n) for n in (1, 2, 3)] == [3, 9, 27]
    assert jobs.JobDef(name="y", handler=print, backoff=0).wait_after(2) == 0


@pytest.fixture
def ticks(db: Database) -> Iterator[list[str]]:
    """A periodic job of this test's own: every 10 minutes by the node's clock on SQLite,
    every second on PostgreSQL (where the schedule is procrastinate's, on real time)."""
    seen: list[str] = []
    cron = "*/10 * * * *" if db.dialect == "sqlite" else "* * * * * *"
    jobs.define("test.tick", lambda ctx: seen.append(ctx.job_id), retries=0, cron=cron)
    yield seen
    jobs.forget("test.tick")


def test_a_periodic_job_runs_on_its_schedule(
    db: Database, ticks: list[str], start_workers: Start, clock: Clock
) -> None:
    start_workers()
    wait_for(lambda: len(ticks) >= 1)
    if db.dialect == "sqlite":
        assert len(ticks) == 1  # once for the last 10-minute mark, not again until the next
        clock.advance(minutes=10)
    wait_for(lambda: len(ticks) >= 2)
    assert len(set(ticks)) == len(ticks)  # each run is a job of its own
    assert {j.name for j in listed(db)} == {"test.tick"}


def test_a_step_marked_once_applies_once_when_the_job_runs_twice(
    db: Database, effects: str, start_workers: Start
) -> None:
    start_workers()
    with db.session(write=True) as session:
        jobs.enqueue(session, "test.once", {"tag": effects})
    wait_for(lambda: [j.state for j in listed(db)] == ["succeeded"])
    assert listed(db)[0].attempts == 2  # the step was reached twice
    assert sample.effects(db, effects)[0][0] == 1  # its effect applied once
