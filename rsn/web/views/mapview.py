"""The regional map: member states shaded by what the reader may see, reports as points.

The page is a form and a table that work without script; `static/map.js` draws the
map from `/map/data.json`. Country shapes are the vendored Natural Earth file, whose
ids are ISO 3166 numeric codes, so this module hands the browser the numeric code of
each country it names. Counts are the API's counts with the same filters, and points
are read through the same conditions, so map, table, list and API agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import pycountry
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.orm import Session

from rsn import sharing
from rsn.errors import ValidationError
from rsn.registry import catalog
from rsn.registry.service import country_name
from rsn.reports import geo, listing
from rsn.reports.schemas import rfc3339
from rsn.sharing import Principal
from rsn.warning import alerts, maritime
from rsn.warning.models import Alert
from rsn.web.deps import NodeDep, ViewerDep
from rsn.web.templating import page
from rsn.web.views.dashboard import category_names, window_start

router = APIRouter(include_in_schema=False)

WINDOWS = (7, 30, 90, 365)
DEFAULT_DAYS = 30
Days = Annotated[int, Query(description="The window in days: 7, 30, 90 or 365")]
INDENT = "\u2013 "  # an en dash per level, as the public page's select shows them
CategoryQ = Annotated[str | None, Query(max_length=120)]


@dataclass(frozen=True)
class MapQuery:
    """A checked window and category, and the filters they stand for."""

    days: int
    category: str | None
    since: datetime

    @property
    def filters(self) -> listing.Filters:
        return listing.Filters(since=self.since, category=self.category)

    def list_url(self, **extra: str) -> str:
        """The report list with this window and category (and `extra`, such as a country)."""
        params = {"since": self.since.date().isoformat(), **extra}
        if self.category:
            params["category"] = self.category
        return "/reports?" + urlencode(params)


def _query(session: Session, days: int, category: str | None) -> MapQuery:
    if days not in WINDOWS:
        choices = ", ".join(str(w) for w in WINDOWS)
        raise ValidationError.field("days", f"{days} is not one of {choices}.")
    category = (category or "").strip() or None
    if category is not None and category not in category_names(session):
        raise ValidationError.field(
            "category", f"'{category}' is not a category of this node's taxonomy."
        )
    return MapQuery(days, category, window_start(days))


def region_members(session: Session) -> list[str]:
    """The member states of the node's region packs, in the packs' order."""
    members: dict[str, None] = {}
    for pack in catalog.packs(session):
        members.update(dict.fromkeys(pack.content.get("members", [])))
    return list(members)


def numeric_code(alpha2: str) -> str | None:
    """The ISO 3166 numeric code the country shapes are keyed by."""
    country = pycountry.countries.get(alpha_2=alpha2)
    return None if country is None else str(country.numeric)


def _countries(members: list[str], counts: dict[str, int]) -> list[dict[str, Any]]:
    """Members first (even at zero), then other countries with reports, most first."""
    others = sorted((c for c in counts if c not in members), key=lambda c: (-counts[c], c))
    return [
        {
            "code": code,
            "numeric": numeric_code(code),
            "name": country_name(code) or code,
            "count": counts.get(code, 0),
            "member": code in members,
        }
        for code in [*members, *others]
    ]


def _counts(session: Session, principal: Principal, query: MapQuery) -> dict[str, int]:
    rows = listing.counts(session, principal=principal, by="country", filters=query.filters)
    return dict(rows)


def _point(p: geo.Point) -> dict[str, Any]:
    return {
        "id": p.report_id,
        "title": p.title,
        "severity": p.severity,
        "category": p.category,
        "country": p.country,
        "lat": p.lat,
        "lon": p.lon,
        "occurred_at": rfc3339(p.occurred_at),
        "url": f"/reports/{p.report_id}",
    }


def _data(
    session: Session, principal: Principal, query: MapQuery
) -> tuple[dict[str, Any], list[str]]:
    """The map's JSON, and the ids whose titles it shows to someone not their originator."""
    counts = _counts(session, principal, query)
    points, capped = geo.located(session, principal=principal, filters=query.filters)
    countries = _countries(region_members(session), counts)
    for country in countries:
        country["url"] = query.list_url(country=country["code"])
    body = {
        "days": query.days,
        "category": query.category,
        "since": rfc3339(query.since),
        "since_date": query.since.date().isoformat(),
        "list_url": query.list_url(),
        "counts": counts,
        "countries": countries,
        "points": [_point(p) for p in points],
        "points_capped": capped,
        "max_points": geo.MAX_POINTS,
    }
    shown = [
        p.report_id
        for p in points
        if sharing.discloses(principal, tlp=p.tlp, originator_user_id=p.originator_user_id)
    ]
    return body, shown


