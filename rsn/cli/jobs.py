"""`rsn worker` and `rsn jobs`: run background jobs apart from the server, see and retry them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from rsn import audit, jobs
from rsn.cli.common import ConfigOpt, DataDirOpt, console, operator, reported, settings_for
from rsn.node import define_jobs, open_database, serving
from rsn.store import upgrade

WIDE = 180  # characters: the table, whole, when nothing says how wide the output is

jobs_app = typer.Typer(help="Background jobs: what ran, what failed.", no_args_is_help=True)


def worker(
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    threads: Annotated[
        int | None,
        typer.Option(min=1, help="Jobs run at once (default: the `job_workers` setting, or 1)."),
    ] = None,
) -> None:
    """Run the node's background jobs in this process until stopped (Ctrl-C or SIGTERM).

    Run as many as you like beside `rsn serve`: on PostgreSQL they share the work, and
    a job held by one that dies is finished by another.
    """
    with reported():
        settings = settings_for(data_dir, config)
        with serving(settings.data_dir):
            upgrade(settings.database_url)
            db = open_database(settings)
            try:
                define_jobs(settings)
                count = threads or max(settings.job_workers, 1)
                running = jobs.workers(db, threads=count, stall_after=settings.job_stall_after)
                console.print(f"Running background jobs ({count} at a time); Ctrl-C stops.")
                jobs.run_until_signalled(running)
            finally:
                db.dispose()


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S") if at else "—"


@jobs_app.command("list")
def list_jobs(
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    limit: Annotated[int, typer.Option(min=1, help="How many of the newest jobs.")] = 50,
) -> None:
    """The newest jobs: state, attempts, last error, when scheduled, started and finished."""
    with reported():
        db = open_database(settings_for(data_dir, config))
    try:
        with db.session() as session:
            found = jobs.get_all(session, limit=limit)
    finally:
        db.dispose()
    table = Table()
    table.add_column("id", no_wrap=True)  # whole, whatever the width: `rsn jobs retry ID`
    for heading in ("name", "state", "attempts", "last error", "scheduled", "started"):
        table.add_column(heading, overflow="fold")
    table.add_column("finished", overflow="fold")
    for job in found:
        table.add_row(
            job.id,
            job.name,
            job.state,
            str(job.attempts),
            job.last_error or "",
            _when(job.scheduled_at),
            _when(job.started_at),
            _when(job.finished_at),
        )
    # Piped or logged, a table of 8 columns at 80 characters folds into columns of 3
    # letters: give it room (a terminal keeps its own width).
    out = console if console.is_terminal else Console(width=max(console.width, WIDE))
    out.print(table if found else "No jobs yet.")


@jobs_app.command("retry")
def retry_job(
    job_id: Annotated[str, typer.Argument(help="The failed job's id (`rsn jobs list`).")],
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Queue a failed job again, to run at once."""
    with reported():
        db = open_database(settings_for(data_dir, config))
        try:
            with db.session(write=True) as session:
                jobs.retry(session, job_id)
                audit.record(session, actor=operator(), action="job.retry", item_ids=[job_id])
        finally:
            db.dispose()
    console.print(f"Job {job_id} queued again.")
