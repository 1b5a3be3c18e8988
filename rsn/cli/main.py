"""The `rsn` command: everything a node administrator does, from one place."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from rsn import __version__, audit
from rsn.cli.backup import backup_node, restore_node
from rsn.cli.common import ConfigOpt, DataDirOpt, console, err, operator, reported, settings_for
from rsn.cli.directory import group_app, org_app, token_app, user_app
from rsn.cli.interop import export_file, import_file, taxii_app
from rsn.cli.jobs import jobs_app, worker
from rsn.cli.node import node_app
from rsn.cli.regions import region_app
from rsn.cli.warning import warning_app
from rsn.config import Settings
from rsn.node import open_database
from rsn.reports import tallies
from rsn.store import upgrade
from rsn.store.db import LONG_WAIT

app = typer.Typer(
    name="rsn",
    help="RSN — the Regional Security Network node.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The node's database schema.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(org_app, name="org")
app.add_typer(group_app, name="group")
app.add_typer(region_app, name="region")
app.add_typer(node_app, name="node")
app.command("import")(import_file)
app.add_typer(taxii_app, name="taxii")
app.command("export")(export_file)
app.command("backup")(backup_node)
app.command("restore")(restore_node)
app.add_typer(jobs_app, name="jobs")
app.command("worker")(worker)
app.add_typer(warning_app, name="warning")


def _version(value: bool) -> None:
    if value:
        console.print(f"rsn {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Share security reports under originator control, fuse them, warn, respond."""


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDirOpt = None, config: ConfigOpt = None) -> None:
    """Bring the schema to the newest migration (safe to run again)."""
    settings = settings_for(data_dir, config)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    console.print(f"Database is at the newest schema: {_safe_url(settings.database_url)}")


@db_app.command("check-aggregates")
def db_check_aggregates(
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    fix: Annotated[
        bool, typer.Option("--fix", help="Recount every report when a row differs.")
    ] = False,
) -> None:
    """Recount the report tallies the counts and pages read, and compare with those kept.

    Exit 0 when they agree; 1 listing the rows that differ (with --fix: recounted).
    """
    with reported():
        settings = settings_for(data_dir, config)
        db = open_database(settings)
    try:
        with db.session() as session:
            wrong = tallies.check(session)
        for m in wrong[:20]:
            unit, span, start, category, country, severity, tlp = m.row
            err.print(
                f"{span} {start} {category} {country or '-'} {severity} {tlp} "
                f"(scope {unit[:8]}): kept {m.kept}, counted {m.counted}"
            )
        if wrong and fix:
            with db.session(write=True, wait=LONG_WAIT) as session:
                counted = tallies.rebuild(session)
            console.print(
                f"[green]recounted {counted} reports[/green]: {len(wrong)} rows were wrong"
            )
            return
    finally:
        db.dispose()
    if wrong:
        more = " (first 20 shown)" if len(wrong) > 20 else ""
        err.print(f"[red]{len(wrong)} tally rows differ from a recount{more}[/red]; run with --fix")
        raise typer.Exit(1)
    console.print("[green]report tallies agree with a recount[/green]")


def _safe_url(url: str) -> str:
    head, sep, tail = url.partition("@")
    return f"{head.split('//')[0]}//***@{tail}" if sep else url


@audit_app.command("verify")
def audit_verify(
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(help="A checkpoint file (`rsn audit checkpoint`) the chain must reach."),
    ] = None,
) -> None:
    """Walk the chain and its MACs; exit 0 when intact, 1 naming the first bad record."""
    with reported():
        settings = settings_for(data_dir, config)
        given = audit.checkpoints.read_file(checkpoint) if checkpoint else []
        db = open_database(settings)
    try:
        verdict = audit.verify(db, checkpoints=given)
    finally:
        db.dispose()
    if not verdict.ok:
        where = (
            f"record {verdict.bad_record}"
            if verdict.bad_record is not None
            else f"chain position {verdict.position}"
        )
        err.print(
            f"[red]audit chain broken at {where}:[/red] {verdict.reason} "
            f"({verdict.checked} records before it are intact)"
        )
        raise typer.Exit(1)
    tail = f"; {verdict.unchained} newer records not yet chained" if verdict.unchained else ""
    console.print(f"[green]audit chain intact:[/green] {verdict.checked} records verified{tail}")


@audit_app.command("checkpoint")
def audit_checkpoint(
    output: Annotated[Path, typer.Option("--output", "-o", help="The JSON file to write.")],
    last: Annotated[int, typer.Option(min=1, help="How many of the newest checkpoints.")] = 1,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Link the log, sign a checkpoint now, and write the newest signed ones to a file.

    Keep the file away from the node: `rsn audit verify --checkpoint FILE` then shows
    any record removed since. It counts every write, hidden ones too: operators only.
    """
    with reported():
        db = open_database(settings_for(data_dir, config))
    try:
        audit.chain(db)
        audit.checkpoint(db)
        with db.session() as session:
            points = audit.checkpoints.latest(session, last)
    finally:
        db.dispose()
    output.write_text(json.dumps(audit.checkpoints.document(points), indent=2) + "\n")
    sizes = ", ".join(str(p.size) for p in points) or "none: the log is empty"
    console.print(f"Wrote {len(points)} signed checkpoint(s) to {output} (records: {sizes})")


@app.command()
def serve(
    config: Annotated[Path, typer.Option("--config", "-c", help="The node's TOML file.")],
) -> None:
    """Serve the node's UI and APIs as its configuration says."""
    with reported():
        settings = settings_for(None, config)
    _serve(settings)


def _serve(settings: Settings) -> None:
    import uvicorn

    from rsn.api.app import create_app
    from rsn.node import Node, serving

    with serving(settings.data_dir):
        node = Node(settings)
        node.start_jobs()
        try:
            uvicorn.run(
                create_app(node), host=settings.host, port=settings.port, log_level="warning"
            )
        finally:
            node.stop_jobs()


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8080,
    data_dir: Annotated[Path, typer.Option("--data-dir", help="Where the demo node lives.")] = Path(
        "rsn-demo"
    ),
) -> None:
    """A demo node: BIMSTEC, a few hundred reports, accounts of every role, on 127.0.0.1."""
    from rsn import demo as demo_node

    started = time.perf_counter()
    settings = demo_node.settings(data_dir, port=port)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    accounts = demo_node.prepare(settings)
    analyst = next(a for a in accounts if a.role == "analyst")
    took = time.perf_counter() - started
    console.print(f"[bold]RSN demo node[/bold] ready in {took:.1f} s — http://127.0.0.1:{port}/")
    console.print(f"  Sign in:   http://127.0.0.1:{port}/login")
    console.print(f"  API:       http://127.0.0.1:{port}/api/v1/  (OpenAPI at /openapi.json)")
    console.print(
        f"  Analyst:   {analyst.username} / {analyst.password} "
        f"({analyst.organization}, {analyst.member_state})"
    )
    console.print(f"  API token: {analyst.api_token}")
    console.print(f"  All demo accounts: {settings.data_dir / 'demo-accounts.json'}")
    _serve(settings)


__all__ = ["app", "operator"]
