"""Lone UTF-16 surrogates in JSON imports are refused, naming where, as the REST API does.

JSON may spell a surrogate as an escape (`"x\\ud800y"`); alone, it is no character.
The REST API's schemas refuse such text, but the fast streaming parser (yajl) turns
it into `?` without a word, so an import stored `x?y`. Surrogate escapes are rare, so
the raw bytes are scanned first (fast, in C); only a file that has any is parsed once
more by ijson's pure-Python parser, which keeps them, to name the first lone one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import IO, Any

import ijson

from rsn.interop.model import problem

ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
LONE = re.compile(r"[\ud800-\udfff]")
CHUNK = 1 << 20
VALUES = {"start_map", "start_array", "string", "number", "integer", "double", "boolean", "null"}
MESSAGE = "holds a lone UTF-16 surrogate ('\\u{:04x}'), which is not a character."


def refuse_in_stream(stream: IO[bytes]) -> None:
    """Refuse a seekable JSON file with a lone surrogate; leaves it at the start."""
    found = _has_escape(stream)
    stream.seek(0)
    if not found:
        return
    try:
        where = _first_lone(ijson.get_backend("python").parse(stream))
    except (ijson.JSONError, UnicodeDecodeError):
        where = None  # the parser proper names what is wrong with the file
    stream.seek(0)
    if where is not None:
        path, char = where
        raise problem(path or "file", MESSAGE.format(ord(char)))


def refuse_in_objects(objects: Iterable[Any], where: str = "objects") -> None:
    """The same refusal for JSON already parsed by `json` (which keeps surrogates)."""
    for index, obj in enumerate(objects):
        found = _first_lone(_events(obj))
        if found is not None:
            path, char = found
            raise problem(f"{where}[{index}]" + _tail(path), MESSAGE.format(ord(char)))


def _has_escape(stream: IO[bytes]) -> bool:
    tail = b""
    while chunk := stream.read(CHUNK):
        if ESCAPE.search(tail + chunk):
            return True
        tail = chunk[-5:]
    return False


def _first_lone(events: Iterator[tuple[str, str, Any]]) -> tuple[str, str] | None:
    """(path such as `objects[0].name`, the surrogate) of the first lone one, or None."""
    stack: list[str | int] = []
    for _prefix, event, value in events:
        if stack and isinstance(stack[-1], int) and event in VALUES:
            stack[-1] += 1
        if event in {"map_key", "string"} and (hit := LONE.search(value)):
            return _path(stack), hit.group()
        if event == "map_key":
            stack[-1] = value
        elif event == "start_map":
            stack.append("")
        elif event == "start_array":
            stack.append(-1)
        elif event in {"end_map", "end_array"}:
            stack.pop()
    return None


def _events(value: Any) -> Iterator[tuple[str, str, Any]]:
    """ijson-like events of a parsed value, walked without recursion (nesting may be deep)."""
    todo: list[tuple[str, Any]] = [("value", value)]
    while todo:
        kind, item = todo.pop()
        if kind != "value":
            yield "", kind, item
        elif isinstance(item, dict):
            yield "", "start_map", None
            todo.append(("end_map", None))
            for key, inner in reversed(list(item.items())):
                todo.extend([("value", inner), ("map_key", key)])
        elif isinstance(item, list):
            yield "", "start_array", None
            todo.append(("end_array", None))
            todo.extend(("value", inner) for inner in reversed(item))
        else:
            yield "", "string" if isinstance(item, str) else "null", item


def _path(stack: list[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in stack).lstrip(".")


def _tail(path: str) -> str:
    return path if not path or path.startswith("[") else "." + path
