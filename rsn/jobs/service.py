"""Enqueue, list and retry jobs, on whichever store the session is on.

`enqueue` writes the job in the caller's transaction (a transactional outbox): the job
exists if and only if the caller's writes commit, so a rolled-back request leaves no
job behind and a committed one always has its job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from rsn import events
from rsn.jobs import local, pg, registry
from rsn.jobs.models import JobStep
from rsn.jobs.registry import JobContext, JobView
from rsn.store import utcnow


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def enqueue(
    session: Session,
    name: str,
    args: dict[str, Any] | None = None,
    *,
    key: str | None = None,
    run_at: datetime | None = None,
) -> str | None:
    """Queue job `name` in the caller's transaction; its id, or None when `key` is waiting.

    `key` names the logical job (say `notify:<report id>`): while a job with that key
    waits to run, enqueueing it again adds nothing.
    """
    if registry.get(name) is None:
        raise LookupError(f"no job named '{name}' is defined")
    args = dict(args or {})
    json.dumps(args)  # a job's arguments are JSON, on both stores: fail here, not in a worker
    if _postgres(session):
        return pg.enqueue(session, name, args, key, run_at)
    job_id = local.enqueue(session, name, args, key, run_at)
    events.publish(session, QUEUED)  # once committed, this process's idle workers look
    return job_id


@dataclass(frozen=True)
class JobQueued(events.Event):
    """A job was queued on SQLite (PostgreSQL's workers hear procrastinate's NOTIFY)."""

    name = "job.queued"


QUEUED = JobQueued()
events.after_commit(JobQueued, lambda _: local.nudge())


def get_all(session: Session, *, limit: int = 50) -> list[JobView]:
    """The newest jobs first."""
    if _postgres(session):
        return pg.get_all(session, limit)
    return local.get_all(session, limit)


def retry(session: Session, job_id: str) -> None:
    """Queue a failed job again, to run at once; NotFound or Conflict otherwise."""
    if _postgres(session):
        pg.retry(session, job_id)
    else:
        local.retry(session, job_id)


def once(session: Session, ctx: JobContext, step: str = "effect") -> bool:
    """Whether this job's `step` is still to do; if so it is marked done in `session`.

    Call it in the transaction that applies the step's effect: when that commits, the
    mark commits with it, and a re-run of the job (its worker died before the job was
    recorded done) skips the step. Two runs racing on the step collide on the mark's
    key, and the loser's transaction, effect included, rolls back.
    """
    if session.get(JobStep, (ctx.job_id, step)) is not None:
        return False
    session.add(JobStep(job_id=ctx.job_id, step=step, at=utcnow()))
    session.flush()
    return True
