"""Workers for a node: threads inside `rsn serve`, or a process of their own (`rsn worker`)."""

from __future__ import annotations

import signal
import threading
from typing import Protocol

from rsn.jobs.local import LocalWorkers
from rsn.jobs.pg import PgWorkers
from rsn.store import Database

STALL_AFTER = 30.0


class Workers(Protocol):
    def start(self) -> None: ...
    def stop(self, timeout: float = 30.0) -> None: ...


def workers(db: Database, *, threads: int = 1, stall_after: float = STALL_AFTER) -> Workers:
    """Workers for `db`'s store, not started; every job defined so far is theirs to run."""
    kind = PgWorkers if db.dialect == "postgresql" else LocalWorkers
    return kind(db, threads=threads, stall_after=stall_after)


def run_until_signalled(running: Workers) -> None:
    """Run until SIGTERM or SIGINT, then stop cleanly: what `rsn worker` does."""
    done = threading.Event()
    previous = {s: signal.signal(s, lambda *_: done.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    running.start()
    try:
        done.wait()
    finally:
        running.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
