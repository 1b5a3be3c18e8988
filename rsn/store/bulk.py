"""Multi-row inserts of plain rows, handed to the driver as they are.

`connection.execute(insert(table), rows)` runs every row through SQLAlchemy's
parameter processing, about 10 µs a row. The index rows a report version writes
(observables, audience grants, correlation entries: ~13 per report) hold only
strings and integers that need no processing, so for them that is pure overhead:
a fifth of the CPU of a bulk load. Here the rows go to the driver as one INSERT:
an executemany on SQLite, arrays `unnest`ed in one statement on PostgreSQL.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Date, Integer, String, Table

from rsn.store.db import Base

Row = Mapping[str, str | int | None]


def insert_plain(connection: Connection, model: type[Base], rows: Sequence[Row]) -> None:
    """INSERT many rows, given as mappings that name every column of the table.

    The same single statement as `insert_rows` (the mappings become tuples in the
    table's column order).
    """
    if rows:
        table: Table = model.__table__  # type: ignore[assignment]
        columns = tuple(c.name for c in table.columns)
        _send(connection, table, columns, [tuple(r[c] for c in columns) for r in rows], "")


Values = Sequence[Any]  # one row's values, in the order of the columns named


@functools.cache
def _types(table: Table, columns: tuple[str, ...]) -> tuple[str, ...]:
    """PostgreSQL's name for each column's type, for arrays of it."""
    names = []
    for name in columns:
        kind = table.c[name].type
        if isinstance(kind, Date):
            names.append("date")
        elif isinstance(kind, Integer):
            names.append("bigint")
        elif isinstance(kind, String):
            names.append("text")
        else:
            raise TypeError(f"{table.name}.{name} needs processing; use insert()")
    return tuple(names)


def _send(
    connection: Connection,
    table: Table,
    columns: tuple[str, ...],
    rows: Sequence[Values],
    tail: str,
) -> None:
    """One INSERT of many rows (with `tail` after it), as each driver takes it fastest.

    PostgreSQL gets the columns as arrays in one statement (`unnest`): an executemany
    there is a statement a row for the server, which made a filing's ~10 count rows
    cost more than the rest of it. SQLite, in process, takes an executemany.
    """
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        arrays = ", ".join(f"%s::{t}[]" for t in _types(table, columns))
        sql = f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({arrays}) {tail}"
        connection.exec_driver_sql(sql, tuple(list(column) for column in zip(*rows, strict=True)))
        return
    days = [i for i, t in enumerate(_types(table, columns)) if t == "date"]
    marks = ", ".join("?" * len(columns))
    plain: Sequence[Values] = rows
    if days:  # SQLite keeps a date as its ISO text, as SQLAlchemy's Date writes it
        lists = [list(row) for row in rows]
        for row in lists:
            for i in days:
                row[i] = row[i].isoformat()
        plain = [tuple(row) for row in lists]
    connection.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks}) {tail}", plain)


def insert_rows(
    connection: Connection,
    model: type[Base],
    columns: Sequence[str],
    rows: Sequence[Values],
    *,
    skip_existing: bool = False,
) -> None:
    """INSERT many rows of strings, integers and dates, given in the order of `columns`.

    `skip_existing`: a row whose key is there already is left as it is (two writers
    adding the same row at once both succeed).
    """
    if rows:
        tail = "ON CONFLICT DO NOTHING" if skip_existing else ""
        _send(connection, model.__table__, tuple(columns), rows, tail)  # type: ignore[arg-type]


def add_to(
    connection: Connection,
    model: type[Base],
    key: Sequence[str],
    count: str,
    rows: Sequence[Values],
) -> None:
    """INSERT rows of counts, adding `count` to the row already there for a key.

    Rows are `key` values then the count; no key may come twice in one call.
    """
    if rows:
        table: Table = model.__table__  # type: ignore[assignment]
        keys = ", ".join(key)
        tail = (
            f"ON CONFLICT ({keys}) DO UPDATE SET {count} = {table.name}.{count} + excluded.{count}"
        )
        _send(connection, table, (*key, count), rows, tail)
