"""Import and export in the browser: the same flows as `rsn import`/`rsn export`.

An analyst who never opens a terminal still needs to hand a partner a STIX bundle
or load a MISP event; these pages run `rsn.interop.flows` as the signed-in user,
so what leaves is what that user may read and what comes in is filed by them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import IO

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from starlette.datastructures import FormData, UploadFile

from rsn import clock, sharing
from rsn.errors import RSNError, ValidationError
from rsn.interop import flows, formats, limits
from rsn.node import Node
from rsn.reports.schemas import utc_param
from rsn.sharing import Principal
from rsn.web.deps import FormViewerDep, NodeDep, Viewer, ViewerDep
from rsn.web.templating import page

router = APIRouter(include_in_schema=False)
SPOOL = 8 * 1024 * 1024
CHUNK = 1024 * 1024


@router.get("/exchange", response_class=HTMLResponse)
def exchange(request: Request, node: NodeDep, viewer: ViewerDep) -> Response:
    return _page(request, viewer)


def _page(
    request: Request,
    viewer: Viewer,
    *,
    status: int = 200,
    result: flows.ImportResult | None = None,
    dry_run: bool = False,
    error: str | None = None,
) -> Response:
    return page(
        request,
        "exchange/index.html",
        viewer,
        status_code=status,
        exports=[formats.FORMATS[name] for name in formats.EXPORTS],
        imports=[formats.FORMATS[name] for name in formats.IMPORTS],
        may_import=sharing.may_file(viewer.principal),
        result=result,
        dry_run=dry_run,
        error=error,
    )


@router.get("/exchange/export")
def export(
    node: NodeDep, viewer: ViewerDep, format: str, since: str | None = None
) -> StreamingResponse:
    """The file, with exactly what the signed-in user may read."""
    fmt = formats.get(format)
    after = _since(since)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 (closed by _chunks)
    try:
        with node.db.session(write=True) as session:
            flows.export_stream(
                session,
                principal=viewer.principal,
                out=spool,
                format=fmt.name,
                since=after,
                node_name=node.settings.node_name,
            )
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    name = f"rsn-{clock.today().isoformat()}{'-' + fmt.name if fmt.name != 'stix' else ''}"
    return StreamingResponse(
        _chunks(spool),
        media_type=fmt.media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}{fmt.suffix}"'},
    )


def _since(value: str | None) -> datetime | None:
    """The form's ISO date (from the start of that day) or time, in UTC unless it says."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) > len("YYYY-MM-DD"):
            when = datetime.fromisoformat(text)
            return utc_param("since", when if when.tzinfo else when.replace(tzinfo=UTC))
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
    except ValueError:
        message = f"'{text[:40]}' is not a date (use YYYY-MM-DD, or YYYY-MM-DDTHH:MM in UTC)."
        raise ValidationError.field("since", message) from None


def _chunks(spool: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := spool.read(CHUNK):
            yield chunk
    finally:
        spool.close()


@router.post("/exchange/import", response_class=HTMLResponse)
async def import_file(request: Request, node: NodeDep, viewer: FormViewerDep) -> Response:
    """Import the uploaded file; on any problem the page says which object and nothing is kept."""
    form = await request.form()
    try:
        return _imported(request, node, viewer, form)
    finally:
        await form.close()  # the upload's temporary file


def _imported(request: Request, node: Node, viewer: Viewer, form: FormData) -> Response:
    upload, dry_run = form.get("file"), form.get("dry_run") == "on"
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _page(request, viewer, status=422, error="file: choose a file to import.")
    if upload.size is not None and upload.size > limits.MAX_PAGE_UPLOAD:
        mb = limits.MAX_PAGE_UPLOAD // 2**20
        message = f"file: larger than {mb} MB; use `rsn import` for large files."
        return _page(request, viewer, status=413, error=message)
    chosen = form.get("format")
    fmt = chosen if isinstance(chosen, str) and chosen else None
    try:
        result = _import(node, viewer.principal, upload.file, fmt, dry_run)
    except RSNError as exc:
        return _page(request, viewer, status=exc.status, error=exc.message, dry_run=dry_run)
    return _page(request, viewer, result=result, dry_run=dry_run)


def _import(
    node: Node, principal: Principal, stream: IO[bytes], fmt: str | None, dry_run: bool
) -> flows.ImportResult:
    return flows.import_staged(
        node.db,
        principal=principal,
        stream=stream,
        format=fmt,
        node_name=node.settings.node_name,
        dry_run=dry_run,
    )
