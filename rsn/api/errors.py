"""One handler turns every error into a JSON body that names the field and the problem."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from rsn.errors import Busy, FieldProblem, RSNError
from rsn.taxii.schemas import TAXII_21

log = logging.getLogger("rsn.api")
SOURCES = {"body", "query", "path", "header", "cookie"}


def field_path(loc: Sequence[Any]) -> str:
    """('body', 'observables', 1, 'value') -> 'observables[1].value'."""
    parts = list(loc)
    source = parts.pop(0) if parts and parts[0] in SOURCES else None
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif str(part).startswith(("function-after", "function-plain", "literal[")):
            continue
        else:
            path += ("." if path else "") + str(part)
    return path or (source or "body")


def describe(error: dict[str, Any]) -> FieldProblem:
    """A pydantic error as one sentence a user can act on."""
    kind, message = error.get("type", ""), str(error.get("msg", ""))
    field = field_path(error.get("loc", ()))
    if kind == "json_invalid":
        ctx = error.get("ctx", {}).get("error", "")
        return FieldProblem("body", f"is not valid JSON ({ctx}).")
    if kind == "missing":
        return FieldProblem(field, "is required.")
    if kind == "extra_forbidden":
        return FieldProblem(field, "is not a field this endpoint accepts.")
    message = message.removeprefix("Value error, ")
    if (
        kind not in {"value_error"}
        and "input" in error
        and not isinstance(error["input"], dict | list)
    ):
        message = f"{message} (got {error['input']!r})"
    return FieldProblem(field, message[:1].upper() + message[1:].rstrip(".") + ".")


def body(message: str, problems: Sequence[FieldProblem] = ()) -> dict[str, Any]:
    return {
        "detail": message,
        "errors": [{"field": p.field, "message": p.message} for p in problems],
    }


MACHINE_PATHS = ("/api/", "/taxii2", "/healthz", "/openapi.json")
PageRenderer = Callable[[Request, int, str], Response]
TAXII_PATH = "/taxii2"
TAXII_CHALLENGE = 'Basic realm="rsn", Bearer realm="rsn"'


def taxii_error(
    status: int,
    message: str,
    problems: Sequence[FieldProblem],
    headers: Mapping[str, str] | None,
) -> Response:
    """A TAXII 2.1 error message; a bad request parameter is a 400 there, as TAXII has it."""
    status = 400 if status == 422 else status
    content: dict[str, Any] = {
        "title": HTTPStatus(status).phrase,
        "description": message,
        "http_status": str(status),
    }
    if problems:
        content["details"] = {p.field: p.message for p in problems}
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": TAXII_CHALLENGE}
    return JSONResponse(content, status, headers=headers, media_type=TAXII_21)


def _for_machines(request: Request) -> bool:
    return request.url.path.startswith(MACHINE_PATHS)


def install(app: FastAPI, pages: PageRenderer | None = None) -> None:
    """JSON for the API; for browser pages, `pages` renders errors/<status>.html."""

    def answer(
        request: Request,
        status: int,
        message: str,
        problems: Sequence[FieldProblem],
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        if pages is not None and not _for_machines(request):
            shown = pages(request, status, message)
            shown.headers.update(headers or {})
            return shown
        if request.url.path.startswith(TAXII_PATH):
            return taxii_error(status, message, problems, headers)
        return JSONResponse(body(message, problems), status_code=status, headers=headers)

    async def on_rsn_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RSNError)
        problems = getattr(exc, "problems", [])
        headers = None
        if exc.status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
            problems = [FieldProblem("Authorization", exc.message)]
        elif isinstance(exc, Busy):
            headers = {"Retry-After": str(exc.retry_after)}
        return answer(request, exc.status, exc.message, problems, headers)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = [describe(e) for e in exc.errors()]
        message = "; ".join(f"{p.field}: {p.message}" for p in problems)
        return answer(request, 422, message, problems)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return answer(request, exc.status_code, str(exc.detail), [], exc.headers)

    app.add_exception_handler(RSNError, on_rsn_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
