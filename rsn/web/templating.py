"""The Jinja2 environment of the web face: templates, filters and the page helper."""

from __future__ import annotations

from datetime import datetime
from importlib import resources
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from rsn import sharing
from rsn.observables import OBSERVABLE_LABELS
from rsn.web.deps import Viewer

TLP = {
    "clear": ("TLP:CLEAR", "Anyone may see it, including the public page."),
    "green": (
        "TLP:GREEN",
        "Every member of this node may see it, but not observers or the public.",
    ),
    "amber": (
        "TLP:AMBER",
        "Your organization and the states, organizations and groups you name.",
    ),
    "amber+strict": ("TLP:AMBER+STRICT", "Your organization and the organizations you name only."),
    "red": ("TLP:RED", "Only you and the people you name, by name."),
}
SEVERITIES = ("low", "medium", "high", "critical")

templates = Jinja2Templates(directory=str(resources.files("rsn.web") / "templates"))


def when(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time as every page shows it: ISO date, minutes, UTC said."""
    return value.strftime(fmt) + " UTC" if value else ""


def _observable_label(kind: str) -> str:
    return OBSERVABLE_LABELS.get(kind, kind)


templates.env.filters["when"] = when
templates.env.filters["observable_label"] = _observable_label
templates.env.globals["TLP"] = TLP
templates.env.globals["SEVERITIES"] = SEVERITIES
templates.env.globals["RELEASER_ROLES"] = sharing.RELEASER_ROLES


def page(
    request: Request,
    name: str,
    viewer: Viewer | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a page with what every page needs: the viewer and the CSRF token."""
    context = {
        "viewer": viewer,
        "principal": viewer.principal if viewer else None,
        "csrf_token": viewer.csrf if viewer else context.pop("csrf_token", ""),
        **context,
    }
    return templates.TemplateResponse(request, name, context, status_code=status_code)
