"""`rsn import` and `rsn export`: files in and out, as a named user, audited."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import IO, Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.orm import Session

from rsn import audit, sharing
from rsn.cli.common import ConfigOpt, DataDirOpt, console, err, operator, reported, settings_for
from rsn.errors import RSNError, ValidationError
from rsn.interop import flows, formats
from rsn.node import open_database
from rsn.registry import service as registry
from rsn.reports.schemas import utc_param
from rsn.store import Database

taxii_app = typer.Typer(help="TAXII 2.1: pull from other servers.", no_args_is_help=True)

PROGRESS_FROM = 1_000_000  # bytes: smaller files import before a bar could be read

AsOpt = Annotated[
    str,
    typer.Option(
        "--as", help="The user the import is filed by, or the export is read as (required)."
    ),
]
SinceOpt = Annotated[
    str | None,
    typer.Option(help="Only reports modified at or after this RFC 3339 time."),
]


@contextmanager
def _node(data_dir: Path | None, config: Path | None) -> Iterator[Database]:
    db = open_database(settings_for(data_dir, config))
    try:
        yield db
        audit.chain(db)
    finally:
        db.dispose()


def _principal(session: Session, username: str) -> sharing.Principal:
    return sharing.for_user(session, registry.get_user(session, username=username))


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError.field("--since", f"'{value}' is not an RFC 3339 time.") from None
    if parsed.tzinfo is None:
        raise ValidationError.field("--since", f"'{value}' needs an offset, e.g. 'Z'.")
    return utc_param("--since", parsed)


def import_file(
    file: Annotated[Path, typer.Argument(help="A STIX bundle, MISP event(s), CAP alert or CSV.")],
    as_user: AsOpt,
    format: Annotated[
        str | None,
        typer.Option(help=f"The file's format if not detected: {', '.join(formats.IMPORTS)}."),
    ] = None,
    country: Annotated[
        str | None,
        typer.Option(help="Country (ISO alpha-2) for reports whose source gives none."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and count everything, store nothing.")
    ] = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Import a file as a user: all of it, or (on any error) nothing."""
    if not file.is_file():
        raise typer.BadParameter(f"'{file}' is not a file", param_hint="FILE")
    detail: dict[str, object] = {"as": as_user, "file": file.name, "dry_run": dry_run}
    with reported(), _node(data_dir, config) as db:
        try:
            result = _import(db, file, as_user, format, country, dry_run)
        except RSNError as exc:
            with db.session(write=True) as session:  # a refused import is on the record too
                detail["refused"] = exc.message[:500]
                flows.operator_record(
                    session, operator=operator(), action="operator.import", detail=detail
                )
            raise
        with db.session(write=True) as session:
            detail["format"] = result.format
            detail.update(result.summary.as_dict() if not dry_run else {})
            detail.pop("report_ids", None)
            detail.pop("warnings", None)
            flows.operator_record(
                session, operator=operator(), action="operator.import", detail=detail
            )
    _print_summary(result, dry_run)


def _import(
    db: Database, file: Path, as_user: str, format: str | None, country: str | None, dry_run: bool
) -> flows.ImportResult:
    """The import, staged so a serving node's users can write meanwhile; a dry run keeps nothing."""
    with db.session() as session:
        principal = _principal(session, as_user)
    with file.open("rb") as stream, _bar(file) as advance:
        return flows.import_staged(
            db,
            principal=principal,
            stream=stream,
            format=format,
            country=country,
            progress=advance,
            dry_run=dry_run,
        )


