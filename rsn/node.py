"""A running node: its settings, its database, and the audit chainer beside them."""

from __future__ import annotations

import logging
import threading

from rsn import audit, clock
from rsn.config import Settings
from rsn.store import Database, upgrade

log = logging.getLogger("rsn.node")


class Chainer:
    """Links committed audit records soon after each request, off the request's path.

    A poke starts a short wait (`settle`) before the chaining transaction, so records
    appended by the requests of that moment are linked together: under steady reads,
    one transaction a request (a quarter of a busy server's CPU, and a commit each
    on PostgreSQL) becomes a few a second.
    """

    def __init__(self, db: Database, interval: float = 2.0, settle: float = 0.25) -> None:
        self.db = db
        self.interval = interval
        self.settle = settle
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rsn-audit-chainer", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        audit.chain(self.db)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._wake.wait(self.interval):
                self._stop.wait(self.settle)
            self._wake.clear()
            try:
                audit.chain(self.db)
            except Exception:  # the next wake retries; the tail stays visible to verify
                log.exception("audit chaining failed; will retry")


class Node:
    def __init__(self, settings: Settings, *, migrate: bool = True) -> None:
        self.settings = settings
        if settings.clock_offset:
            clock.set_offset(clock.parse_offset(settings.clock_offset))
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if migrate:
            upgrade(settings.database_url)
        self.db = Database(settings.database_url)
        self.chainer = Chainer(self.db)

    def close(self) -> None:
        self.chainer.stop()
        self.db.dispose()
