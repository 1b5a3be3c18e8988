"""Durable background jobs, kept in the node's own database on both stores.

Define a job once (`define` or `@job`), enqueue it inside the write that calls for it
(`enqueue(session, name, args, key=…)`), and a worker runs it after the commit:
procrastinate on PostgreSQL, the small runner in `rsn.jobs.local` on SQLite. See
docs/architecture.md, "Background jobs".
"""

from __future__ import annotations

from rsn.jobs.registry import JobContext, JobDef, JobView, define, defined, forget, job
from rsn.jobs.service import enqueue, get_all, once, retry
from rsn.jobs.workers import STALL_AFTER, Workers, run_until_signalled, workers

__all__ = [
    "STALL_AFTER",
    "JobContext",
    "JobDef",
    "JobView",
    "Workers",
    "define",
    "defined",
    "enqueue",
    "forget",
    "get_all",
    "job",
    "once",
    "retry",
    "run_until_signalled",
    "workers",
]
