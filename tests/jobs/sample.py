"""Jobs for the tests, defined on import: by the test process and by `rsn worker`
processes started with `job_modules = ["tests.jobs.sample"]`.

Each leaves its effect in `test_job_effects`, a table the `effects` fixture makes and
drops: one row per (tag, n), `runs` counting how many times the effect was applied.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import text

from rsn import jobs
from rsn.store import Database

TABLE = "test_job_effects"
_UPSERT = text(
    f"INSERT INTO {TABLE} (tag, n, pid, runs) VALUES (:tag, :n, :pid, 1)"
    f" ON CONFLICT (tag, n) DO UPDATE SET runs = {TABLE}.runs + 1"
)


def make_table(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (tag VARCHAR(40) NOT NULL, n INTEGER NOT NULL,"
            " pid INTEGER NOT NULL, runs INTEGER NOT NULL, PRIMARY KEY (tag, n))"
        )


def drop_table(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {TABLE}")


def effects(db: Database, tag: str) -> dict[int, tuple[int, int]]:
    """n -> (runs, pid of the last process that applied it)."""
    with db.engine.connect() as conn:
        rows = conn.execute(text(f"SELECT n, runs, pid FROM {TABLE} WHERE tag = :t"), {"t": tag})
        return {r.n: (r.runs, r.pid) for r in rows}


def _apply(db: Database, tag: str, n: int) -> None:
    with db.session(write=True, wait=60) as session:
        session.execute(_UPSERT, {"tag": tag, "n": n, "pid": os.getpid()})


@jobs.job("test.record", retries=0)
def record(ctx: jobs.JobContext) -> None:
    """Apply effect n of tag, after `pause` seconds (so that several workers share them)."""
    time.sleep(float(ctx.args.get("pause", 0)))
    _apply(ctx.db, ctx.args["tag"], int(ctx.args["n"]))


@jobs.job("test.hold", retries=3, backoff=0)
def hold(ctx: jobs.JobContext) -> None:
    """Note the attempt (n = -attempt), wait while the `hold` file exists, then apply n = 0."""
    _apply(ctx.db, ctx.args["tag"], -ctx.attempt)
    deadline = time.monotonic() + 120
    while Path(ctx.args["hold"]).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    _apply(ctx.db, ctx.args["tag"], 0)


@jobs.job("test.flaky", retries=1, backoff=2)
def flaky(ctx: jobs.JobContext) -> None:
    """Always fails, naming its attempt."""
    raise RuntimeError(f"boom on attempt {ctx.attempt}")


@jobs.job("test.until_fixed", retries=0)
def until_fixed(ctx: jobs.JobContext) -> None:
    """Fails while the `broken` file exists; then applies effect n."""
    if Path(ctx.args["broken"]).exists():
        raise RuntimeError(f"{ctx.args['broken']} is still there")
    _apply(ctx.db, ctx.args["tag"], int(ctx.args["n"]))


@jobs.job("test.once", retries=2, backoff=0)
def apply_once(ctx: jobs.JobContext) -> None:
    """Applies n = 0 behind `jobs.once`, then, on its first attempt, fails after the commit
    (as when a worker dies between a job's effect and its being recorded done)."""
    with ctx.db.session(write=True, wait=60) as session:
        if jobs.once(session, ctx):
            session.execute(_UPSERT, {"tag": ctx.args["tag"], "n": 0, "pid": os.getpid()})
    if ctx.attempt == 1:
        raise RuntimeError("lost after the effect committed")
