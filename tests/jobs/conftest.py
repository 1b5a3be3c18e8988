"""Fixtures for the jobs' tests: the effects table, workers in this process, waiting."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from rsn import jobs
from rsn.store import Database
from tests.jobs import sample


@pytest.fixture(autouse=True)
def only_these_schedules() -> Iterator[None]:
    """Leave out periodic jobs that other tests defined (the node's own clean-up).

    Workers run every periodic job defined in the process; one defined by an earlier
    test module (`rsn.node.define_jobs`) would run beside these tests' own and be
    counted with them.
    """
    saved = {job.name: job for job in jobs.defined()}
    for name, job in saved.items():
        if job.cron and not name.startswith("test."):
            jobs.forget(name)
    yield
    current = {j.name for j in jobs.defined()}
    for name, job in saved.items():
        if name not in current:
            jobs.define(name, job.handler, retries=job.retries, backoff=job.backoff, cron=job.cron)


@pytest.fixture
def effects(db: Database) -> Iterator[str]:
    """The effects table on this test's store, and a tag of this test's own."""
    sample.make_table(db)
    yield uuid.uuid4().hex[:12]
    sample.drop_table(db)


@pytest.fixture
def start_workers(db: Database) -> Iterator[Callable[[], jobs.Workers]]:
    """Start workers in this process (each call: a new set), stopped when the test ends."""
    started: list[jobs.Workers] = []

    def start() -> jobs.Workers:
        running = jobs.workers(db, threads=2, stall_after=3)
        running.start()
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


def wait_for(what: Callable[[], object], *, timeout: float = 60) -> None:
    """Until `what()` is true; the timeout only keeps a broken test from hanging."""
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)


def listed(db: Database) -> list[jobs.JobView]:
    with db.session() as session:
        return jobs.get_all(session, limit=500)


def run_jobs(db: Database) -> None:
    """Run every queued job with the node's workers, until none waits; none may fail."""
    running = jobs.workers(db, threads=1, stall_after=3)
    running.start()
    try:
        wait_for(lambda: all(j.state in {"succeeded", "failed"} for j in listed(db)))
    finally:
        running.stop()
    assert [j.last_error for j in listed(db) if j.state == "failed"] == []
