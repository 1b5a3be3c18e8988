"""`rsn backup` and `rsn restore`: the node's database and key files in one file, and back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rsn import audit, backup
from rsn.cli.common import ConfigOpt, DataDirOpt, console, operator, reported, settings_for
from rsn.node import open_database, stopped
from rsn.store import Database


def backup_node(
    output: Annotated[Path, typer.Option("--output", "-o", help="The backup file to write.")],
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Write the node's database and key files to one file (0600: as sensitive as the node)."""
    with reported():
        settings = settings_for(data_dir, config)
        db = open_database(settings)  # the key files exist, and the log is sealed, first
        try:
            done = backup.write(settings, output)
            _record(db, "node.backup", {"file": str(output), "revision": done.revision})
        finally:
            db.dispose()
    console.print(
        f"Wrote {output}: {sum(done.rows.values())} rows of {len(done.rows)} tables and "
        f"{len(done.keys)} key files (schema {done.revision}). Keep it as safe as the node."
    )


def restore_node(
    archive: Annotated[Path, typer.Argument(help="A file `rsn backup` wrote.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace everything in a node that is not empty.")
    ] = False,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Load a backup into an empty node (either store) with its key files; then verify it."""
    with reported():
        settings = settings_for(data_dir, config)
        with stopped(settings.data_dir, doing="restoring a backup into it"):
            done = backup.restore(settings, archive, force=force)
        db = open_database(settings)
        try:
            _record(db, "node.restore", {"file": str(archive), "revision": done.revision})
        finally:
            db.dispose()
    console.print(
        f"Restored {sum(done.rows.values())} rows and {len(done.keys)} key files from "
        f"{archive}. Run `rsn audit verify` next."
    )


def _record(db: Database, action: str, detail: dict[str, str]) -> None:
    with db.session(write=True) as session:
        audit.record(session, actor=operator(), action=action, detail=detail)
    audit.chain(db)
