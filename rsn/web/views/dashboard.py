"""The dashboard: what is new for the signed-in user, and what crossed a border.

Every figure on it comes from the same services as the API, through the sharing
policy: the newest reports are the list's first page, the counts are the API's
counts, and the cross-border links are looked up with the reader's own keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from rsn import fusion
from rsn.fusion import crossborder
from rsn.registry import catalog
from rsn.registry.service import country_name
from rsn.reports import listing, present, service
from rsn.sharing import Principal
from rsn.store import utcnow
from rsn.warning import alerts
from rsn.warning.models import Alert
from rsn.web.deps import NodeDep, ViewerDep
from rsn.web.templating import page

router = APIRouter(include_in_schema=False)

NEWEST = 10
ALERTS = 5  # open alerts shown, latest change first
LINKS = 20
WINDOW_DAYS = 30


def window_start(days: int, now: datetime | None = None) -> datetime:
    """The start of the UTC day `days` days ago.

    Whole days, because the report list filters by date: a count that links to the
    list then finds exactly the reports it counted.
    """
    today = (now or utcnow()).astimezone(UTC).date()
    return datetime.combine(today - timedelta(days=days), time(), tzinfo=UTC)


@dataclass(frozen=True)
class Tally:
    """One bar of a count list: the key, what people call it, and the number."""

    key: str
    label: str
    count: int


@dataclass(frozen=True)
class Tallies:
    """Counts by category and by country, largest first, for bar lists."""

    categories: list[Tally]
    countries: list[Tally]

    @property
    def total(self) -> int:
        return sum(t.count for t in self.categories)


def category_names(session: Session) -> dict[str, str]:
    """Category ids to the names the taxonomy gives them, the node's extensions included."""
    return {c.id: c.name for c in catalog.node_taxonomy(session)}


def tallies(
    session: Session, *, principal: Principal, filters: listing.Filters, names: dict[str, str]
) -> Tallies:
    """Live reports the principal may read, counted both ways (in one pass over the
    kept tallies) and named for people."""
    both = listing.counts_by(
        session, principal=principal, fields=("category", "country"), filters=filters
    )

    def counted(by: str, label: dict[str, str] | None) -> list[Tally]:
        found = [Tally(k, (label or {}).get(k) or country_name(k) or k, n) for k, n in both[by]]
        return sorted(found, key=lambda t: (-t.count, t.key))

    return Tallies(counted("category", names), counted("country", None))


@dataclass(frozen=True)
class Board:
    """Everything the dashboard shows, read in one transaction."""

    newest: list[service.Loaded]
    links: list[fusion.CrossBorderLink]
    tallies: Tallies
    since: datetime
    names: dict[str, str]
    disclosed: list[str]
    alerts: list[Alert]
    open_alerts: int


def _board(session: Session, principal: Principal, threshold: int) -> Board:
    newest, _ = listing.get_all(
        session, principal=principal, filters=listing.Filters(), limit=NEWEST
    )
    links = fusion.for_organization(session, principal=principal, limit=LINKS, threshold=threshold)
    since, names = window_start(WINDOW_DAYS), category_names(session)
    filters = listing.Filters(since=since)
    counts = tallies(session, principal=principal, filters=filters, names=names)
    loaded = service.load(session, principal=principal, reports=newest)
    open_alerts, _ = alerts.listing(session, principal, alerts.Filters(open=True), limit=ALERTS)
    by_status = alerts.counts_by_status(session, principal)
    shown = (
        present.disclosed(principal, loaded)
        + crossborder.disclosed(principal, links)
        + alerts.disclosed(session, principal, [a.id for a in open_alerts])
    )
    return Board(
        loaded,
        links,
        counts,
        since,
        names,
        list(dict.fromkeys(shown)),
        open_alerts,
        sum(n for status, n in by_status.items() if status != "closed"),
    )


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, node: NodeDep, viewer: ViewerDep) -> HTMLResponse:
    """The signed-in user's overview: newest, cross-border, and the last 30 days."""
    with node.db.session() as session:
        board = _board(session, viewer.principal, node.settings.correlation_threshold)
    node.disclose(viewer.principal, board.disclosed, "report.dashboard")
    return page(
        request,
        "dashboard/index.html",
        viewer,
        board=board,
        since_day=board.since.date().isoformat(),
        window_days=WINDOW_DAYS,
    )
