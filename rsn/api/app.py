"""The ASGI application of a node."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp

from rsn import __version__, web
from rsn.api import errors, routes
from rsn.api.headers import SecurityHeaders
from rsn.node import Node


class _App(FastAPI):
    """FastAPI with the security headers outside everything, the 500 page included.

    Starlette puts its server-error middleware outermost, outside any middleware an app
    adds, so an unhandled error's answer would go out without them.
    """

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack())


def create_app(node: Node) -> FastAPI:
    """The node's API; the audit chainer runs for as long as the app does."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # What start-up built (modules, routes, compiled schemas: ~150,000 objects) lives
        # as long as the process. Frozen, the cycle collector stops walking it: a full
        # collection took ~110 ms, added to whichever request happened to trigger it.
        gc.collect()
        gc.freeze()
        node.chainer.start()
        try:
            yield
        finally:
            node.chainer.stop()

    app = _App(
        title="RSN — Regional Security Network node",
        version=__version__,
        description="Share security reports under originator control; REST under /api/v1/.",
        lifespan=lifespan,
        docs_url=None,  # the hosted docs pages load scripts from a CDN; the node serves none
        redoc_url=None,
    )
    app.state.node = node
    errors.install(app, pages=web.error_page)
    app.add_exception_handler(web.SignInNeeded, web.to_sign_in)
    routes.mount(app)
    return app
