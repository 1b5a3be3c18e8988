"""Every response carries the security headers: each page route, the API, TAXII, static, errors."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi.routing import APIRoute

from rsn.registry import service as registry
from rsn.store import Database
from tests.factories import api_for, bimstec_world, report_payload
from tests.taxii.helpers import ACCEPT, MAIN
from tests.web.webclient import WebClient

PASSWORD = "correct horse battery staple"
EXPECTED = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def secured(response: httpx.Response) -> None:
    what = f"{response.request.method} {response.request.url.path} ({response.status_code})"
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, what
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, what
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (what, name)
    assert "strict-transport-security" not in response.headers, what  # plain HTTP


def get_paths(app: object) -> list[str]:
    """Every GET route of the app, walked through the included routers."""
    found: list[str] = []
    todo = list(getattr(app, "routes", []))
    while todo:
        route = todo.pop()
        if isinstance(route, APIRoute):
            if "GET" in route.methods:
                found.append(route.path)
        elif hasattr(route, "original_router"):
            todo.extend(route.original_router.routes)
    return sorted(set(found))


def test_every_get_route_sends_the_headers(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
    w = bimstec_world(db)
    w.person("bd.web", "bd-cert", password=PASSWORD)
    w.person("bd.root", "bd-cert", role="node-admin", password=PASSWORD)
    api = api_for(db, tmp_path)
    bd = w.people["bd.analyst"]
    filed = api.post("/api/v1/reports", json=report_payload(), as_=bd)
    assert filed.status_code == 201, filed.text
    report_id, user_id = filed.json()["id"], str(w.people["bd.web"].user.id)
    values = {"report_id": report_id, "user_id": user_id, "id": report_id}
    analyst, admin = WebClient(api.app), WebClient(api.app)
    analyst.sign_in("bd.web", PASSWORD)
    admin.sign_in("bd.root", PASSWORD)
    paths = get_paths(api.app)
    assert "/dashboard" in paths and "/admin/users" in paths and "/api/v1/reports" in paths
    for path in paths:
        url = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values.get(m.group(1), "x"), path)
        if path.startswith("/taxii2"):
            secured(api.get(url, as_=bd, headers=ACCEPT))
        elif path.startswith(("/api/", "/openapi", "/healthz")):
            secured(api.get(url, as_=bd))
        else:
            secured((admin if path.startswith("/admin") else analyst).get(url))
    secured(api.get("/static/app.css"))
    secured(api.get("/no/such/page"))
    secured(api.get(f"{MAIN}/objects/", headers=ACCEPT))  # 401
    secured(api.post("/api/v1/reports", json={}, as_=bd))  # 422


def test_hsts_only_over_tls(db: Database, tmp_path: Path) -> None:
    app = api_for(db, tmp_path).app

    async def fetch(base: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base) as client:
            return await client.get("/login")

    assert "strict-transport-security" not in asyncio.run(fetch("http://rsn.test")).headers
    tls = asyncio.run(fetch("https://rsn.test"))
    assert tls.headers["strict-transport-security"].startswith("max-age=")


def test_an_unhandled_error_answers_500_with_the_headers(db: Database, tmp_path: Path) -> None:
    """Starlette answers a bug outside every middleware an app adds; the headers go too."""
    api = api_for(db, tmp_path)

    @api.app.get("/boom-for-test")
    def boom() -> None:
        raise RuntimeError("a bug")

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=api.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://rsn.test") as c:
            return await c.get("/boom-for-test")

    answer = asyncio.run(send())
    assert answer.status_code == 500
    secured(answer)
