"""The jobs' own rows: the SQLite queue, and the last error of a PostgreSQL job.

On PostgreSQL the queue is procrastinate's (`procrastinate_jobs` and friends, created
by migration 0015 from the library's own schema file); it keeps no error text, so a
failed attempt's message is written to `job_errors` beside it. On SQLite the queue is
`jobs`, run by `rsn.jobs.local`. Both tables exist on both stores, so one migration
and one model describe the schema everywhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rsn.store import Base, UTCDateTime


class QueuedJob(Base):
    """A job of the SQLite runner: waiting (`todo`), held (`doing`), or finished."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    args: Mapped[dict[str, Any]] = mapped_column(JSON)
    key: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    run_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Who holds a `doing` job, and when it last said it was alive: a holder silent for
    # `job_stall_after` seconds has died, and any other worker takes the job over.
    worker: Mapped[str | None] = mapped_column(String(64))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_jobs_state_run_at", "state", "run_at"),
        Index("ix_jobs_key", "key"),
    )


class JobError(Base):
    """The last error of a PostgreSQL job (procrastinate's rows keep none)."""

    __tablename__ = "job_errors"

    job_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    error: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class JobStep(Base):
    """A step of a job whose effect committed: a re-run of the job skips it (`jobs.once`)."""

    __tablename__ = "job_steps"

    job_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    step: Mapped[str] = mapped_column(String(100), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
