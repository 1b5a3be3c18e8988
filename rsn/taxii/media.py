"""The TAXII media type on the wire: negotiation, the response class, and POST bodies."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Annotated, Any

import ijson
from fastapi import Header, Request, Response

from rsn.errors import BadRequest, ContentTooLarge, NotAcceptable, UnsupportedMediaType
from rsn.interop import limits
from rsn.taxii.schemas import TAXII, TAXII_21, Resource, dump


class TaxiiResponse(Response):
    media_type = TAXII_21

    def render(self, content: Any) -> bytes:
        if isinstance(content, Resource):
            content = dump(content)
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _params(header: str) -> tuple[str, dict[str, str]]:
    """'application/taxii+json; version=2.1' -> ('application/taxii+json', {'version': '2.1'})."""
    kind, *rest = (part.strip() for part in header.split(";"))
    params = {}
    for item in rest:
        key, _, value = item.partition("=")
        params[key.strip().lower()] = value.strip().strip('"')
    return kind.lower(), params


def _refused(q: str) -> bool:
    """Whether a quality value says 'not this one' (q=0)."""
    try:
        return float(q) == 0
    except ValueError:
        return False


def accepts_taxii(accept: Annotated[str | None, Header()] = None) -> None:
    """TAXII 2.1 (or any type) must be acceptable to the client; no Accept means any."""
    if accept is None:
        return
    for media_range in accept.split(","):
        kind, params = _params(media_range)
        if _refused(params.get("q", "1")):
            continue
        if kind in ("*/*", "application/*"):
            return
        if kind == TAXII and params.get("version", "2.1") == "2.1":
            return
    raise NotAcceptable(
        f"This server answers in '{TAXII_21}' only, which the Accept header "
        f"'{accept[:200]}' does not allow."
    )


def check_content_type(content_type: str | None) -> None:
    """A POST body must be TAXII 2.1 (or TAXII without a version)."""
    kind, params = _params(content_type or "")
    if kind != TAXII or params.get("version", "2.1") != "2.1":
        raise UnsupportedMediaType(
            f"A POST must be '{TAXII_21}', not '{(content_type or 'nothing')[:200]}'."
        )


async def body(request: Request) -> bytes:
    """The body, refused past `max_content_length` before it is all read."""
    declared = request.headers.get("content-length", "")
    too_large = ContentTooLarge(
        f"The envelope is larger than this API root's max_content_length "
        f"({limits.MAX_ENVELOPE} bytes); send it in parts."
    )
    if declared.isdigit() and int(declared) > limits.MAX_ENVELOPE:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits.MAX_ENVELOPE:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def envelope_objects(body: bytes) -> list[Any]:
    """The envelope's objects, read within the import limits (depth, count, string length)."""
    try:
        return _envelope(limits.events(io.BytesIO(body)))
    except ijson.JSONError as exc:
        raise BadRequest(f"The body is not JSON: {exc}.") from None
    except UnicodeDecodeError as exc:
        raise BadRequest(f"The body is not UTF-8 text: {exc.reason}.") from None


def _envelope(events: Iterator[limits.Event]) -> list[Any]:
    not_envelope = BadRequest(
        "The body is not a TAXII envelope (an object with an 'objects' list)."
    )
    if next(events, ("", None))[0] != "start_map":
        limits.drain(events)
        raise not_envelope
    found: list[Any] = []
    for kind, key in events:
        if kind == "end_map":
            break
        opening = next(events)
        if key != "objects":
            limits.build(events, opening)
        elif opening[0] != "start_array":
            raise not_envelope
        else:
            found = list(limits.items(events, "objects"))
    limits.drain(events)
    return found
