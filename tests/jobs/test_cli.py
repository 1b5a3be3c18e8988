"""`rsn jobs list` and `rsn jobs retry`, as an operator runs them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from rsn import jobs
from rsn.cli.main import app
from rsn.store import Database
from tests.jobs import sample
from tests.jobs.conftest import listed, wait_for

runner = CliRunner()


def rsn(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "250"})
    return result.exit_code, result.output


def test_an_operator_lists_and_retries_a_failed_job(
    db: Database,
    tmp_path: Path,
    effects: str,
    start_workers: Callable[[], jobs.Workers],
) -> None:
    config = tmp_path / "rsn.toml"
    config.write_text(f'[node]\ndatabase_url = "{db.url}"\ndata_dir = "{tmp_path}"\n')
    node = ["--config", str(config)]
    assert rsn("jobs", "list", *node) == (0, "No jobs yet.\n")

    broken = tmp_path / "broken"
    broken.touch()
    with db.session(write=True) as session:
        done = jobs.enqueue(session, "test.record", {"tag": effects, "n": 1})
        failed = jobs.enqueue(
            session, "test.until_fixed", {"tag": effects, "n": 2, "broken": str(broken)}
        )
    assert failed is not None and done is not None
    start_workers()
    wait_for(lambda: sorted(j.state for j in listed(db)) == ["failed", "succeeded"])

    code, out = rsn("jobs", "list", *node)
    assert code == 0, out
    rows = {cells[0]: cells for cells in _rows(out)}
    assert rows[done][1:4] == ["test.record", "succeeded", "1"]
    assert rows[failed][1:4] == ["test.until_fixed", "failed", "1"]
    assert _squeezed(rows[failed][4]) == _squeezed(f"RuntimeError: {broken} is still there")
    assert all(rows[done][5:])  # scheduled, started, finished

    assert rsn("jobs", "retry", done, *node)[0] == 1  # only a failed job is retried
    broken.unlink()
    code, out = rsn("jobs", "retry", failed, *node)
    assert code == 0, out
    assert f"Job {failed} queued again" in out
    wait_for(lambda: [j.state for j in listed(db)] == ["succeeded", "succeeded"])
    assert set(sample.effects(db, effects)) == {1, 2}
    code, out = rsn("jobs", "retry", "no-such-job", *node)
    assert code == 1 and "job 'no-such-job' was not found" in out


def _rows(table: str) -> list[list[str]]:
    """The table's rows, a cell folded over several lines put back together.

    The table is 180 characters wide when piped; a last error that names a file under
    tmp_path folds or not with the path's length (xdist's workers add to it).
    """
    rows: list[list[str]] = []
    for line in table.splitlines():
        if not line.startswith("│"):
            continue
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if rows and not cells[0]:  # a folded row goes on: the id never folds
            rows[-1] = [f"{top} {more}".strip() for top, more in zip(rows[-1], cells, strict=True)]
        else:
            rows.append(cells)
    return rows


def _squeezed(text: str) -> str:
    """Without whitespace: a fold inside a long word (a path) leaves no space to match."""
    return "".join(text.split())
