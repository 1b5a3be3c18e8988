"""`rsn node`: what an operator does to the node itself, its keys."""

from __future__ import annotations

from typing import Any

import typer
from sqlalchemy.orm import Session

from rsn import audit
from rsn.cli.common import ConfigOpt, DataDirOpt, console, operator, reported, settings_for
from rsn.interop import provenance
from rsn.node import open_database, stopped

node_app = typer.Typer(help="The node itself: its keys.", no_args_is_help=True)


@node_app.command("rotate-keys")
def rotate_keys(data_dir: DataDirOpt = None, config: ConfigOpt = None) -> None:
    """Replace the audit MAC key, the node signing key and the export MAC key.

    Stop the node first. The old keys are kept (in the data directory's key ring and,
    for exports, in the database) so the chain, the checkpoints and the exports they
    sealed still verify; a checkpoint is signed right before and right after.
    """
    with reported():
        settings = settings_for(data_dir, config)
        with stopped(settings.data_dir, doing="rotating its keys"):
            db = open_database(settings)
            try:
                done = audit.rotate(db, settings.data_dir, actor=operator(), also=_export_key)
            finally:
                db.dispose()
    before = done.before.size if done.before else 0
    console.print(
        f"Rotated the node's keys: audit MAC key {done.mac_key_id}, signing key "
        f"{done.public_key[:16]}…; checkpoints signed at {before} records (old keys) and "
        f"{done.after.size if done.after else 0} (new keys)"
    )


def _export_key(session: Session) -> dict[str, Any]:
    return {"export_mac_key": "rotated" if provenance.rotate(session) else "none yet"}
