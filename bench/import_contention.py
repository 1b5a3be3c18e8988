"""Other users during a long import: reads' and filings' latency, against a quiet node.

    .venv/bin/python bench/import_contention.py [--store sqlite|postgresql|both]
                                                [--rows 200000] [--quiet-seconds 15]
                                                [--no-single]

Builds a small BIMSTEC node in a scratch store, serves it with `rsn serve` on
127.0.0.1, and runs three readers (`GET /api/v1/reports?limit=20`, each with its own
token) and one filer (`POST /api/v1/reports`, backing off 0.2 s on a 503) against it:

1. quiet: nothing else happens, for `--quiet-seconds`;
2. staged import: `POST /api/v1/import` of a CSV file of `--rows` rows, as it runs now
   (checked, written in chunks open to nobody, published at once);
3. one transaction (the peer: how imports ran before): the same file imported by
   `flows.import_stream` in one write transaction, from this process, beside the
   server. Left out with `--no-single`.

Prints, per store and phase, the readers' and the filer's p50/p95/max latency,
their status codes, and how long the import took.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reports import DEFAULT_PG_URL, console, percentile, scratch_store  # bench/reports.py

from rsn import clock
from rsn.store import Database, upgrade
from tests.factories import World, bimstec_world, report_payload, stamp
from tests.served import serve

READERS = ("in.coast", "mm.analyst", "bd.police")


def csv_file(rows: int, title: str) -> bytes:
    when = stamp(clock.now() - timedelta(days=3))
    head = "title,category,country,occurred_at,severity,confidence,tlp,observables\r\n"
    lines = (
        f"{title} {n},cyber.attack,BD,{when},medium,50,green,"
        f"ipv4-addr:10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}\r\n"
        for n in range(rows)
    )
    return (head + "".join(lines)).encode()


@dataclass
class Phase:
    name: str
    seconds: float = 0.0
    reads: list[float] = field(default_factory=list)
    filings: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    note: str = ""


@contextmanager
def traffic(url: str, world: World, phase: Phase) -> Iterator[None]:
    """Readers and a filer hitting the node until the block ends."""
    done = threading.Event()

    def read_loop(who: str) -> None:
        with httpx.Client(base_url=url, headers=world.people[who].auth, timeout=600) as client:
            while not done.is_set():
                started = time.monotonic()
                answer = client.get("/api/v1/reports?limit=20")
                phase.reads.append(time.monotonic() - started)
                phase.statuses[f"read {answer.status_code}"] += 1

    def file_loop() -> None:
        auth = world.people["in.analyst"].auth
        with httpx.Client(base_url=url, headers=auth, timeout=600) as client:
            n = 0
            while not done.is_set():
                n += 1
                started = time.monotonic()
                answer = client.post("/api/v1/reports", json=report_payload(title=f"Meanwhile {n}"))
                phase.filings.append(time.monotonic() - started)
                phase.statuses[f"file {answer.status_code}"] += 1
                if answer.status_code == 503:
                    time.sleep(0.2)

    threads = [threading.Thread(target=read_loop, args=(who,)) for who in READERS]
    threads.append(threading.Thread(target=file_loop))
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        done.set()
        for thread in threads:
            thread.join()


def timed(phase: Phase, work: Callable[[], str]) -> None:
    started = time.monotonic()
    phase.note = work()
    phase.seconds = time.monotonic() - started


def run_store(store: str, pg_url: str, rows: int, quiet: float, single: bool) -> list[Phase]:
    body = csv_file(rows, "Staged row")
    phases: list[Phase] = []
    with scratch_store(store, pg_url, keep=False) as (url, home):
        upgrade(url)
        db = Database(url)
        world = bimstec_world(db)
        with serve(db, home) as served:
            phase = Phase("quiet")
            with traffic(served, world, phase):
                time.sleep(quiet)
            phase.seconds = quiet
            phases.append(phase)

            phase = Phase("staged import (now)")
            auth = world.people["bd.analyst"].auth

            def staged_import() -> str:
                with httpx.Client(base_url=served, headers=auth, timeout=3600) as client:
                    answer = client.post("/api/v1/import?format=csv", content=body)
                return f"{answer.status_code}, created {answer.json().get('created')}"

            with traffic(served, world, phase):
                timed(phase, staged_import)
            phases.append(phase)

            if single:
                phase = Phase("one transaction (before)")
                single_file = home / "single.csv"
                single_file.write_bytes(csv_file(rows, "Single row"))
                user = world.people["bd.analyst"].username
                with traffic(served, world, phase):
                    timed(phase, lambda: one_transaction(url, user, single_file))
                phases.append(phase)
        db.dispose()
    return phases


ONE_TRANSACTION = """
import sys
from pathlib import Path
from sqlalchemy import select
from rsn import sharing
from rsn.interop import flows
from rsn.registry.models import User
from rsn.store import Database
from rsn.store.db import LONG_WAIT

db = Database(sys.argv[1])
with db.session(write=True, wait=LONG_WAIT) as session:
    user = session.scalars(select(User).where(User.username == sys.argv[2])).one()
    with Path(sys.argv[3]).open("rb") as stream:
        result = flows.import_stream(
            session, principal=sharing.for_user(session, user), stream=stream, format="csv"
        )
print(result.summary.created)
"""


def one_transaction(url: str, username: str, file: Path) -> str:
    """The file imported as before: one write transaction, in a process of its own."""
    done = subprocess.run(
        [sys.executable, "-c", ONE_TRANSACTION, url, username, str(file)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    return f"created {done.stdout.strip()}"


def ms(samples: list[float], p: float) -> str:
    return f"{percentile(samples, p) * 1000:.1f}" if samples else "-"


def report(store: str, rows: int, phases: list[Phase]) -> None:
    table = Table(title=f"{store}: other users during an import of {rows:,} rows")
    for column in (
        "phase",
        "import s",
        "reads",
        "read p50/p95/max ms",
        "filings",
        "filing p50/p95/max ms",
        "answers",
    ):
        table.add_column(column)
    for phase in phases:
        table.add_row(
            phase.name,
            f"{phase.seconds:.1f}" + (f" ({phase.note})" if phase.note else ""),
            str(len(phase.reads)),
            f"{ms(phase.reads, 0.5)}/{ms(phase.reads, 0.95)}/{ms(phase.reads, 1.0)}",
            str(len(phase.filings)),
            f"{ms(phase.filings, 0.5)}/{ms(phase.filings, 0.95)}/{ms(phase.filings, 1.0)}",
            ", ".join(f"{k}: {v}" for k, v in sorted(phase.statuses.items())),
        )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--quiet-seconds", type=float, default=15.0)
    parser.add_argument("--no-single", action="store_true")
    args = parser.parse_args()
    stores = ("sqlite", "postgresql") if args.store == "both" else (args.store,)
    for store in stores:
        phases = run_store(store, args.pg_url, args.rows, args.quiet_seconds, not args.no_single)
        report(store, args.rows, phases)


if __name__ == "__main__":
    main()