def _categories(session: Session) -> list[tuple[str, str]]:
    """The category choices, children indented under their parent."""
    names = category_names(session)
    return [(cid, (INDENT * cid.count(".")) + name) for cid, name in names.items()]


@router.get("/map", response_class=HTMLResponse)
def map_page(
    request: Request,
    node: NodeDep,
    viewer: ViewerDep,
    days: Days = DEFAULT_DAYS,
    category: CategoryQ = None,
) -> HTMLResponse:
    """The map page: filters, the map's frame, and the counts as a table (its text form)."""
    with node.db.session() as session:
        query = _query(session, days, category)
        counts = _counts(session, viewer.principal, query)
        countries = _countries(region_members(session), counts)
        choices = _categories(session)
    return page(
        request,
        "map/index.html",
        viewer,
        query=query,
        windows=WINDOWS,
        categories=choices,
        countries=countries,
        total=sum(counts.values()),
    )


@router.get("/map/data.json")
def map_data(
    node: NodeDep, viewer: ViewerDep, days: Days = DEFAULT_DAYS, category: CategoryQ = None
) -> JSONResponse:
    """Counts by country and located reports for the map, as the reader may see them."""
    with node.db.session() as session:
        query = _query(session, days, category)
        body, shown = _data(session, viewer.principal, query)
    node.disclose(viewer.principal, shown, "report.map")
    return JSONResponse(body, headers={"Cache-Control": "private, no-store"})


MAX_ALERTS = 200  # open alerts drawn on the map; the list at /alerts has them all


def _alert(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "rule": alert.rule,
        "severity": alert.severity,
        "status": alert.status,
        "title": alert.category or alert.observable or alert.series,
        "countries": [
            {"code": c, "numeric": numeric_code(c)}
            for c in ([alert.country] if alert.country else alert.country_codes)
        ],
        "sea": alert.detail.get("sea") if isinstance(alert.detail.get("sea"), str) else None,
        "url": f"/alerts/{alert.id}",
    }


def _seas(session: Session, principal: Principal, days: int) -> list[dict[str, Any]]:
    """Each sea area of the loaded packs with its shape and its level as the reader sees it."""
    graded = maritime.levels(session, principal, days=days)
    found = []
    for shapes in maritime.shapes(session):
        for area in shapes.areas:
            grade = graded.get(area.name)
            found.append(
                {
                    "name": area.name,
                    "level": grade.level if grade else "low",
                    "count": grade.count if grade else 0,
                    "reasons": [r.text for r in grade.reasons] if grade else [],
                    "ring": [[round(x, 4), round(y, 4)] for x, y in area.polygon.exterior.coords],
                }
            )
    return found


@router.get("/map/layers.json")
def map_layers(node: NodeDep, viewer: ViewerDep, days: Days = DEFAULT_DAYS) -> JSONResponse:
    """What the map draws over the counts: the open alerts the reader may read, and each
    sea area's maritime threat level as the reader sees it (approximate shapes)."""
    with node.db.session() as session:
        query = _query(session, days, None)
        rows, _ = alerts.listing(
            session, viewer.principal, alerts.Filters(open=True), limit=MAX_ALERTS
        )
        disclosed = alerts.disclosed(session, viewer.principal, [a.id for a in rows])
        seas = _seas(session, viewer.principal, query.days)
    node.disclose(viewer.principal, disclosed, "alert.list")
    body = {"days": query.days, "alerts": [_alert(a) for a in rows], "seas": seas}
    return JSONResponse(body, headers={"Cache-Control": "private, no-store"})


@router.get("/map/region.json")
def region(node: NodeDep, _viewer: ViewerDep) -> JSONResponse:
    """The region's member states with their numeric codes, for the point picker."""
    with node.db.session() as session:
        countries = _countries(region_members(session), {})
    return JSONResponse({"countries": countries}, headers={"Cache-Control": "private, max-age=300"})
