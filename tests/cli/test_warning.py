"""`rsn warning`: the methods listed, and backtests from a file or stdin to CSV on stdout."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from rsn.cli.main import app
from rsn.warning import methods

runner = CliRunner()


def rsn(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def counts_csv(tmp_path: Path) -> tuple[Path, dict[str, list[int]]]:
    """Two series, a spike at the end of one: 60 weekly periods each."""
    rng = np.random.default_rng(9)
    series = {"bd.piracy": rng.poisson(4, 60).tolist(), "lk.flood": rng.poisson(1, 60).tolist()}
    series["bd.piracy"][-1] = 40
    lines = ["series,period,count"]
    lines += [f"{name},w{t},{c}" for name, counts in series.items() for t, c in enumerate(counts)]
    path = tmp_path / "counts.csv"
    path.write_text("\n".join(lines) + "\n")
    return path, series


def rows(out: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(out)))


def test_the_methods_are_listed() -> None:
    code, out, _ = rsn("warning", "methods")
    assert code == 0
    for name in methods.names():
        assert name in out
    assert f"{methods.DEFAULT} (default)" in out


def test_a_backtest_scores_every_period(tmp_path: Path) -> None:
    path, series = counts_csv(tmp_path)
    code, out, _ = rsn("warning", "backtest", str(path), "--method", "ears-c2")
    assert code == 0
    got = rows(out)
    assert [(r["series"], r["period"]) for r in got] == [
        (name, f"w{t}") for name, counts in series.items() for t in range(len(counts))
    ]
    expected = methods.by_name("ears-c2").run(np.array(series["bd.piracy"], dtype=np.float64))
    piracy = [r for r in got if r["series"] == "bd.piracy"]
    assert [r["alarm"] == "1" for r in piracy] == expected.alarm.tolist()
    assert piracy[-1]["alarm"] == "1" and piracy[0]["score"] == ""


def test_stdin_and_the_default_method(tmp_path: Path) -> None:
    path, _ = counts_csv(tmp_path)
    code, from_stdin, _ = rsn("warning", "backtest", "-", stdin=path.read_bytes())
    assert code == 0
    assert from_stdin == rsn("warning", "backtest", str(path), "--method", methods.DEFAULT)[1]


def test_a_parameter_changes_the_verdict(tmp_path: Path) -> None:
    path, _ = counts_csv(tmp_path)
    strict = rows(rsn("warning", "backtest", str(path), "-m", "ears-c1", "-p", "threshold=100")[1])
    usual = rows(rsn("warning", "backtest", str(path), "-m", "ears-c1")[1])
    assert [r["score"] for r in strict] == [r["score"] for r in usual]
    assert any(r["alarm"] == "1" for r in usual) and not any(r["alarm"] == "1" for r in strict)


def test_an_unknown_method_exits_2_naming_those_there_are(tmp_path: Path) -> None:
    path, _ = counts_csv(tmp_path)
    code, out, err = rsn("warning", "backtest", str(path), "--method", "shewhart")
    assert code == 2 and out == ""
    assert "'shewhart' is not a method" in err
    assert all(name in err for name in methods.names())


def test_bad_parameters_and_files_exit_2(tmp_path: Path) -> None:
    path, _ = counts_csv(tmp_path)
    code, _, err = rsn("warning", "backtest", str(path), "-m", "ewma", "-p", "window=3")
    assert code == 2 and "ewma.window: not a parameter" in err
    code, _, err = rsn("warning", "backtest", str(path), "-p", "threshold")
    assert code == 2 and "'threshold' is not NAME=NUMBER" in err
    code, _, err = rsn("warning", "backtest", str(tmp_path / "missing.csv"))
    assert code == 2 and "is not a file" in err


def test_a_bad_row_exits_1_naming_it_and_writes_nothing(tmp_path: Path) -> None:
    code, out, err = rsn(
        "warning", "backtest", "-", stdin=b"series,period,count\na,w1,3\na,w2,-3\n"
    )
    assert code == 1 and out == ""
    assert "line 3, count: '-3' is not a non-negative integer" in err
