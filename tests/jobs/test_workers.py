"""Real `rsn worker` processes on one store: they share the work, and survive each other.

Marked slow: each starts processes and waits out a dead worker's silence (3 s here,
`job_stall_after`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from rsn import jobs
from rsn.config import Settings
from rsn.node import open_database
from rsn.store import Database
from tests.jobs import sample
from tests.jobs.conftest import listed, wait_for

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture
def config(db: Database, tmp_path: Path) -> Path:
    """The node's configuration for its workers; its audit keys made once, up front."""
    path = tmp_path / "rsn.toml"
    path.write_text(
        f'[node]\ndatabase_url = "{db.url}"\ndata_dir = "{tmp_path}"\n'
        'job_workers = 2\njob_stall_after = 3\njob_modules = ["tests.jobs.sample"]\n'
    )
    open_database(Settings.from_file(path)).dispose()
    return path


@contextmanager
def rsn_worker(config: Path, name: str) -> Iterator[subprocess.Popen[bytes]]:
    """`rsn worker --config` in a process of its own, ready to take jobs."""
    log = config.parent / f"{name}.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rsn.cli", "worker", "--config", str(config)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: proc.poll() is not None or "Running" in log.read_text())
        assert proc.poll() is None, log.read_text()
        yield proc
    finally:
        proc.terminate()
        try:
            assert proc.wait(timeout=20) == 0, log.read_text()  # a clean stop
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise


def _registered(db: Database, count: int) -> bool:
    """On PostgreSQL, whether `count` procrastinate workers have registered; else True."""
    if db.dialect != "postgresql":
        return True
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM procrastinate_workers")).scalar() == count


def _held(db: Database) -> list[jobs.JobView]:
    return [j for j in listed(db) if j.name == "test.hold"]


def test_two_workers_share_200_jobs_and_apply_each_once(
    db: Database, config: Path, effects: str
) -> None:
    with rsn_worker(config, "a") as a, rsn_worker(config, "b") as b:
        wait_for(lambda: _registered(db, 2))
        with db.session(write=True) as session:
            for n in range(200):
                jobs.enqueue(session, "test.record", {"tag": effects, "n": n, "pause": 0.01})
        wait_for(lambda: len(sample.effects(db, effects)) == 200)
        wait_for(
            lambda: [j.state for j in listed(db) if j.name == "test.record"] == ["succeeded"] * 200
        )
    applied = sample.effects(db, effects)
    assert sorted(applied) == list(range(200))
    assert {runs for runs, _pid in applied.values()} == {1}  # each job took effect once
    assert {pid for _runs, pid in applied.values()} == {a.pid, b.pid}  # both took a share


def test_a_job_held_by_a_killed_worker_is_finished_by_another(
    db: Database, config: Path, effects: str
) -> None:
    hold = config.parent / "hold"
    hold.touch()
    with rsn_worker(config, "a") as a:
        with db.session(write=True) as session:
            jobs.enqueue(session, "test.hold", {"tag": effects, "hold": str(hold)})
        wait_for(lambda: -1 in sample.effects(db, effects))  # attempt 1 runs, in a
        assert sample.effects(db, effects)[-1][1] == a.pid
        with rsn_worker(config, "b") as b:
            a.send_signal(signal.SIGKILL)  # mid-job: no clean-up, no goodbye
            a.wait()
            hold.unlink()
            wait_for(lambda: 0 in sample.effects(db, effects))
            wait_for(lambda: [j.state for j in _held(db)] == ["succeeded"])
        a.returncode = 0  # killed on purpose; the fixture's clean-stop check is for b
    applied = sample.effects(db, effects)
    assert applied[0] == (1, b.pid)  # the effect, once, by the survivor
    assert applied[-2][1] == b.pid  # its second attempt
    (held,) = _held(db)
    assert held.attempts == 2
    assert held.last_error is not None
    assert held.last_error.endswith("stopped while running it")  # and it says so
