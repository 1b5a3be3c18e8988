"""REST import and export: the same flows as `rsn import` / `rsn export`, as the caller."""

from __future__ import annotations

import tempfile
from datetime import datetime
from typing import IO, Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from rsn.api.deps import NodeDep, PrincipalDep
from rsn.api.jsonbody import JSONRoute
from rsn.errors import TooLarge, ValidationError
from rsn.interop import flows, formats, limits
from rsn.node import Node
from rsn.reports.schemas import utc_param
from rsn.sharing import Principal

router = APIRouter(prefix="/api/v1", tags=["exchange"], route_class=JSONRoute)

SPOOL = 8 * 1024 * 1024  # bytes kept in memory before an upload or export spills to disk
CHUNK = 1024 * 1024


@router.post("/import")
async def import_file(
    request: Request,
    node: NodeDep,
    principal: PrincipalDep,
    format: Annotated[
        str | None, Query(description="Detected from the file when left out.")
    ] = None,
    country: Annotated[
        str | None, Query(description="For reports whose source gives none.")
    ] = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Import the request body (a STIX bundle, MISP event(s), CAP alert or CSV), atomically."""
    upload = await _spooled(request)
    try:
        result = await run_in_threadpool(_import, node, principal, upload, format, country, dry_run)
    finally:
        upload.close()
    return {"format": result.format, "dry_run": dry_run, **result.summary.as_dict()}


async def _spooled(request: Request) -> IO[bytes]:
    """The body on disk past a few MB, refused past the limit before it is all read."""
    upload = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 (closed by the caller)
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits.MAX_UPLOAD:
            upload.close()
            raise TooLarge.field(
                "file", f"is larger than {limits.MAX_UPLOAD // 2**20} MB; use `rsn import`."
            )
        upload.write(chunk)
    if size == 0:
        upload.close()
        raise ValidationError.field("file", "the request body is empty; send the file as the body.")
    upload.seek(0)
    return upload


def _import(
    node: Node,
    principal: Principal,
    upload: IO[bytes],
    format: str | None,
    country: str | None,
    dry_run: bool,
) -> flows.ImportResult:
    return flows.import_staged(
        node.db,
        principal=principal,
        stream=upload,
        format=format,
        country=country,
        node_name=node.settings.node_name,
        dry_run=dry_run,
    )


@router.get("/export")
async def export_file(
    node: NodeDep,
    principal: PrincipalDep,
    format: Annotated[str, Query(description=f"One of: {', '.join(formats.EXPORTS)}.")],
    since: Annotated[datetime | None, Query(description="Modified at or after (RFC 3339).")] = None,
) -> StreamingResponse:
    """Everything the caller may read, in one format: never more, node-admins included."""
    fmt = formats.get(format)
    after = None if since is None else utc_param("since", since)
    spool = await run_in_threadpool(_export, node, principal, fmt.name, after)
    name = f"rsn-export{fmt.suffix}"
    return StreamingResponse(
        _chunks(spool),
        media_type=fmt.media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _export(node: Node, principal: Principal, fmt: str, since: datetime | None) -> IO[bytes]:
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 (closed by _chunks)
    try:
        with node.db.session(write=True) as session:
            flows.export_stream(
                session,
                principal=principal,
                out=spool,
                format=fmt,
                since=since,
                node_name=node.settings.node_name,
            )
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


def _chunks(spool: IO[bytes]) -> Any:
    try:
        while chunk := spool.read(CHUNK):
            yield chunk
    finally:
        spool.close()
