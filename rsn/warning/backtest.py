"""Backtests: run a detection method over count series from a CSV file, outside any node.

The input is CSV with a header row naming the columns `series`, `period` and `count`
(in any order, no others), then one row per period of a series: its name, a period
label (any text: `2024-W07`, `2024-02-12`), and the count, a non-negative integer.
A series' periods are taken in the order the file gives them; rows of different series
may interleave. The output has one row per input row, series by series (in the order
each first appears): `series,period,score,alarm`, the score blank where the method
does not judge and the alarm 0 or 1.

Everything is bounded before it is kept: the file's size, a line's length, the rows,
the series and each field; a problem stops the whole file, naming its line and column.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Protocol

import numpy as np

from rsn.errors import ValidationError
from rsn.warning.methods import Floats, Method

COLUMNS = ("series", "period", "count")
OUTPUT_COLUMNS = ("series", "period", "score", "alarm")
MAX_BYTES = 64 * 2**20  # bytes in one file
MAX_ROWS = 1_000_000  # periods in one file, all series together
MAX_SERIES = 10_000  # series in one file
MAX_FIELD = 200  # characters in a series name or a period label
MAX_COUNT = 10**9  # a count above this is a mistake, not a report count
MAX_LINE = 4 * MAX_FIELD  # bytes in one line


class _Reader(Protocol):
    line_num: int

    def __iter__(self) -> Iterator[list[str]]: ...

    def __next__(self) -> list[str]: ...


@dataclass
class Series:
    """One series as read: its periods' labels and counts, in the file's order."""

    name: str
    periods: list[str] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)  # period label -> its line


def read(stream: IO[bytes]) -> list[Series]:
    """Every series in the file, checked row by row; the first problem is raised."""
    reader: _Reader = csv.reader(_lines(stream), strict=True)
    header = _header(reader)
    found: dict[str, Series] = {}
    for rows, cells in enumerate(_records(reader), 1):
        line = reader.line_num
        if rows > MAX_ROWS:
            raise _problem(line, None, f"is one row more than {MAX_ROWS:,}")
        if len(cells) != len(header):
            raise _problem(line, None, f"has {len(cells)} fields; the header has 3")
        row = dict(zip(header, (c.strip() for c in cells), strict=True))
        _add(found, line, row)
    return list(found.values())


def run(series: Iterable[Series], method: Method) -> Iterator[tuple[str, str, str, str]]:
    """The method's verdict on every period: (series, period, score or '', '0' or '1')."""
    for one in series:
        scores = method.run(np.array(one.counts, dtype=np.float64))
        cells = zip(one.periods, _scores(scores.score), scores.alarm.tolist(), strict=True)
        for period, score, alarm in cells:
            yield one.name, period, score, "1" if alarm else "0"


def write(rows: Iterable[tuple[str, ...]], out: IO[str]) -> None:
    """The output CSV, header first."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(OUTPUT_COLUMNS)
    writer.writerows(rows)


def _scores(score: Floats) -> Iterator[str]:
    for value in score.tolist():
        yield "" if math.isnan(value) else repr(value)


def _lines(stream: IO[bytes]) -> Iterator[str]:
    """The file's lines as text, refused past the byte and line-length limits."""
    total = 0
    for number, raw in enumerate(iter(lambda: stream.readline(MAX_LINE + 1), b""), 1):
        total += len(raw)
        if total > MAX_BYTES:
            raise ValidationError.field("file", f"is larger than {MAX_BYTES // 2**20} MiB")
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            raise _problem(number, None, f"is longer than {MAX_LINE} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _problem(number, None, f"is not UTF-8 text ({exc.reason})") from None
        yield text.removeprefix("\ufeff") if number == 1 else text


def _records(reader: _Reader) -> Iterator[list[str]]:
    """The reader's records without blank lines; CSV syntax errors named by line."""
    try:
        for cells in reader:
            if cells:
                yield cells
    except csv.Error as exc:
        raise _problem(reader.line_num, None, f"is not valid CSV ({exc})") from None


def _header(reader: _Reader) -> list[str]:
    first = next(_records(reader), None)
    if first is None:
        raise ValidationError.field("file", "is empty; the first line must be: series,period,count")
    names = [c.strip().lower() for c in first]
    if sorted(names) != sorted(COLUMNS):
        shown = ",".join(c.strip() for c in first)[:100]
        raise _problem(
            reader.line_num, "header", f"'{shown}' must name the columns series, period and count"
        )
    return names


def _add(found: dict[str, Series], line: int, row: dict[str, str]) -> None:
    name = _label(line, "series", row["series"])
    period = _label(line, "period", row["period"])
    count = _count(line, row["count"])
    series = found.get(name)
    if series is None:
        if len(found) >= MAX_SERIES:
            raise _problem(line, "series", f"'{name}' is one more than {MAX_SERIES:,} series")
        series = found[name] = Series(name)
    if period in series.seen:
        earlier = series.seen[period]
        raise _problem(line, "period", f"'{period}' is already in series '{name}' (line {earlier})")
    series.seen[period] = line
    series.periods.append(period)
    series.counts.append(count)


def _label(line: int, column: str, text: str) -> str:
    if not text:
        raise _problem(line, column, "is empty")
    if len(text) > MAX_FIELD:
        raise _problem(line, column, f"has {len(text)} characters; at most {MAX_FIELD}")
    return text


def _count(line: int, text: str) -> int:
    shown = text if len(text) <= 20 else text[:20] + "…"
    if not (text.isascii() and text.isdigit()):
        raise _problem(line, "count", f"'{shown}' is not a non-negative integer")
    if len(text) > 10 or int(text) > MAX_COUNT:
        raise _problem(line, "count", f"'{shown}' is larger than {MAX_COUNT:,}")
    return int(text)


def _problem(line: int, column: str | None, message: str) -> ValidationError:
    """A problem at a line, and in a column when it is one column's."""
    return ValidationError.field(f"line {line}, {column}" if column else f"line {line}", message)
