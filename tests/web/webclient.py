"""An in-process browser stand-in: cookies, sign-in, and the CSRF token of each page."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
from fastapi import FastAPI

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
BODY_CSRF = re.compile(r'data-csrf="([^"]+)"')


class WebClient:
    """Keeps cookies between requests like a browser; `csrf` is the last page's token."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.cookies = httpx.Cookies()
        self.csrf = ""

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://127.0.0.1", cookies=self.cookies
            ) as client:
                response = await client.request(method, url, **kwargs)
                self.cookies.update(client.cookies)
                return response

        response = asyncio.run(send())
        found = BODY_CSRF.search(response.text) or CSRF.search(response.text)
        if found and response.headers.get("content-type", "").startswith("text/html"):
            self.csrf = found.group(1)
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        """A form post carrying the current CSRF token unless the caller sets one."""
        form = {"csrf_token": self.csrf, **(data or {})}
        return self.request("POST", url, data=form, **kwargs)

    def sign_in(self, username: str, password: str) -> httpx.Response:
        self.get("/login")
        response = self.post("/login", {"username": username, "password": password})
        assert response.status_code == 303, response.text
        self.get("/dashboard")
        return response