@contextmanager
def _bar(file: Path) -> Iterator[flows.Progress | None]:
    size = file.stat().st_size
    if size < PROGRESS_FROM:
        yield None
        return
    columns = (
        TextColumn("importing {task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(file.name, total=size)
        yield lambda n: progress.advance(task, n)


def _print_summary(result: flows.ImportResult, dry_run: bool) -> None:
    s = result.summary
    verb = "Would import" if dry_run else "Imported"
    console.print(
        f"{verb} {result.format}: {s.created} created, {s.updated} updated, "
        f"{s.unchanged} unchanged, {s.versions_added} versions, {s.kept} objects kept as is."
    )
    for note in s.notes[:20]:
        console.print(f"note: {note}", markup=False)
    if len(s.notes) > 20:
        console.print(f"… and {len(s.notes) - 20} more notes")
    if s.awaiting_release:
        console.print(
            f"{s.awaiting_release} wait for release by a liaison or duty officer of your "
            "organization before anyone outside it reads them."
        )
    for warning in s.warnings[:20]:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    if len(s.warnings) > 20:
        console.print(f"[yellow]… and {len(s.warnings) - 20} more warnings[/yellow]")
    if dry_run:
        console.print("Dry run: nothing was stored.")


def export_file(
    format: Annotated[str, typer.Option(help=f"One of: {', '.join(formats.EXPORTS)}.")],
    as_user: AsOpt,
    since: SinceOpt = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of to stdout.")
    ] = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Export what a user may read: exactly that, never more (node-admins included)."""
    with reported(), _node(data_dir, config) as db:
        fmt = formats.get(format)
        after = _since(since)
        part = output.with_name(output.name + ".part") if output else None
        target = part.open("wb") if part else nullcontext(sys.stdout.buffer)
        with db.session(write=True) as session, target as out:
            principal = _principal(session, as_user)
            count = _export(session, principal, out, fmt.name, after)
            detail = {"as": as_user, "format": fmt.name, "since": since, "reports": count}
            flows.operator_record(
                session, operator=operator(), action="operator.export", detail=detail
            )
        if part and output:
            part.replace(output)  # a failed export leaves no half-written file behind
    where = f" to {output}" if output else ""
    err.print(f"Exported {count} reports as {flows.describe(fmt)}{where}.")


def _export(
    session: Session, principal: sharing.Principal, out: IO[bytes], fmt: str, since: datetime | None
) -> int:
    return flows.export_stream(session, principal=principal, out=out, format=fmt, since=since)


@taxii_app.command("pull")
def taxii_pull(
    url: Annotated[str, typer.Argument(help="The server's API root URL (or discovery URL).")],
    collection: Annotated[str, typer.Option(help="The collection's id.")],
    as_user: AsOpt,
    since: SinceOpt = None,
    username: Annotated[
        str | None, typer.Option(help="HTTP Basic user name at the server.")
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(envvar="RSN_TAXII_PASSWORD", help="HTTP Basic password (or env)."),
    ] = None,
    token: Annotated[
        str | None, typer.Option(envvar="RSN_TAXII_TOKEN", help="Bearer token (or env).")
    ] = None,
    page_size: Annotated[int, typer.Option(min=1, max=10_000, help="Objects per request.")] = 1000,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Import what the collection added since the last pull (or --since); safe to re-run."""
    from rsn.taxii import pull  # the TAXII client and STIX stack load only when pulling

    credentials = pull.Credentials(username=username, password=password, token=token)
    with reported(), _node(data_dir, config) as db:
        after = _since(since)
        with Progress(TextColumn("{task.completed} objects fetched"), console=err) as bar:
            task = bar.add_task("pull", total=None)
            result = pull.pull(
                db,
                principal_of=lambda session: _principal(session, as_user),
                url=url,
                collection_id=collection,
                credentials=credentials,
                since=after,
                page_size=page_size,
                progress=lambda n: bar.advance(task, n),
            )
        with db.session(write=True) as session:
            detail = {
                "as": as_user,
                "url": url,
                "collection": collection,
                "fetched": result.fetched,
            }
            flows.operator_record(
                session, operator=operator(), action="operator.taxii-pull", detail=detail
            )
    console.print(
        f"Fetched {result.fetched} objects added after {result.added_after or 'the start'}."
    )
    _print_summary(flows.ImportResult("stix", result.summary), dry_run=False)
    console.print(f"Next pull starts after {result.cursor or 'the start'}.")
