"""The public page: TLP:CLEAR reports and their counts, for anyone, without signing in.

Observers from civil society and the public read here what originators chose to
make public. The page asks the same services as every other page, as a reader who
holds only the `public` audience key, so the one sharing filter decides; it also
asks for `clear` by name, so a mistake in either would have to be made twice.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from rsn import sharing
from rsn.errors import NotFound, ValidationError
from rsn.registry.service import country_name, get_member_states
from rsn.reports import listing, service
from rsn.web.deps import NodeDep, maybe_viewer
from rsn.web.templating import page
from rsn.web.views.dashboard import category_names, tallies

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
CLEAR = "clear"
COUNTRY = re.compile(r"[A-Za-z]{2}")


def _filters(session: Session, category: str | None, country: str | None) -> listing.Filters:
    """Only clear reports, with the visitor's category and country checked first."""
    category = (category or "").strip() or None
    country = (country or "").strip().upper() or None
    if category is not None and category not in category_names(session):
        raise ValidationError.field(
            "category", f"'{category}' is not a category of this node's taxonomy."
        )
    if country is not None and (not COUNTRY.fullmatch(country) or country_name(country) is None):
        raise ValidationError.field("country", f"'{country}' is not an ISO 3166 alpha-2 code.")
    return listing.Filters(tlp=CLEAR, category=category, country=country)


@router.get("/public", response_class=HTMLResponse)
def public_page(
    request: Request,
    node: NodeDep,
    category: Annotated[str | None, Query(max_length=120)] = None,
    country: Annotated[str | None, Query(max_length=2)] = None,
) -> HTMLResponse:
    """The newest public reports, filtered if asked, and counts of all public reports."""
    reader = sharing.public_reader()
    with node.db.session() as session:
        filters = _filters(session, category, country)
        reports, _ = listing.get_all(session, principal=reader, filters=filters, limit=PAGE_SIZE)
        names = category_names(session)
        counts = tallies(session, principal=reader, filters=listing.Filters(tlp=CLEAR), names=names)
        states = [(s.code, s.name) for s in get_member_states(session)]
    return page(
        request,
        "public/index.html",
        maybe_viewer(request),
        reports=reports,
        filters=filters,
        names=names,
        counts=counts,
        states=states,
        page_size=PAGE_SIZE,
    )


@router.get("/public/reports/{report_id}", response_class=HTMLResponse)
def public_report(request: Request, node: NodeDep, report_id: str) -> HTMLResponse:
    """One public report; anything else answers 404 exactly as an absent id does."""
    reader = sharing.public_reader()
    with node.db.session() as session:
        report = service.get(session, principal=reader, report_id=report_id)
        if report.tlp != CLEAR:
            raise NotFound("report", report_id)
        [item] = service.load(session, principal=reader, reports=[report])
        names = category_names(session)
    return page(
        request,
        "public/report.html",
        maybe_viewer(request),
        item=item,
        names=names,
        country=country_name(report.country) or report.country,
    )
