"""Request bodies read as JSON with numbers bounded, so a huge one is named, not a 400.

Python refuses to turn a string of more than 4,300 digits into an int (a guard
against quadratic conversion); inside `json.loads` that surfaces as a bare
ValueError, which FastAPI answers with "There was an error parsing the body".
Here such a number parses to a `LongNumber`, which no request schema accepts, so
validation names the field that held it (`confidence: Input should be a valid
integer (got a number of 5,000 digits).`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


class LongNumber:
    """A JSON integer too long for Python to convert: no field accepts it."""

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return f"a number of {self.digits:,} digits"


def _integer(text: str) -> int | LongNumber:
    digits = len(text.lstrip("-"))
    limit = sys.get_int_max_str_digits()
    return LongNumber(digits) if limit and digits > limit else int(text)


class BoundedJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = json.loads(await self.body(), parse_int=_integer)
        return self._json


class JSONRoute(APIRoute):
    """The route class of the REST routers: their bodies are read as above."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            return await handler(BoundedJSONRequest(request.scope, request.receive))

        return bounded
