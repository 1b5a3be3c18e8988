"""Import and export as the CLI and the REST API run them: format, context, audit.

Both faces call these two functions, so a file imported by `rsn import` and one
POSTed to `/api/v1/import` go through the same checks and leave the same trace.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

import ijson
from sqlalchemy.orm import Session

from rsn import audit
from rsn.errors import ValidationError
from rsn.interop import formats, ingest, outbound, provenance, staged, surrogates
from rsn.interop.formats import Format
from rsn.interop.model import ExportContext, ExportItem, ImportContext, Incoming
from rsn.registry import catalog
from rsn.sharing import Principal
from rsn.store import Database

Progress = Callable[[int], None]


class Counted:
    """A binary stream that reports how many bytes were read, for a progress bar."""

    def __init__(self, raw: IO[bytes], progress: Progress | None) -> None:
        self.raw = raw
        self.progress = progress

    def read(self, size: int = -1) -> bytes:
        chunk = self.raw.read(size)
        if self.progress is not None and chunk:
            self.progress(len(chunk))
        return chunk

    def readline(self, size: int = -1) -> bytes:
        line = self.raw.readline(size)
        if self.progress is not None and line:
            self.progress(len(line))
        return line

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")


@dataclass(frozen=True)
class ImportResult:
    format: str
    summary: ingest.Summary


def import_stream(
    session: Session,
    *,
    principal: Principal,
    stream: IO[bytes],
    format: str | None = None,
    country: str | None = None,
    node_name: str = "rsn",
    progress: Progress | None = None,
) -> ImportResult:
    """Read a file in any known format and store it as `principal`, all or nothing.

    The stream must be seekable (a file, an upload spooled to disk): its first
    bytes are read to tell the format, then it is read again from the start.
    """
    fmt, context = _reading(session, principal, stream, format, country, node_name)
    parsed = fmt.load().parse(Counted(stream, progress), context)
    with _as_file_problems(), _no_cycle_collection():
        summary = ingest.store(session, principal=principal, items=parsed)
    return ImportResult(fmt.name, summary)


def import_staged(
    db: Database,
    *,
    principal: Principal,
    stream: IO[bytes],
    format: str | None = None,
    country: str | None = None,
    node_name: str = "rsn",
    progress: Progress | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """`import_stream` for a node in use: other users' writes go on while it is written.

    The file is checked whole before anything is written, written in chunks that
    other writers interleave with, and made visible all at once (`staged`); a dry
    run does the same and keeps nothing. `progress` follows the writing pass.
    """
    with db.session() as session:
        fmt, context = _reading(session, principal, stream, format, country, node_name)
    passes = 0

    def items() -> Iterator[Incoming]:
        nonlocal passes
        passes += 1
        stream.seek(0)
        counted = Counted(stream, progress if passes == 2 else None)
        return iter(fmt.load().parse(counted, context))

    with _as_file_problems(), _no_cycle_collection():
        summary = staged.run(
            db, principal=principal, items=items, format_name=fmt.name, dry_run=dry_run
        )
    return ImportResult(fmt.name, summary)


def _reading(
    session: Session,
    principal: Principal,
    stream: IO[bytes],
    format: str | None,
    country: str | None,
    node_name: str,
) -> tuple[Format, ImportContext]:
    """The file's format (named, or told from its first bytes) and what its parser needs."""
    head = stream.read(formats.HEAD_BYTES)
    stream.seek(0)
    fmt = formats.get(format, reading=True) if format else formats.detect(head)
    context = ImportContext(
        importer_org=principal.organization_slug,
        default_country=(country or principal.member_state or None),
        categories=catalog.category_ids(session),
        node_name=node_name,
    )
    if "json" in fmt.media_type:
        surrogates.refuse_in_stream(stream)
    return fmt, context


@contextmanager
def _as_file_problems() -> Iterator[None]:
    """A file that is not the JSON or text it claims is a problem with the field `file`."""
    try:
        yield
    except ijson.JSONError as exc:
        raise ValidationError.field("file", f"is not valid JSON: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ValidationError.field("file", f"is not UTF-8 text: {exc.reason}.") from None


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector for the length of an import.

    A parser holds the file's objects until their reports are complete, and every
    full collection walks that growing heap without finding garbage: measured, a
    quarter to a third of a large import's time. Reference counting still frees
    everything as usual; the pause only defers cycle detection, and ends here.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def export_stream(
    session: Session,
    *,
    principal: Principal,
    out: IO[bytes],
    format: str,
    since: datetime | None = None,
    node_name: str = "rsn",
    node_url: str | None = None,
) -> int:
    """Write every report `principal` may read (modified since `since`) in `format`.

    Returns how many reports the format wrote; an audit record names every
    report whose non-public fields left the node with this export.
    """
    fmt = formats.get(format)
    carried: list[ExportItem] = []
    selects = getattr(fmt.load(), "selects", None)  # a format that carries only some reports
    found = outbound.stream(session, principal=principal, since=since)
    items = _noted((i for i in found if selects is None or selects(i)), carried)
    seal = provenance.node_mac(session).sign
    written = fmt.export(items, out, ExportContext(node_name, node_url, seal))
    outbound.record_disclosure(
        session, principal=principal, exported=carried, action=f"report.export.{fmt.name}"
    )
    return written


def _noted(items: Iterable[ExportItem], carried: list[ExportItem]) -> Iterator[ExportItem]:
    """Pass items through, keeping a light copy (no versions) for the audit record."""
    for item in items:
        carried.append(ExportItem(item.report_id, item.originator, item.versions[-1:]))
        yield item


def operator_record(
    session: Session, *, operator: str, action: str, detail: dict[str, Any]
) -> None:
    """An operator acting as a user (`--as`) is audited as the operator, naming the user."""
    audit.record(session, actor=operator, action=action, detail=detail)


def describe(fmt: Format) -> str:
    return f"{fmt.description} ({fmt.name})"
