"""How every command finds its node, and how it reports errors to an operator."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from rsn.config import Settings
from rsn.errors import RSNError
from rsn.registry import DataFileError

console = Console()
err = Console(stderr=True)

DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", "-d", help="The node's data directory (default: ./rsn-data)."),
]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="The node's TOML configuration file.")
]


def settings_for(data_dir: Path | None, config: Path | None) -> Settings:
    """A node by its config file, else by its data directory."""
    if config is not None and data_dir is not None:
        raise typer.BadParameter("give --config or --data-dir, not both")
    if config is not None:
        if not config.exists():
            raise typer.BadParameter(f"'{config}' does not exist", param_hint="--config")
        return Settings.from_file(config)
    return Settings.for_data_dir(data_dir or Path("rsn-data"))


def operator() -> str:
    """The audit actor for a command run by whoever holds the database: a trusted operator."""
    return f"operator:{getpass.getuser()}"


@contextmanager
def reported() -> Iterator[None]:
    """Errors become one red line and exit code 1, never a traceback."""
    try:
        yield
    except (RSNError, DataFileError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
