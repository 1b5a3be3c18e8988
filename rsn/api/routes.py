"""The whole HTTP surface of the node, mounted in one place: REST, TAXII, pages, files.

Read top to bottom, this is every router the node serves, in the order a request
meets them; each router's module says what its routes do.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from rsn.api import (
    alerts,
    approvals,
    exchange,
    notify,
    observables,
    registry,
    releases,
    reports,
)
from rsn.api import profile as profile_api
from rsn.taxii import views as taxii
from rsn.web.views import admin, auth, dashboard, editing, mapview, profile, public
from rsn.web.views import alerts as alert_pages
from rsn.web.views import approvals as approval_pages
from rsn.web.views import exchange as exchange_pages
from rsn.web.views import notify as notify_pages
from rsn.web.views import observables as observable_pages
from rsn.web.views import releases as release_pages
from rsn.web.views import reports as report_pages

health = APIRouter(tags=["node"])


@health.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness for supervisors and the demo's start-up wait."""
    return {"status": "ok"}


API = (
    health,
    reports.router,
    observables.router,
    releases.router,
    approvals.router,
    registry.router,
    profile_api.router,
    exchange.router,
    notify.router,
    alerts.router,
    alerts.seas_router,
)
TAXII = (taxii.router,)
PAGES = (
    auth.router,
    dashboard.router,
    report_pages.router,
    editing.router,
    release_pages.router,
    observable_pages.router,
    mapview.router,
    exchange_pages.router,
    public.router,
    admin.router,
    approval_pages.router,
    profile.router,
    notify_pages.router,
    alert_pages.router,
)


def mount(app: FastAPI) -> None:
    """Every router, then the static files the pages use (served locally, no CDN)."""
    for router in (*API, *TAXII, *PAGES):
        app.include_router(router)
    static = StaticFiles(directory=str(resources.files("rsn.web") / "static"))
    app.mount("/static", static, name="static")
