"""Lone UTF-16 surrogates in JSON imports are refused, naming where, as the REST API does.

JSON may spell a surrogate as an escape (`"x\\ud800y"`); alone, it is no character.
The REST API's schemas refuse such text, but the fast streaming parser (yajl) turns
it into `?` without a word, so an import stored `x?y`. Surrogate escapes are rare, so
the raw bytes are scanned first (fast, in C); only a file that has any is parsed once
more by ijson's pure-Python parser, which keeps them, to name the first lone one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
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


def _path(stack: list[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in stack).lstrip(".")
