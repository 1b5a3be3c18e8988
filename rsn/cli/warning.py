"""`rsn warning`: the early-warning detection methods, and backtests of them on CSV series."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated

import typer
from rich.table import Table

from rsn.cli.common import console, reported
from rsn.warning import backtest, methods

warning_app = typer.Typer(
    help="Early warning: the detection methods, and backtests on count series.",
    no_args_is_help=True,
)


@warning_app.command("methods")
def list_methods() -> None:
    """The detection methods: name, what each does, and its parameters with their defaults."""
    table = Table("name", "summary", "parameters", header_style="bold")
    for name in methods.names():
        method = methods.by_name(name)
        params = " ".join(f"{k}={v}" for k, v in methods.parameters(method).items())
        marked = f"{name} (default)" if name == methods.DEFAULT else name
        table.add_row(marked, method.summary, params)
    console.print(table)


@warning_app.command("backtest")
def run_backtest(
    file: Annotated[
        str,
        typer.Argument(
            metavar="FILE", help="CSV with the columns series,period,count; - reads stdin."
        ),
    ],
    method: Annotated[
        str | None,
        typer.Option(
            "--method", "-m", help="A method's name (default: see `rsn warning methods`)."
        ),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="NAME=NUMBER: change one of the method's parameters."),
    ] = None,
) -> None:
    """Score every period of each series with a method; CSV series,period,score,alarm to stdout."""
    chosen = _method(method or methods.DEFAULT, param or [])
    with reported(), _input(file) as stream:
        series = backtest.read(stream)
    backtest.write(backtest.run(series, chosen), sys.stdout)


def _method(name: str, params: list[str]) -> methods.Method:
    if name not in methods.names():
        there = ", ".join(methods.names())
        raise typer.BadParameter(
            f"'{name}' is not a method; there are: {there}", param_hint="--method"
        )
    numbers: dict[str, float] = {}
    for given in params:
        key, _, value = given.partition("=")
        try:
            numbers[key.strip()] = float(value)
        except ValueError:
            raise typer.BadParameter(
                f"'{given}' is not NAME=NUMBER", param_hint="--param"
            ) from None
    try:
        return methods.configured(name, numbers)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--param") from None


@contextmanager
def _input(file: str) -> Iterator[IO[bytes]]:
    if file == "-":
        yield typer.get_binary_stream("stdin")
        return
    path = Path(file)
    if not path.is_file():
        raise typer.BadParameter(f"'{file}' is not a file", param_hint="FILE")
    with path.open("rb") as stream:
        yield stream
