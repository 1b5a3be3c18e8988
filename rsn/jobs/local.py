"""The SQLite runner: a queue in the node's own `jobs` table, run by worker threads.

procrastinate runs on PostgreSQL only (it relies on `SKIP LOCKED`, LISTEN/NOTIFY and
PL/pgSQL); this keeps its semantics on SQLite with the least code: a writer claims the
oldest due job under SQLite's one write lock (so two workers, threads or processes,
never claim the same job), the holder's heartbeat keeps it, and a job whose holder fell
silent for `stall_after` seconds is claimed again by whichever worker looks next.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime, timedelta
from typing import Any

from croniter import croniter
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from rsn.errors import Busy, Conflict, NotFound
from rsn.jobs import registry
from rsn.jobs.models import QueuedJob
from rsn.jobs.registry import JobContext, JobView, describe
from rsn.store import Database, new_id, utcnow

log = logging.getLogger("rsn.jobs")

POLL = 0.25  # seconds between two looks (reads) at the queue when it was empty
CLAIM_LOOK = 10  # due jobs read per claim: past the first, only worn-out ones are skipped
_nudges: set[threading.Event] = set()  # this process's idle workers, woken by a commit


def nudge() -> None:
    """A job was committed in this process: wake its workers rather than wait for a poll."""
    for wake in list(_nudges):
        wake.set()


def enqueue(
    session: Session, name: str, args: dict[str, Any], key: str | None, run_at: datetime | None
) -> str | None:
    if key is not None and _waiting(session, key):
        return None  # writers take SQLite's lock in turn, so this look cannot race
    now = utcnow()
    job_id = new_id()
    session.add(
        QueuedJob(
            id=job_id,
            name=name,
            args=args,
            key=key,
            state="todo",
            attempts=0,
            created_at=now,
            run_at=run_at or now,
        )
    )
    return job_id


def _waiting(session: Session, key: str) -> bool:
    found = select(QueuedJob.id).where(QueuedJob.key == key, QueuedJob.state == "todo")
    return session.scalar(found.limit(1)) is not None


def get_all(session: Session, limit: int) -> list[JobView]:
    rows = session.scalars(select(QueuedJob).order_by(QueuedJob.created_at.desc()).limit(limit))
    return [
        JobView(
            id=r.id,
            name=r.name,
            state=r.state,
            attempts=r.attempts,
            last_error=r.last_error,
            scheduled_at=r.run_at,
            started_at=r.started_at,
            finished_at=r.finished_at,
        )
        for r in rows
    ]


def retry(session: Session, job_id: str) -> None:
    job = session.get(QueuedJob, job_id)
    if job is None:
        raise NotFound("job", job_id)
    if job.state != "failed":
        raise Conflict(f"job '{job_id}' is {job.state}: only a failed job can be retried.")
    job.state, job.run_at, job.finished_at = "todo", utcnow(), None


class LocalWorkers:
    """`threads` workers of one process on a SQLite store, and their keeper.

    The keeper thread beats for the jobs this process holds and queues periodic jobs
    when due (the key `periodic:<name>:<time>` makes that once, whoever gets there first).
    """

    def __init__(self, db: Database, *, threads: int, stall_after: float) -> None:
        self.db = db
        self.threads = threads
        self.stall_after = stall_after
        self.name = f"{socket.gethostname()}:{os.getpid()}:{new_id()[:8]}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._running: list[threading.Thread] = []
        self._queued: dict[str, datetime] = {}
        self._holding: set[str] = set()  # ids of the jobs this process runs now

    def start(self) -> None:
        _nudges.add(self._wake)
        targets = [self._keep] + [self._work] * self.threads
        for i, target in enumerate(targets):
            thread = threading.Thread(target=target, name=f"rsn-jobs-{i}", daemon=True)
            thread.start()
            self._running.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop taking jobs and wait for those running (a job cut off runs again later)."""
        self._stop.set()
        self._wake.set()
        _nudges.discard(self._wake)
        for thread in self._running:
            thread.join(timeout)
        self._running.clear()

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                claimed = self._claim()
            except Busy:
                claimed = None
            except Exception:  # the store went away for a moment: look again later
                log.exception("claiming a job failed")
                claimed = None
            if claimed is None:
                self._wake.wait(POLL)
                self._wake.clear()
                continue
            self._holding.add(claimed[0])
            try:
                self._run(*claimed)
            except Exception:  # not recorded: the job stalls, and runs again (idempotent)
                log.exception("recording the end of job %s failed", claimed[0])
            finally:
                self._holding.discard(claimed[0])

    def _claim(self) -> tuple[str, str, dict[str, Any], int] | None:
        now = utcnow()
        due = or_(
            and_(QueuedJob.state == "todo", QueuedJob.run_at <= now),
            and_(
                QueuedJob.state == "doing",
                QueuedJob.heartbeat_at < now - timedelta(seconds=self.stall_after),
            ),
        )
        with self.db.session() as session:  # an idle queue never takes the write lock
            if session.scalar(select(QueuedJob.id).where(due).limit(1)) is None:
                return None
        with self.db.session(write=True) as session:
            oldest = select(QueuedJob).where(due).order_by(QueuedJob.run_at).limit(CLAIM_LOOK)
            for job in session.scalars(oldest):
                spec = registry.get(job.name)
                allowed = spec.retries + 1 if spec else 1
                if job.state == "doing" and job.attempts >= allowed:
                    job.state, job.finished_at = "failed", now
                    job.last_error = f"its worker {job.worker} stopped while running it"
                    continue
                if job.state == "doing":
                    log.warning("job %s (%s): its worker %s stopped", job.id, job.name, job.worker)
                    job.last_error = f"its worker {job.worker} stopped while running it"
                job.state, job.worker, job.heartbeat_at = "doing", self.name, now
                job.attempts, job.started_at, job.finished_at = job.attempts + 1, now, None
                return job.id, job.name, dict(job.args), job.attempts
        return None

    def _run(self, job_id: str, name: str, args: dict[str, Any], attempt: int) -> None:
        spec = registry.get(name)
        error: str | None = None
        try:
            if spec is None:
                raise LookupError(f"no job named '{name}' is defined in this process")
            spec.handler(JobContext(db=self.db, job_id=job_id, attempt=attempt, args=args))
        except Exception as exc:
            log.warning("job %s (%s) attempt %d failed: %s", job_id, name, attempt, exc)
            error = describe(exc)
        self._finish(job_id, spec, attempt, error)

    def _finish(
        self, job_id: str, spec: registry.JobDef | None, attempt: int, error: str | None
    ) -> None:
        mine = and_(
            QueuedJob.id == job_id, QueuedJob.state == "doing", QueuedJob.worker == self.name
        )
        now = utcnow()
        values: dict[str, Any] = {"worker": None, "heartbeat_at": None}
        if error is None:
            values.update(state="succeeded", finished_at=now)
        elif spec is not None and attempt <= spec.retries:
            wait = timedelta(seconds=spec.wait_after(attempt))
            values.update(state="todo", run_at=now + wait, last_error=error)
        else:
            values.update(state="failed", finished_at=now, last_error=error)
        with self.db.session(write=True, wait=60) as session:
            session.execute(update(QueuedJob).where(mine).values(**values))

    def _keep(self) -> None:
        beat_every = max(self.stall_after / 3, POLL)
        beaten = 0.0
        while not self._stop.wait(POLL):
            try:
                self._queue_periodic()
                beaten += POLL
                if beaten >= beat_every:
                    self._beat()
                    beaten = 0.0
            except Busy:
                continue
            except Exception:
                log.exception("the job keeper failed; it tries again")

    def _beat(self) -> None:
        if not self._holding:
            return
        held = and_(QueuedJob.state == "doing", QueuedJob.worker == self.name)
        with self.db.session(write=True) as session:
            session.execute(update(QueuedJob).where(held).values(heartbeat_at=utcnow()))

    def _queue_periodic(self) -> None:
        now = utcnow()
        due = {}
        for spec in registry.defined():
            if spec.cron is None:
                continue
            at = croniter(spec.cron, now).get_prev(datetime)
            if self._queued.get(spec.name) != at:
                due[spec.name] = at
        if not due:
            return
        with self.db.session(write=True) as session:
            for name, at in due.items():
                key = f"periodic:{name}:{at.isoformat()}"
                if session.scalar(select(QueuedJob.id).where(QueuedJob.key == key)) is None:
                    enqueue(session, name, {}, key, at)
        for name, at in due.items():
            self._queued[name] = at
        self._wake.set()
