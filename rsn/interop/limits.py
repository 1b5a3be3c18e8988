"""How much one file may hold, for every parser, checked while it streams.

A parser that builds a value before measuring it can be made to hold far more
than the file: 100,000 nested arrays (200 KB) drove ijson's path-keeping parser
past 20 GB, its path strings growing with the square of the depth. So JSON is
read as bare events (`ijson.basic_parse`, no paths) through `events`, which
keeps only the short path it may have to name and refuses the first event past
a limit, before anything deep or long is built. CSV and CAP XML use the same
numbers where they apply (lxml's own limits stay on: `huge_tree` is off).

The operator's `rsn import` reads files of any size; uploads are bounded by
the byte limits below, refused before the body is all read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import ijson

from rsn.interop.model import problem

MAX_DEPTH = 64  # levels of JSON nesting, counted from the file's outermost value
MAX_OBJECTS = 250_000  # STIX objects, MISP events or CSV rows in one file or envelope
MAX_STRING = 2_000_000  # characters in one JSON string or key, bytes in one CSV field
MAX_LINE = 4 * MAX_STRING  # bytes in one line of a CSV file
MAX_UPLOAD = 512 * 2**20  # bytes of a file sent to `POST /api/v1/import`
MAX_PAGE_UPLOAD = 64 * 2**20  # bytes of a file sent from the `/exchange` page
MAX_ENVELOPE = 20 * 2**20  # bytes of one TAXII envelope (the API root's max_content_length)

Event = tuple[str, Any]


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


_OPEN = frozenset({"start_map", "start_array"})
_CLOSE = frozenset({"end_map", "end_array"})
_SHOWN = 6  # path steps named in a message; deeper ones are elided


def events(stream: Readable) -> Iterator[Event]:
    """ijson's basic events of a JSON file, refused at the first one past a limit."""
    path: list[str | int] = []  # per open level: its key (map) or next item index (array)
    for kind, value in ijson.basic_parse(stream, use_float=True):
        if kind in _CLOSE:
            path.pop()
            _next_item(path)
        elif kind == "map_key":
            _check_string(path, value)
            path[-1] = value
        else:
            if kind == "string":
                _check_string(path, value)
            if kind in _OPEN:
                if len(path) >= MAX_DEPTH:
                    raise problem(place(path), f"nested deeper than {MAX_DEPTH} levels.")
                path.append(0 if kind == "start_array" else "")
            else:
                _next_item(path)
        yield kind, value


def _next_item(path: list[str | int]) -> None:
    """After a complete value inside an array, the array's next index."""
    if path and isinstance(path[-1], int):
        path[-1] += 1


def _check_string(path: list[str | int], value: str) -> None:
    if len(value) > MAX_STRING:
        raise problem(place(path), f"a string longer than {MAX_STRING:,} characters.")


def place(path: list[str | int]) -> str:
    """`objects[0].x`: a path as errors name it; of a deep one, its first named steps."""
    shown = path[:_SHOWN]
    while len(path) > _SHOWN and len(shown) > 1 and isinstance(shown[-2], int):
        shown.pop()  # `objects[0].x[0]`, not `objects[0].x[0][0][0]`
    text = ""
    for step in shown:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text or "file"


def build(stream: Iterator[Event], first: Event) -> Any:
    """One JSON value from the event stream, its first event already read."""
    builder = ijson.ObjectBuilder()
    depth = 0
    event: Event | None = first
    while event is not None:
        kind, value = event
        builder.event(kind, value)
        depth += (kind in _OPEN) - (kind in _CLOSE)
        if depth == 0:
            return builder.value
        event = next(stream, None)
    raise problem("file", "ends in the middle of a value.")


def items_of(stream: Iterator[Event], key: str, *, where: str) -> Iterator[Any]:
    """The items of the outermost object's list `key`, one at a time, at most MAX_OBJECTS.

    Everything else in the file is read (so checked) and dropped; a file without
    such a list yields nothing, for the format to say what it expected.
    """
    first = next(stream, None)
    if first is None or first[0] != "start_map":
        drain(stream)
        return
    for kind, value in stream:
        if kind == "end_map":
            return
        opening = next(stream)
        if value == key and opening[0] == "start_array":
            yield from items(stream, where)
        else:
            build(stream, opening)


def drain(stream: Iterator[Event]) -> None:
    """Read the rest, so that whatever follows must still be well-formed (and within limits)."""
    for _ in stream:
        pass


def items(stream: Iterator[Event], where: str) -> Iterator[Any]:
    """The items of a list whose `start_array` was just read, at most MAX_OBJECTS."""
    for count, event in enumerate(stream):
        if event[0] == "end_array":
            return
        check_count(count, where)
        yield build(stream, event)


def check_count(index: int, where: str) -> None:
    """Refuse the item at `index` (from 0) if it is one more than a file may hold."""
    if index >= MAX_OBJECTS:
        raise problem(
            f"{where}[{index}]", f"one object too many: a file holds at most {MAX_OBJECTS:,}."
        )
