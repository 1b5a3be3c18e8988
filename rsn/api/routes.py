"""The whole HTTP surface of the node, mounted in one place."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from rsn.api.approvals import router as approvals
from rsn.api.observables import router as observables
from rsn.api.registry import router as registry
from rsn.api.releases import router as releases
from rsn.api.reports import router as reports
from rsn.interop.views import router as exchange
from rsn.taxii.views import router as taxii

health = APIRouter(tags=["node"])


@health.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness for supervisors and the demo's start-up wait."""
    return {"status": "ok"}


def mount(app: FastAPI) -> None:
    app.include_router(health)
    app.include_router(reports)
    app.include_router(observables)
    app.include_router(releases)
    app.include_router(approvals)
    app.include_router(registry)
    app.include_router(exchange)
    app.include_router(taxii)
