"""background jobs: the SQLite queue, job errors, and procrastinate's schema on PostgreSQL

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 13:00:00

`jobs` is the SQLite runner's queue (`rsn.jobs.local`); `job_errors` keeps the last
error of a PostgreSQL job; `job_steps` the steps whose effect committed (`jobs.once`).
All three exist on both stores, so that one model describes them. On PostgreSQL the
queue is procrastinate's: its tables, types, functions and triggers come from the
schema file of the installed procrastinate (pinned to 3.10.x in pyproject.toml),
applied here so that the schema a node runs on has one source. A later procrastinate
that changes its schema comes with a migration of ours that runs its migration scripts.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources

import sqlalchemy as sa
from alembic import op

from rsn.store import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("key", sa.String(200), nullable=True),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("run_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("worker", sa.String(64), nullable=True),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index("ix_jobs_state_run_at", "jobs", ["state", "run_at"])
    op.create_index("ix_jobs_key", "jobs", ["key"])
    op.create_table(
        "job_errors",
        sa.Column("job_id", sa.String(40), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_job_errors")),
    )
    op.create_table(
        "job_steps",
        sa.Column("job_id", sa.String(40), nullable=False),
        sa.Column("step", sa.String(100), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "step", name=op.f("pk_job_steps")),
    )
    if op.get_bind().dialect.name == "postgresql":
        schema = resources.files("procrastinate.sql").joinpath("schema.sql").read_text("utf-8")
        # On the driver's cursor, without parameters: the file's `%` are not placeholders.
        cursor = op.get_bind().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(schema)
        cursor.close()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            DO $$
            DECLARE f record;
            BEGIN
              DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers,
                procrastinate_jobs, procrastinate_workers CASCADE;
              FOR f IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
                JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%'
              LOOP EXECUTE 'DROP FUNCTION ' || f.sig || ' CASCADE'; END LOOP;
              DROP TYPE IF EXISTS procrastinate_job_to_defer_v1, procrastinate_job_status,
                procrastinate_job_event_type CASCADE;
            END $$;
            """
        )
    op.drop_table("job_steps")
    op.drop_table("job_errors")
    op.drop_index("ix_jobs_key", table_name="jobs")
    op.drop_index("ix_jobs_state_run_at", table_name="jobs")
    op.drop_table("jobs")
