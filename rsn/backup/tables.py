"""Every table of the node as JSON lines, and back: a copy that fits either store.

Rows are read and written through the models' tables, so a SQLite node restores into
PostgreSQL and back; times travel as ISO 8601 in UTC. Full-text search is kept by
each store in its own way outside the models (`rsn.reports.search`), so it is not
copied but rebuilt from the reports after a load.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from typing import IO, Any

from sqlalchemy import Connection, Date, Integer, Table, func, insert, select, text

import rsn.models  # noqa: F401  (every table is on Base.metadata)
from rsn.store import Base, UTCDateTime

CHUNK = 1000


def tables() -> list[Table]:
    """The node's tables, each after the tables it refers to."""
    return list(Base.metadata.sorted_tables)


def dump(conn: Connection, table: Table, out: IO[bytes]) -> int:
    """Write `table`'s rows to `out`, one JSON object a line; returns how many."""
    times = _time_columns(table)
    count = 0
    for row in conn.execute(select(table).order_by(*table.primary_key.columns)).mappings():
        item = {k: (v.isoformat() if k in times and v is not None else v) for k, v in row.items()}
        out.write(json.dumps(item, ensure_ascii=False).encode() + b"\n")
        count += 1
    return count


def late_columns(table: Table) -> list[str]:
    """Columns whose reference closes a cycle (a state's focal-point organization).

    The sort cannot put both tables first, so such a column is loaded empty and
    filled in once every table is in (`link`), and emptied before rows go (`empty`).
    """
    return [c.name for c in table.columns if any(fk.use_alter for fk in c.foreign_keys)]


Late = list[tuple[dict[str, Any], dict[str, Any]]]


def load(conn: Connection, table: Table, lines: Iterable[bytes], late: Late) -> int:
    """Insert the rows `dump` wrote, in chunks; returns how many.

    The values of `late_columns` are kept aside in `late`, keyed by primary key.
    """
    count = 0
    cycle = late_columns(table)
    keys = [c.name for c in table.primary_key.columns]
    for chunk in _chunks(_rows(table, lines)):
        for row in chunk:
            held = {name: row.pop(name) for name in cycle if row.get(name) is not None}
            if held:
                late.append(({k: row[k] for k in keys}, held))
        conn.execute(insert(table), chunk)
        count += len(chunk)
    return count


def link(conn: Connection, table: Table, late: Late) -> None:
    """Fill in the references `load` kept aside, now that what they point at is loaded."""
    for key, values in late:
        where = [table.c[name] == value for name, value in key.items()]
        conn.execute(table.update().where(*where).values(**values))


def _rows(table: Table, lines: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    times = _time_columns(table)
    for line in lines:
        if line.strip():
            item: dict[str, Any] = json.loads(line)
            for name, parse in times.items():
                if item.get(name) is not None:
                    item[name] = parse(item[name])
            yield item


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _time_columns(table: Table) -> dict[str, Callable[[str], Any]]:
    """The columns JSON cannot carry as they are (times, days), and how to read them back."""
    found: dict[str, Callable[[str], Any]] = {}
    for c in table.columns:
        if isinstance(c.type, UTCDateTime):
            found[c.name] = datetime.fromisoformat
        elif isinstance(c.type, Date):
            found[c.name] = date.fromisoformat
    return found


def first_filled(conn: Connection) -> str | None:
    """The name of a table that holds a row, or None when the node is empty."""
    for table in tables():
        if conn.execute(select(func.count()).select_from(table)).scalar_one():
            return table.name
    return None


def empty(conn: Connection) -> None:
    """Delete every row, the tables that refer to others first (and SQLite's search index)."""
    for table in tables():
        for name in late_columns(table):
            conn.execute(table.update().values({name: None}))
    for table in reversed(tables()):
        conn.execute(table.delete())
    if conn.dialect.name == "sqlite":
        conn.execute(text("DELETE FROM report_fts"))


def renumber(conn: Connection) -> None:
    """PostgreSQL: move each id sequence past the ids loaded with their values."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables():
        for col in table.primary_key.columns:
            if isinstance(col.type, Integer) and col.autoincrement in (True, "auto"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', '{col.name}'),"
                        f" COALESCE((SELECT MAX({col.name}) FROM {table.name}), 0) + 1, false)"
                    )
                )
