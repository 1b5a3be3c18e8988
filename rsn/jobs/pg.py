"""PostgreSQL: procrastinate's queue, filled from the caller's transaction.

Enqueueing calls procrastinate's own `procrastinate_defer_jobs_v1` on the caller's
connection, so the job row commits or rolls back with the caller's writes (its
NOTIFY is sent at commit too). Workers are procrastinate workers, one asyncio loop in
a thread of this process; each also looks for jobs held by workers whose heartbeat
stopped and hands them back to the queue, so a dead process's work is finished by
the survivors with nothing hosted beside the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from datetime import UTC, datetime
from typing import Any

from procrastinate import App, PsycopgConnector, RetryStrategy
from procrastinate import JobContext as ProcJobContext
from procrastinate.jobs import Job, Status
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rsn.errors import Conflict, NotFound
from rsn.jobs import registry
from rsn.jobs.models import JobError
from rsn.jobs.registry import JobContext, JobView, describe
from rsn.store import Database, utcnow

log = logging.getLogger("rsn.jobs")

QUEUE = "rsn"
POLL = 1.0  # seconds: a fallback only; LISTEN/NOTIFY wakes a worker at each commit

_DEFER = text(
    "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, NULL, :qlock,"
    " CAST(:args AS jsonb), :at)::procrastinate_job_to_defer_v1])"
)


def enqueue(
    session: Session, name: str, args: dict[str, Any], key: str | None, run_at: datetime | None
) -> str | None:
    values = {"queue": QUEUE, "task": name, "qlock": key, "args": json.dumps(args), "at": run_at}
    try:
        with session.begin_nested():  # a duplicate key rolls back this insert only
            ids = session.scalar(_DEFER, values)
    except IntegrityError:
        return None  # the queueing lock: a job with this key is waiting already
    return str(ids[0])


_LIST = text(
    """
    SELECT j.id, j.task_name, j.status::text AS state, j.scheduled_at, e.error,
      (SELECT count(*) FROM procrastinate_events v
        WHERE v.job_id = j.id AND v.type = 'started') AS attempts,
      (SELECT max(v.at) FROM procrastinate_events v
        WHERE v.job_id = j.id AND v.type = 'deferred') AS created,
      (SELECT max(v.at) FROM procrastinate_events v
        WHERE v.job_id = j.id AND v.type = 'started') AS started,
      (SELECT max(v.at) FROM procrastinate_events v
        WHERE v.job_id = j.id AND v.type IN ('succeeded', 'failed', 'cancelled', 'aborted')
          AND j.status NOT IN ('todo', 'doing')) AS finished
    FROM procrastinate_jobs j LEFT JOIN job_errors e ON e.job_id = CAST(j.id AS varchar)
    WHERE j.queue_name = :queue
    ORDER BY j.id DESC LIMIT :limit
    """
)


def get_all(session: Session, limit: int) -> list[JobView]:
    rows = session.execute(_LIST, {"queue": QUEUE, "limit": limit})
    return [
        JobView(
            id=str(r.id),
            name=r.task_name,
            state=r.state,
            attempts=r.attempts,
            last_error=r.error,
            scheduled_at=_utc(r.scheduled_at or r.created),
            started_at=_utc(r.started),
            finished_at=_utc(r.finished),
        )
        for r in rows
    ]


def _utc(at: datetime | None) -> datetime | None:
    """procrastinate's times arrive in the server's time zone; the node speaks UTC."""
    return at.astimezone(UTC) if at is not None else None


def retry(session: Session, job_id: str) -> None:
    state = None
    if job_id.isdigit():
        state = session.scalar(
            text("SELECT status::text FROM procrastinate_jobs WHERE id = :id AND queue_name = :q"),
            {"id": int(job_id), "q": QUEUE},
        )
    if state is None:
        raise NotFound("job", job_id)
    if state != "failed":
        raise Conflict(f"job '{job_id}' is {state}: only a failed job can be retried.")
    session.execute(
        text("SELECT procrastinate_retry_job_v2(:id, NOW(), NULL, NULL, NULL)"), {"id": int(job_id)}
    )


def _conninfo(db: Database) -> str:
    url = db.engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class PgWorkers:
    """A procrastinate worker running `threads` jobs at a time, on an event loop of its own."""

    def __init__(self, db: Database, *, threads: int, stall_after: float) -> None:
        self.db = db
        self.threads = threads
        self.stall_after = stall_after
        self.app = self._app()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[None] | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    def _app(self) -> App:
        app = App(connector=PsycopgConnector(conninfo=_conninfo(self.db), max_size=4))
        for spec in registry.defined():
            # procrastinate reads max_attempts=0 as "no limit": no retries is no strategy
            strategy = (
                RetryStrategy(max_attempts=spec.retries, exponential_wait=spec.backoff)
                if spec.retries
                else False
            )
            task = app.task(name=spec.name, queue=QUEUE, retry=strategy, pass_context=True)(
                self._runner(spec)
            )
            if spec.cron is not None:
                app.periodic(cron=spec.cron, periodic_id=spec.name)(task)
        return app

    def _runner(self, spec: registry.JobDef) -> Any:
        db = self.db

        def run(context: ProcJobContext, **args: Any) -> None:
            job = context.job
            if spec.cron is not None:
                args.pop("timestamp", None)  # procrastinate's: when the schedule fired
            ctx = JobContext(db=db, job_id=str(job.id), attempt=job.attempts + 1, args=args)
            try:
                spec.handler(ctx)
            except Exception as exc:
                log.warning(
                    "job %s (%s) attempt %d failed: %s", job.id, spec.name, ctx.attempt, exc
                )
                _note_error(db, str(job.id), describe(exc))
                raise

        return run

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name="rsn-jobs-pg", daemon=True)
        self._thread.start()
        self._ready.wait(30)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop fetching jobs and wait for those running (a job cut off runs again later)."""
        loop, main, self._loop, self._main = self._loop, self._main, None, None
        if loop is not None and main is not None and not loop.is_closed():
            loop.call_soon_threadsafe(main.cancel)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _serve(self) -> None:
        try:
            asyncio.run(self._run())
        except Exception:  # the store went away for good; other workers carry on
            log.exception("the background job worker stopped")
        finally:
            self._ready.set()

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._main = asyncio.current_task()
        async with self.app.open_async():
            watcher = asyncio.create_task(self._hand_back_stalled())
            worker = asyncio.create_task(
                self.app.run_worker_async(
                    queues=[QUEUE],
                    concurrency=self.threads,
                    install_signal_handlers=False,
                    update_heartbeat_interval=max(self.stall_after / 6, 0.2),
                    stalled_worker_timeout=self.stall_after,
                    fetch_job_polling_interval=POLL,
                )
            )
            self._ready.set()
            try:
                await worker
            except asyncio.CancelledError:
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher

    async def _hand_back_stalled(self) -> None:
        """Jobs held by a worker silent for `stall_after` go back to the queue, as a retry
        (or, past their retries, end `failed`: a job that kills its worker must not loop)."""
        manager = self.app.job_manager
        while True:
            await asyncio.sleep(max(self.stall_after / 3, 0.2))
            try:
                stalled = await manager.get_stalled_jobs(
                    queue=QUEUE, seconds_since_heartbeat=self.stall_after
                )
            except Exception:  # the store blinked: look again at the next tick
                log.exception("looking for stalled jobs failed; trying again")
                continue
            for job in stalled:
                await self._hand_back(job)

    async def _hand_back(self, job: Job) -> None:
        spec = registry.get(job.task_name)
        try:
            if spec is not None and job.attempts >= spec.retries:
                await self.app.job_manager.finish_job(job, Status.FAILED, delete_job=False)
            else:
                await self.app.job_manager.retry_job(job)
        except Exception:  # another worker handed it back first
            log.info("job %s was handed back by another worker", job.id)
            return
        log.warning("job %s (%s): its worker stopped while running it", job.id, job.task_name)
        await asyncio.to_thread(
            _note_error, self.db, str(job.id), "its worker stopped while running it"
        )


def _note_error(db: Database, job_id: str, error: str) -> None:
    row = {"job_id": job_id, "error": error, "at": utcnow()}
    upsert = insert(JobError).values(row)
    upsert = upsert.on_conflict_do_update(index_elements=[JobError.job_id], set_=row)
    with db.session(write=True, wait=60) as session:
        session.execute(upsert)
