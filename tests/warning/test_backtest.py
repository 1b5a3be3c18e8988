"""Backtests from CSV: the parser's bounds and messages, and scores that survive the round trip."""

from __future__ import annotations

import csv
import io
import math
from typing import IO, cast

import numpy as np
import pytest

from rsn.errors import ValidationError
from rsn.warning import backtest, methods

HEADER = b"series,period,count\n"


def read(text: str | bytes) -> list[backtest.Series]:
    data = text.encode() if isinstance(text, str) else text
    return backtest.read(io.BytesIO(data))


class Endless:
    """A stream that never ends: what a parser without bounds would read forever."""

    def __init__(self, head: bytes, line: bytes) -> None:
        self.head, self.line, self.read = head, line, 0

    def readline(self, size: int = -1) -> bytes:
        chunk = self.head if self.read == 0 else self.line
        self.read += 1
        return chunk[:size] if size >= 0 else chunk


class Numbered(Endless):
    """Endless rows, each of a new period (and, with `series_each`, of a new series)."""

    def __init__(self, series_each: bool = False) -> None:
        super().__init__(HEADER, b"")
        self.series_each = series_each

    def readline(self, size: int = -1) -> bytes:
        self.read += 1
        if self.read == 1:
            return HEADER
        name = f"s{self.read}" if self.series_each else "s"
        return f"{name},p{self.read},1\n".encode()[:size]


def endless(stream: Endless) -> IO[bytes]:
    return cast(IO[bytes], stream)


# -- reading ------------------------------------------------------------------------------


def test_series_are_read_in_the_files_order() -> None:
    found = read("series,period,count\nb,w1,2\na,w1,0\nb,w2,5\na,w2,1\nb,w3,0\n")
    assert [(s.name, s.periods, s.counts) for s in found] == [
        ("b", ["w1", "w2", "w3"], [2, 5, 0]),
        ("a", ["w1", "w2"], [0, 1]),
    ]


def test_a_spreadsheets_csv_reads_too() -> None:
    """Columns in another order, a byte-order mark, CRLF, quotes, blanks and spaces."""
    text = '\ufeffCount, Series ,period\r\n\r\n 3 ,"Bay of Bengal, piracy",2024-W01\r\n'
    (found,) = read(text.encode("utf-8"))
    assert (found.name, found.periods, found.counts) == ("Bay of Bengal, piracy", ["2024-W01"], [3])


def test_an_empty_file_and_a_header_only_file() -> None:
    with pytest.raises(ValidationError, match="file: is empty; the first line must be"):
        read("")
    assert read(HEADER) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("a,1,-3", "line 2, count: '-3' is not a non-negative integer"),
        ("a,1,3.5", "line 2, count: '3.5' is not a non-negative integer"),
        ("a,1,", "line 2, count: '' is not a non-negative integer"),
        ("a,1,٣", "line 2, count: '٣' is not a non-negative integer"),  # an Arabic-Indic 3
        ("a,1,1000000001", "line 2, count: '1000000001' is larger than 1,000,000,000"),
        (",1,3", "line 2, series: is empty"),
        ("a, ,3", "line 2, period: is empty"),
        ("a," + "p" * 201 + ",3", "line 2, period: has 201 characters; at most 200"),
        ("a,1,3\nb,1,3\na,1,4", r"line 4, period: '1' is already in series 'a' \(line 2\)"),
        ("a,1,3\na,2", "line 3: has 2 fields; the header has 3"),
        ("a,1,3,9", "line 2: has 4 fields; the header has 3"),
        ('a,"1,3', "line 2: is not valid CSV"),
    ],
)
def test_a_bad_row_is_named_by_line_and_column(body: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        read("series,period,count\n" + body + "\n")


@pytest.mark.parametrize(
    "header", ["series,period", "series,period,count,note", "name,period,count", "a,1,3"]
)
def test_the_header_must_name_the_three_columns(header: str) -> None:
    with pytest.raises(ValidationError, match=r"line 1, header: .* must name the columns"):
        read(header + "\na,1,3\n")


def test_text_that_is_not_utf8_is_named_by_line() -> None:
    with pytest.raises(ValidationError, match="line 3: is not UTF-8 text"):
        read(HEADER + b"a,1,3\n\xff,2,3\n")


# -- bounds: each is met while reading, before anything past it is kept ---------------------


def test_rows_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backtest, "MAX_ROWS", 50)
    with pytest.raises(ValidationError, match="line 52: is one row more than 50"):
        backtest.read(endless(Numbered()))


def test_series_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backtest, "MAX_SERIES", 20)
    with pytest.raises(ValidationError, match="line 22, series: 's22' is one more than 20 series"):
        backtest.read(endless(Numbered(series_each=True)))


def test_the_file_size_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backtest, "MAX_BYTES", 4096)
    monkeypatch.setattr(backtest, "MAX_ROWS", 10**9)
    with pytest.raises(ValidationError, match="file: is larger than"):
        backtest.read(endless(Numbered()))


def test_a_line_is_bounded() -> None:
    """A line with no end is refused after MAX_LINE bytes, however long it runs."""
    stream = Endless(HEADER, b"a" * 10_000)
    with pytest.raises(ValidationError, match=f"line 2: is longer than {backtest.MAX_LINE} bytes"):
        backtest.read(endless(stream))
    assert stream.read == 2  # one read of the header, one of the line: nothing more kept


# -- the round trip ---------------------------------------------------------------------------


def test_scores_survive_the_round_trip() -> None:
    """Rows in, the method on each series, CSV out: read back, exactly the method's scores."""
    rng = np.random.default_rng(4)
    counts = {name: rng.poisson(lam, 80) for name, lam in (("bd.piracy", 3), ("mm.flood", 0.5))}
    counts["bd.piracy"][70] = 30
    rows = [(name, f"2024-{t:03d}", int(c[t])) for t in range(80) for name, c in counts.items()]
    text = "series,period,count\n" + "".join(f"{s},{p},{c}\n" for s, p, c in rows)
    method = methods.by_name("ewma")

    out = io.StringIO()
    backtest.write(backtest.run(read(text), method), out)
    back = list(csv.reader(io.StringIO(out.getvalue())))

    assert back[0] == ["series", "period", "score", "alarm"]
    assert len(back) == 1 + len(rows)
    for name, series in counts.items():
        mine = [r for r in back[1:] if r[0] == name]
        assert [r[1] for r in mine] == [f"2024-{t:03d}" for t in range(80)]
        expected = method.run(series.astype(np.float64))
        scores = [math.nan if r[2] == "" else float(r[2]) for r in mine]
        assert np.array_equal(scores, expected.score, equal_nan=True)
        assert [r[3] == "1" for r in mine] == expected.alarm.tolist()
    assert [r[0] for r in back[1:]] == ["bd.piracy"] * 80 + ["mm.flood"] * 80
    assert any(r[3] == "1" for r in back[1:]) and any(r[2] == "" for r in back[1:])
