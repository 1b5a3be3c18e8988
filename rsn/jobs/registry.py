"""What a job is: a name, a handler, how often to retry, and (for some) a schedule.

Definitions live in one registry per process, filled when the modules that define
jobs are imported; every worker process imports the same modules (the node's own,
plus the `job_modules` setting), so a job enqueued anywhere can run anywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rsn.store import Database

log = logging.getLogger("rsn.jobs")


@dataclass(frozen=True)
class JobContext:
    """What a handler is handed: the node's database and which job and attempt this is."""

    db: Database
    job_id: str
    attempt: int
    args: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[JobContext], None]


@dataclass(frozen=True)
class JobDef:
    """A kind of job. After the n-th failed attempt it waits `backoff ** n` seconds, at
    most `retries` times, then stays `failed` with its last error."""

    name: str
    handler: Handler
    retries: int = 3
    backoff: int = 5
    cron: str | None = None  # periodic: a cron line, a sixth column for seconds

    def wait_after(self, failures: int) -> int:
        """Seconds before the next attempt, after `failures` failed ones (procrastinate's rule)."""
        return int(self.backoff**failures) if self.backoff else 0


_REGISTRY: dict[str, JobDef] = {}


def define(
    name: str,
    handler: Handler,
    *,
    retries: int = 3,
    backoff: int = 5,
    cron: str | None = None,
) -> JobDef:
    """Register a kind of job; defining the same name again replaces it (a reload)."""
    if not name or len(name) > 128:
        raise ValueError(f"job name {name!r} must be 1 to 128 characters")
    job = JobDef(name=name, handler=handler, retries=retries, backoff=backoff, cron=cron)
    _REGISTRY[name] = job
    return job


def job(
    name: str, *, retries: int = 3, backoff: int = 5, cron: str | None = None
) -> Callable[[Handler], Handler]:
    """`define` as a decorator."""

    def register(handler: Handler) -> Handler:
        define(name, handler, retries=retries, backoff=backoff, cron=cron)
        return handler

    return register


def forget(name: str) -> None:
    """Drop a definition: a test's throwaway job, once the test is over."""
    _REGISTRY.pop(name, None)


def get(name: str) -> JobDef | None:
    return _REGISTRY.get(name)


def defined() -> list[JobDef]:
    return sorted(_REGISTRY.values(), key=lambda j: j.name)


@dataclass(frozen=True)
class JobView:
    """One job as `rsn jobs list` shows it, whichever store keeps it."""

    id: str
    name: str
    state: str  # todo, doing, succeeded, failed (procrastinate also: cancelled, aborted)
    attempts: int  # attempts started so far
    last_error: str | None
    scheduled_at: datetime | None  # when it may run
    started_at: datetime | None  # the latest attempt's start
    finished_at: datetime | None


def describe(exc: BaseException) -> str:
    """An error as a job's last error: its kind and message, bounded."""
    return f"{type(exc).__name__}: {exc}"[:2000]
