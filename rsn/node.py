"""A running node: its settings, its database, and the audit chainer beside them."""

from __future__ import annotations

import fcntl
import importlib
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rsn import audit, clock, jobs, notify, sharing
from rsn.config import Settings
from rsn.errors import Conflict
from rsn.interop import staged
from rsn.reports import tallies
from rsn.sharing import Principal
from rsn.store import Database, upgrade
from rsn.warning import detect

log = logging.getLogger("rsn.node")


class Chainer:
    """Links committed audit records soon after each request, off the request's path.

    A poke starts a short wait (`settle`) before the chaining transaction, so records
    appended by the requests of that moment are linked together: under steady reads,
    one transaction a request (a quarter of a busy server's CPU, and a commit each
    on PostgreSQL) becomes a few a second.
    """

    def __init__(
        self,
        db: Database,
        interval: float = 2.0,
        settle: float = 0.25,
        checkpoint_every: float = 60.0,
    ) -> None:
        self.db = db
        self.interval = interval
        self.settle = settle
        self.checkpoint_every = checkpoint_every
        self._signed_at: float | None = None
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
        audit.checkpoint(self.db)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._wake.wait(self.interval):
                self._stop.wait(self.settle)
            self._wake.clear()
            try:
                self._link()
            except Exception:  # the next wake retries; the tail stays visible to verify
                log.exception("audit chaining failed; will retry")

    def _link(self) -> None:
        """Link the tail; sign a checkpoint after a batch, at most once a `checkpoint_every`."""
        if not audit.chain(self.db):
            return
        now = time.monotonic()
        if self._signed_at is None or now - self._signed_at >= self.checkpoint_every:
            audit.checkpoint(self.db)
            self._signed_at = now


SERVING_LOCK = "rsn.serving.lock"
READ_RECORD_WAIT = 60.0  # seconds a read's disclosure record may wait for the write lock


def _lock_file(data_dir: Path) -> int:
    return os.open(data_dir / SERVING_LOCK, os.O_RDWR | os.O_CREAT, 0o600)


@contextmanager
def serving(data_dir: Path) -> Iterator[None]:
    """Held, shared, for as long as a node serves from `data_dir` (every worker holds it).

    A node seals audit records with the key files of its data directory as it read
    them at start; replacing them under a running node (key rotation, a restore)
    would leave it sealing with retired keys, so those commands wait for `stopped`.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = _lock_file(data_dir)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing the file releases the lock


@contextmanager
def stopped(data_dir: Path, *, doing: str) -> Iterator[None]:
    """Exclusive use of `data_dir`: refused (409) while any node serves from it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = _lock_file(data_dir)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict(f"A node is serving from {data_dir}: stop it before {doing}.") from None
        yield
    finally:
        os.close(fd)


def open_database(settings: Settings) -> Database:
    """The node's database, its records sealed with the key files of its data directory.

    When the keys are made (the node's first start, or its first since an upgrade that
    brought them), the log written so far is sealed with them; should that fail, the
    new key files go again, so the next start seals it.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url)
    keys, created = audit.load_or_create(settings.data_dir)
    audit.attach(db, keys)
    if created:
        try:
            sealed = audit.adopt(db)
        except Exception:
            audit.keys.forget(settings.data_dir)
            db.dispose()
            raise
        log.info("audit keys made in %s; %d earlier records sealed", settings.data_dir, sealed)
    return db


def _discard_stale(ctx: jobs.JobContext) -> None:
    staged.discard_stale(ctx.db)


def define_jobs(settings: Settings) -> None:
    """The node's own jobs, and those of the modules its settings name (`job_modules`).

    Every process that runs workers (`rsn serve`, `rsn worker`) calls this, so each
    knows every job any other may enqueue.
    """
    # What an import cut short by a crash left, removed while the node runs (at start too).
    jobs.define("imports.discard_stale", _discard_stale, retries=0, cron="*/10 * * * *")
    # New reports matched against the inbox subscriptions (enqueued as they are filed).
    notify.matching.define_jobs(settings.digest_hour)
    # Webhooks and e-mails, and the hourly look for digests due.
    notify.delivery.define_jobs(settings)
    # Early warning: the series new reports touch, at once; every series, daily.
    detect.define_jobs()
    for module in settings.job_modules:
        importlib.import_module(module)


class Node:
    def __init__(self, settings: Settings, *, migrate: bool = True) -> None:
        self.settings = settings
        if settings.clock_offset:
            clock.set_offset(clock.parse_offset(settings.clock_offset))
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if migrate:
            upgrade(settings.database_url)
        self.db = open_database(settings)
        staged.discard_stale(self.db)  # what an import cut short by a crash left, open to nobody
        tallies.recount_if_stale(self.db)  # a store upgraded with reports in it: count them
        self.chainer = Chainer(self.db)
        # Whatever appends to the audit log, on any path, wakes the chainer once it commits.
        self.db.bus.after_commit(audit.AuditRecorded, lambda _: self.chainer.poke())
        self.workers: jobs.Workers | None = None
        define_jobs(settings)  # so what this node enqueues carries its settings
        # How this node's webhooks and e-mails go out (checked when a subscription is made).
        self.outbound = notify.delivery.Outbound.of(settings)

    def start_jobs(self) -> None:
        """Run background jobs in this process (`job_workers` threads; none when 0)."""
        if self.settings.job_workers == 0 or self.workers is not None:
            return
        define_jobs(self.settings)
        self.workers = jobs.workers(
            self.db, threads=self.settings.job_workers, stall_after=self.settings.job_stall_after
        )
        self.workers.start()

    def stop_jobs(self) -> None:
        """Let running jobs finish, then stop; a job cut off later runs again elsewhere."""
        if self.workers is not None:
            self.workers.stop()
            self.workers = None

    def disclose(self, principal: Principal, item_ids: Iterable[str], action: str) -> None:
        """Record what a read answer disclosed, in a write of its own, only when it did.

        The answer may not go without its record, and a read should not fail because
        the store is busy: so this write waits as long as an import's publishing
        transaction may take (`READ_RECORD_WAIT`), where other writers give up sooner.
        """
        ids = list(item_ids)
        if not ids:
            return
        with self.db.session(write=True, wait=READ_RECORD_WAIT) as session:
            sharing.disclose(session, principal=principal, item_ids=ids, action=action)

    def close(self) -> None:
        self.stop_jobs()
        self.chainer.stop()
        self.db.dispose()
