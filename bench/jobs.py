"""Background jobs: throughput and enqueue-to-start latency, on SQLite and PostgreSQL.

    .venv/bin/python bench/jobs.py [--store sqlite|postgresql|both] [--jobs 2000]
                                   [--latency 100] [--threads 1,4] [--pg-url URL]

In a scratch store migrated like a node's, with workers in this process (as
`rsn serve` runs them):

1. throughput: `--jobs` no-op jobs enqueued in one transaction, then workers started
   with each `--threads` count; jobs/s from the workers' start to the last job
   recorded `succeeded` (the claim, the handler and the finishing write included);
2. latency: `--latency` jobs enqueued one at a time, each in its own committed
   transaction, to idle workers (1 thread); the time from the commit returning to the
   handler starting. The enqueuer is in the workers' process; a job enqueued from
   another process wakes a SQLite worker at its next poll (`rsn.jobs.local.POLL`,
   0.25 s), a PostgreSQL worker by LISTEN/NOTIFY as here;
3. latency across processes: the same, run by an `rsn worker` process, enqueued at
   random moments (so that SQLite's poll is met at any phase).

Prints one table: per store, jobs/s per thread count, and latency p50/p95/max.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

from rich.table import Table
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reports import DEFAULT_PG_URL, console, percentile, scratch_store  # bench/reports.py

from rsn import jobs
from rsn.store import Database, upgrade

STARTED: dict[int, float] = {}
SEEN = threading.Condition()


def _noop(_ctx: jobs.JobContext) -> None:
    return None


def _mark(ctx: jobs.JobContext) -> None:
    at = time.perf_counter()
    with SEEN:
        STARTED[int(ctx.args["n"])] = at
        SEEN.notify_all()


def _stamp(ctx: jobs.JobContext) -> None:
    """In a worker process: the wall clock at the handler's start, for the enqueuer to read."""
    at = time.time()  # two processes: only the wall clock is shared
    with ctx.db.session(write=True) as session:
        session.execute(
            text("INSERT INTO bench_stamps (n, at) VALUES (:n, :at)"),
            {"n": ctx.args["n"], "at": at},
        )


jobs.define("bench.noop", _noop, retries=0)
jobs.define("bench.mark", _mark, retries=0)
jobs.define("bench.stamp", _stamp, retries=0)


def _succeeded(db: Database) -> int:
    table = "procrastinate_jobs WHERE status = 'succeeded'"
    if db.dialect == "sqlite":
        table = "jobs WHERE state = 'succeeded'"
    with db.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _empty(db: Database) -> None:
    with db.engine.begin() as conn:
        if db.dialect == "sqlite":
            conn.execute(text("DELETE FROM jobs"))
        else:
            conn.execute(text("TRUNCATE procrastinate_jobs, procrastinate_events CASCADE"))


def throughput(db: Database, n: int, threads: int) -> float:
    _empty(db)
    with db.session(write=True) as session:
        for _ in range(n):
            jobs.enqueue(session, "bench.noop", {})
    running = jobs.workers(db, threads=threads, stall_after=30)
    began = time.perf_counter()
    running.start()
    try:
        while _succeeded(db) < n:
            time.sleep(0.02)
        took = time.perf_counter() - began
    finally:
        running.stop()
    return n / took


def latency(db: Database, n: int) -> list[float]:
    _empty(db)
    STARTED.clear()
    running = jobs.workers(db, threads=1, stall_after=30)
    running.start()
    waits = []
    try:
        time.sleep(1.0)  # let the worker settle into waiting
        for i in range(n):
            with db.session(write=True) as session:
                jobs.enqueue(session, "bench.mark", {"n": i})
            committed = time.perf_counter()
            with SEEN:
                SEEN.wait_for(lambda i=i: i in STARTED, timeout=30)
            waits.append(STARTED[i] - committed)
            time.sleep(0.02)
    finally:
        running.stop()
    return waits


def latency_across(db: Database, url: str, home: Path, n: int) -> list[float]:
    """Enqueued here, run by an `rsn worker` process (as a request's job in `rsn serve`
    would be by a separate worker)."""
    _empty(db)
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_stamps (n INTEGER, at FLOAT)"))
    config = home / "rsn.toml"
    config.write_text(
        f'[node]\ndatabase_url = "{url}"\ndata_dir = "{home}"\njob_modules = ["jobs"]\n'
    )
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": f"{root / 'bench'}:{root}"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "rsn.cli", "worker", "--config", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    waits = []
    try:
        time.sleep(4.0)  # the worker starts and settles
        for i in range(n):
            with db.session(write=True) as session:
                jobs.enqueue(session, "bench.stamp", {"n": i})
            committed = time.time()
            while (at := _stamp_of(db, i)) is None:
                time.sleep(0.002)
            waits.append(at - committed)
            time.sleep(random.uniform(0.02, 0.3))
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    return waits


def _stamp_of(db: Database, n: int) -> float | None:
    with db.engine.connect() as conn:
        row = conn.execute(text("SELECT at FROM bench_stamps WHERE n = :n"), {"n": n}).first()
    return None if row is None else float(row.at)


def _ms(waits: list[float]) -> str:
    return " / ".join(f"{percentile(waits, p) * 1000:.1f}" for p in (0.5, 0.95, 1.0)) + " ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--store", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--latency", type=int, default=100)
    parser.add_argument("--threads", default="1,4")
    args = parser.parse_args()
    counts = [int(t) for t in args.threads.split(",")]
    stores = ("sqlite", "postgresql") if args.store == "both" else (args.store,)
    table = Table(title=f"Background jobs ({args.jobs} no-op jobs; {args.latency} latencies)")
    table.add_column("store")
    for t in counts:
        table.add_column(f"jobs/s, {t} thread{'s' if t > 1 else ''}", justify="right")
    table.add_column("enqueue→start, same process\np50 / p95 / max", justify="right")
    table.add_column("enqueue→start, `rsn worker`\np50 / p95 / max", justify="right")
    for store in stores:
        with scratch_store(store, args.pg_url, keep=False) as (url, home):
            upgrade(url)
            db = Database(url)
            try:
                rates = [throughput(db, args.jobs, t) for t in counts]
                here = latency(db, args.latency)
                there = latency_across(db, url, home, args.latency)
            finally:
                db.dispose()
        table.add_row(store, *(f"{r:,.0f}" for r in rates), _ms(here), _ms(there))
    console.print(table)


if __name__ == "__main__":
    main()
