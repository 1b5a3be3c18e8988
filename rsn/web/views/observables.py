"""The observable page: one value, every report the viewer may read that carries it.

The header's search box is a plain GET form to this page, so it works without
script. Like the report list, a page that hands non-public fields of reports to
someone other than their originator leaves one disclosure record.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from rsn.errors import ValidationError
from rsn.fusion import sightings
from rsn.observables import OBSERVABLE_LABELS, OBSERVABLE_TYPES
from rsn.registry import service as registry
from rsn.web.deps import NodeDep, ViewerDep
from rsn.web.templating import page

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


@dataclass(frozen=True)
class Asked:
    """What the search form sent, kept as typed so the form shows it back."""

    value: str
    type: str
    cursor: str

    def url(self, **changes: str) -> str:
        params = {"value": self.value, "type": self.type, **changes}
        return "/observables?" + urlencode({k: v for k, v in params.items() if v})


@router.get("/observables", response_class=HTMLResponse)
def show_observable(request: Request, node: NodeDep, viewer: ViewerDep) -> Response:
    """The value normalised, the reports carrying it, and the states that reported it."""
    params = request.query_params
    asked = Asked(params.get("value", ""), params.get("type", ""), params.get("cursor", ""))
    seen, errors = None, {}
    with node.db.session() as s:
        try:
            seen = sightings.get(
                s,
                principal=viewer.principal,
                value=asked.value,
                type_=asked.type or None,
                limit=PAGE_SIZE,
                cursor=asked.cursor or None,
                threshold=node.settings.correlation_threshold,
            )
        except ValidationError as exc:
            errors = {p.field: p.message for p in exc.problems}
        names = _names(s)
    if seen is not None:
        node.disclose(
            viewer.principal, sightings.disclosed(viewer.principal, seen), "report.observable"
        )
    return page(
        request,
        "observables/show.html",
        viewer,
        status_code=422 if errors else 200,
        asked=asked,
        seen=seen,
        errors=errors,
        types=[(t, OBSERVABLE_LABELS[t]) for t in OBSERVABLE_TYPES],
        labels=OBSERVABLE_LABELS,
        threshold=node.settings.correlation_threshold,
        next_url=asked.url(cursor=seen.next_cursor) if seen and seen.next_cursor else None,
        **names,
    )


def _names(session: Session) -> dict[str, dict[str, str]]:
    return {
        "state_names": {m.code: m.name for m in registry.get_member_states(session)},
        "org_names": {o.slug: o.name for o in registry.get_organizations(session)},
    }
