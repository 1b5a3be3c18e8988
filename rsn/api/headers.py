"""Security headers on every response the node sends: pages, API, TAXII, static, errors.

A pure ASGI middleware (not Starlette's BaseHTTPMiddleware) so that streamed exports
and error responses get them too, at no cost per chunk. The policy allows no inline
script or style: every script is a file under /static, and HTMX is told not to insert
its indicator <style> (base.html's htmx-config meta). Leaflet sets positions through
the CSSOM (`element.style`), which a style-src policy does not govern; its tiles and
markers are local data: URLs and /static files, hence `img-src 'self' data:`.
HSTS is sent only over TLS: the node honours no proxy header, so the request's own
scheme decides (behind a TLS proxy, let the proxy add it).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = HEADERS + ([HSTS] if scope.get("scheme") == "https" else [])

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                added = [(n, v) for n, v in extra if n not in names]
                message["headers"] = [*message.get("headers", []), *added]
            await send(message)

        await self.app(scope, receive, with_headers)
