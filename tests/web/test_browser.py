"""The web UI end to end: Debian's Chromium against a real `rsn serve` on 127.0.0.1.

One BIMSTEC node for the module, on SQLite (the rest of the suite covers PostgreSQL):
Bangladesh is state A (bd-cert), India state B (in-cert), Myanmar state C (mm-cert).
India has already reported a recruiter's phone number to Bangladesh; a Bangladeshi
analyst now files an AMBER report through the form, shared with India, holding that
number. India sees it with the correlation; Myanmar finds no trace of it anywhere.

Playwright's sync API leaves its event loop marked as running on this thread for as
long as it is started, and the in-process tests in other modules call asyncio.run,
which then refuses to start. So the browser lives for this module only, and nothing
here uses the in-process app: the API is asked over HTTP, the store read directly.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import func, select

from rsn import clock
from rsn.reports.models import Report
from rsn.store import Database
from tests.factories import Person, World, bimstec_world, report_payload
from tests.web.browser import (
    Server,
    Traffic,
    axe_violations,
    chromium,
    describe_violations,
    sign_in,
    start_server,
    wait_for_map,
)

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery staple"
PHONE = "+8801712345678"
DOMAIN = "jobs-abroad-zephyr.example"
UNIQUE = "Zephyrine"
TITLE = f"{UNIQUE} recruiter number seen again at Benapole"
# The people who sign in: A's analyst, B's analyst, C's analyst, and a node-admin of A.
WEB_USERS = (
    ("bd.web", "bd-cert", "analyst"),
    ("in.web", "in-cert", "analyst"),
    ("mm.web", "mm-cert", "analyst"),
    ("bd.root", "bd-cert", "node-admin"),
)
NEW_REPORT = re.compile(r".*/reports/(?!new$)([^/?#]+)(?:\?notice=filed)?$")


def ago(days: float) -> datetime:
    return clock.now() - timedelta(days=days)


def rfc3339(when: datetime) -> str:
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


def dist(**names: list[str]) -> dict[str, list[str]]:
    return {"member_states": [], "organizations": [], "sharing_groups": [], "users": [], **names}


@dataclass
class Node:
    """The served node, the people on it, and the reports filed before the browser came."""

    server: Server
    db: Database
    world: World
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def person(self, username: str) -> Person:
        return self.world.people[username]

    def file(self, username: str, **fields: Any) -> str:
        """A report through the API, as its originator's token."""
        response = httpx.post(
            f"{self.url}/api/v1/reports",
            json=report_payload(**fields),
            headers=self.person(username).auth,
            timeout=10,
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def api(self, username: str, path: str, **params: str) -> Any:
        response = httpx.get(
            f"{self.url}{path}", params=params, headers=self.person(username).auth, timeout=10
        )
        assert response.status_code == 200, response.text
        return response.json()

    def stored_reports(self) -> int:
        with self.db.session() as s:
            return int(s.scalar(select(func.count()).select_from(Report)) or 0)


@pytest.fixture(scope="module")
def node(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    home = tmp_path_factory.mktemp("browser-node")
    path = home / "rsn.sqlite3"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    world = bimstec_world(db)
    for username, org, role in WEB_USERS:
        world.person(username, org, role=role, password=PASSWORD)
    server = start_server(db.url, home)
    try:
        n = Node(server, db, world)
        phone = [{"type": "phone-number", "value": PHONE}]
        # B's report, shared with A, holding the number A is about to report.
        n.ids["b"] = n.file(
            "in.web",
            title="Indian sighting of a Bangladeshi recruiter's number",
            country="IN",
            category="organized-crime.human-trafficking",
            location={"lat": 22.57, "lon": 88.36},
            occurred_at=rfc3339(ago(3)),
            distribution=dist(member_states=["BD"]),
            observables=phone,
        )
        # A's earlier report with the same number, which C may read: its page must not
        # reveal, to C, the new report C may not read.
        n.ids["a_old"] = n.file(
            "bd.analyst",
            title="Recruiter number reported to India and Myanmar",
            occurred_at=rfc3339(ago(6)),
            distribution=dist(member_states=["IN", "MM"]),
            observables=phone,
        )
        n.ids["c_green"] = n.file(
            "mm.analyst",
            title="Boats gathering off Sittwe",
            country="MM",
            category="maritime.trafficking",
            tlp="green",
            location={"lat": 20.15, "lon": 92.9},
            occurred_at=rfc3339(ago(5)),
            distribution=dist(),
            observables=[],
        )
        n.ids["b_clear"] = n.file(
            "in.analyst",
            title="Cyclone warning for the Odisha coast",
            country="IN",
            category="disaster.cyclone",
            tlp="clear",
            location=None,
            occurred_at=rfc3339(ago(10)),
            distribution=dist(),
            observables=[],
        )
        yield n
    finally:
        server.stop()
        db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from chromium()


class People:
    """One browser context per person, signed in once through the form and kept."""

    def __init__(self, browser: Browser, node: Node) -> None:
        self.browser, self.node = browser, node
        self.contexts: dict[str | None, BrowserContext] = {}

    def context(self, username: str | None) -> BrowserContext:
        if username not in self.contexts:
            context = self.browser.new_context(
                base_url=self.node.url, viewport={"width": 1280, "height": 800}
            )
            context.set_default_timeout(10_000)
            self.contexts[username] = context
            if username is not None:
                page = context.new_page()
                sign_in(page, username, PASSWORD)
                page.close()
        return self.contexts[username]

    def page(self, username: str | None) -> Page:
        """A new tab for `username` (None: signed out)."""
        return self.context(username).new_page()

    def close(self) -> None:
        for context in self.contexts.values():
            context.close()


@pytest.fixture(scope="module")
def people(browser: Browser, node: Node) -> Iterator[People]:
    found = People(browser, node)
    try:
        yield found
    finally:
        found.close()


@pytest.fixture
def a_report(people: People, node: Node) -> str:
    """A's report as the first test filed it through the form (filed here if it did not run)."""
    if "a" not in node.ids:
        node.ids["a"] = file_through_form(people.page("bd.web"))
    return node.ids["a"]


# --- what a reader of state C can see -----------------------------------------------


@dataclass(frozen=True)
class Seen:
    """Every count a reader sees on the dashboard and the map, and every report it names."""

    dashboard_total: str
    bars: dict[tuple[str, str], int]
    newest: frozenset[str]
    map_counts: dict[str, int]
    map_points: frozenset[str]
    map_table: dict[str, int]


def seen_by(page: Page) -> Seen:
    page.goto("/dashboard")
    total = page.locator(".dash-stats .stat").first.inner_text()
    bars = {
        (str(li.get_attribute("data-by")), str(li.get_attribute("data-key"))): int(
            li.get_attribute("data-count") or 0
        )
        for li in page.locator("ul.bars li").all()
    }
    newest = frozenset(
        str(a.get_attribute("href")) for a in page.locator("#main a[href^='/reports/']").all()
    )
    with page.expect_response(lambda r: "/map/data.json" in r.url) as answer:
        page.goto("/map")
    data = answer.value.json()
    wait_for_map(page)
    return Seen(
        dashboard_total=total,
        bars=bars,
        newest=newest,
        map_counts=dict(data["counts"]),
        map_points=frozenset(p["id"] for p in data["points"]),
        map_table=map_table(page),
    )


def map_table(page: Page) -> dict[str, int]:
    """The map's text alternative: country code to count, as the page shows it."""
    rows = page.locator("#map-counts tbody tr[data-code]").all()
    return {
        str(row.get_attribute("data-code")): int(row.get_attribute("data-count") or 0)
        for row in rows
    }


# --- filing a report through the form ------------------------------------------------


def file_through_form(page: Page) -> str:
    """A's analyst files the AMBER report for India with two observables; its id."""
    page.goto("/reports/new")
    page.locator("#title").fill(TITLE)
    page.locator("#category").fill("organized-crime.human-trafficking")
    page.locator("#description").fill(
        "The recruiter's number turned up again in messages to job seekers in Jashore; "
        "the same operation advertises on a new domain."
    )
    page.locator("#occurred_at").fill(ago(1).strftime("%Y-%m-%dT%H:%M"))
    page.locator("#country").select_option("BD")
    page.locator("#severity").select_option("high")
    page.locator("#confidence").fill("70")
    page.locator("#source_reliability").select_option("B")
    page.locator("#information_credibility").select_option("2")

    page.get_by_label("TLP:AMBER", exact=True).check()
    audience = page.locator("#audience-body")
    expect(audience).to_contain_text("will be able to read this report")
    expect(audience).not_to_contain_text("India")
    page.get_by_label("India (IN)").check()
    expect(audience).to_contain_text("India (IN): every government agency")
    # The originator's own organization reads, not the whole of its state.
    expect(audience).to_contain_text("Bangladesh (BD): only the organizations below")

    for row, kind, typed, normal in (
        (0, "phone-number", "+880 1712-345678", PHONE),
        (1, "domain-name", DOMAIN.upper(), DOMAIN),
    ):
        page.locator(f"#obs-{row}-type").select_option(kind)
        page.locator(f"#obs-{row}-value").fill(typed)
        page.locator(f"#obs-{row}-value").press("Tab")
        expect(page.locator(f"#obs-{row}-check")).to_contain_text(f"stored as {normal}")

    page.get_by_role("button", name="File report").click()
    page.wait_for_url(NEW_REPORT)
    found = NEW_REPORT.match(page.url)
    assert found, page.url
    expect(page.locator("h1#report-title")).to_have_text(TITLE)
    expect(page.locator(".tlp-banner")).to_contain_text("TLP:AMBER")
    expect(page.locator(".tlp-banner")).to_contain_text("IN")
    observables = page.locator("section:has(#observables-title) table")
    expect(observables).to_contain_text(PHONE)
    expect(observables).to_contain_text(DOMAIN)
    page.close()
    return found.group(1)


# --- 1. A files, B sees it with the correlation, C finds nothing ---------------------


def test_amber_report_reaches_b_with_its_correlation_and_leaves_no_trace_for_c(
    people: People, node: Node
) -> None:
    c = people.page("mm.web")
    c_before = seen_by(c)
    a_before = country_counts(node, "bd.web")

    rid = node.ids["a"] = file_through_form(people.page("bd.web"))
    assert_stored_as_filed(node, rid)

    # B finds it in the list and sees, on it, the link to B's own report.
    b = people.page("in.web")
    b.goto("/reports")
    b.get_by_role("link", name=TITLE).click()
    b.wait_for_url(f"**/reports/{rid}")
    related = b.locator("section:has(#correlations-title)")
    expect(related.locator(f"a[href='/reports/{node.ids['b']}']")).to_have_count(1)
    expect(related).to_contain_text(PHONE)
    # ...and, on B's report, the link back to A's; and on the dashboard, the match.
    b.goto(f"/reports/{node.ids['b']}")
    expect(b.locator(f"section:has(#correlations-title) a[href='/reports/{rid}']")).to_have_count(1)
    b.goto("/dashboard")
    expect(b.locator(f"ul.xb-links a[href='/reports/{rid}']")).to_have_count(1)

    # C: not in the list, not by a word of its title or by its observable, not by URL.
    c.goto("/reports")
    expect(c.locator("#results")).to_contain_text("Recruiter number reported")  # C's view works
    expect(c.locator(f"a[href='/reports/{rid}']")).to_have_count(0)
    for query in (f"q={UNIQUE}", f"q={DOMAIN}", f"observable={DOMAIN}"):
        c.goto(f"/reports?{query}")
        expect(c.locator("#results-title")).to_have_text("No reports")
        expect(c.locator("#results")).not_to_contain_text(UNIQUE)
    hidden = c.goto(f"/reports/{rid}")
    assert hidden is not None and hidden.status == 404
    hidden_text = c.locator("main").inner_text()
    absent = c.goto(f"/reports/{rid[:-4]}zzzz")
    assert absent is not None and absent.status == 404
    assert hidden_text == c.locator("main").inner_text().replace(f"{rid[:-4]}zzzz", rid)
    assert UNIQUE not in hidden_text
    # C may read A's older report with the same number: it must not point at the new one.
    c.goto(f"/reports/{node.ids['a_old']}")
    related_c = c.locator("section:has(#correlations-title)")
    expect(related_c).to_contain_text("No report you may read shares an observable")
    expect(c.locator(f"a[href='/reports/{rid}']")).to_have_count(0)

    # Dashboard and map counts: the same for C as before A filed, though A's report is
    # counted (in the same window) for A.
    c_after = seen_by(c)
    assert c_after == c_before
    assert f"/reports/{rid}" not in c_after.newest and rid not in c_after.map_points
    assert country_counts(node, "bd.web") == {**a_before, "BD": a_before.get("BD", 0) + 1}
    assert country_counts(node, "mm.web") == c_after.map_counts


def country_counts(node: Node, username: str) -> dict[str, int]:
    """The API's counts by country over the dashboard's and map's 30-day window."""
    since = (clock.now() - timedelta(days=30)).date().isoformat() + "T00:00:00Z"
    rows = node.api(username, "/api/v1/reports/counts", by="country", since=since)["rows"]
    return {row["key"]: row["count"] for row in rows}


def assert_stored_as_filed(node: Node, rid: str) -> None:
    """The API reads the report back as the form said: AMBER, for India, two observables."""
    item = node.api("bd.web", f"/api/v1/reports/{rid}")
    assert item["tlp"] == "amber" and item["distribution"]["member_states"] == ["IN"]
    assert {(o["type"], o["value"]) for o in item["observables"]} == {
        ("phone-number", PHONE),
        ("domain-name", DOMAIN),
    }


# --- 2. bad input: the error beside the field, nothing stored ------------------------


def test_bad_input_shows_errors_beside_the_fields_and_stores_nothing(
    people: People, node: Node
) -> None:
    before = node.stored_reports()
    page = people.page("bd.web")
    page.goto("/reports/new")
    page.locator("#title").fill("A report with two mistakes")
    page.locator("#category").fill("no-such.category")
    page.locator("#country").select_option("BD")
    page.locator("#obs-0-type").select_option("phone-number")
    page.locator("#obs-0-value").fill("+88 017")
    page.locator("#obs-0-value").press("Tab")
    expect(page.locator("#obs-0-check .field-error")).to_be_visible()  # checked as typed

    with page.expect_response(
        lambda r: r.url.endswith("/reports/new") and r.request.method == "POST"
    ) as answer:
        page.get_by_role("button", name="File report").click()
    assert answer.value.status == 422
    page.wait_for_load_state()

    expect(page.locator(".error-summary")).to_be_visible()
    for input_id, words in (("category", "no-such.category"), ("obs-0-value", "+88 017")):
        field_input = page.locator(f"#{input_id}")
        error = page.locator(f"#{input_id}-error")
        expect(error).to_be_visible()
        expect(error).to_contain_text(words)
        expect(field_input).to_have_attribute("aria-invalid", "true")
        described = (field_input.get_attribute("aria-describedby") or "").split()
        assert f"{input_id}-error" in described, described
        # beside the field: in the same field block as the input it is about
        beside = page.locator(f".field:has(> #{input_id}) > #{input_id}-error")
        expect(beside).to_have_count(1)
    # What was typed is kept.
    expect(page.locator("#title")).to_have_value("A report with two mistakes")
    expect(page.locator("#category")).to_have_value("no-such.category")
    expect(page.locator("#obs-0-value")).to_have_value("+88 017")
    expect(page.locator("#country")).to_have_value("BD")
    assert node.stored_reports() == before


# --- 3. CSRF -------------------------------------------------------------------------


def test_state_changing_posts_without_the_csrf_token_are_refused(
    people: People, node: Node
) -> None:
    page = people.page("bd.web")
    page.goto("/dashboard")
    token = page.locator("body").get_attribute("data-csrf")
    assert token
    before = node.stored_reports()
    report = {
        "title": "Filed without a token",
        "category": "organized-crime.human-trafficking",
        "occurred_at": ago(1).strftime("%Y-%m-%dT%H:%M"),
        "country": "BD",
        "severity": "low",
        "confidence": "50",
        "tlp": "green",
    }
    for forged in ({}, {"csrf_token": "not-the-token"}):
        refused = page.request.post("/reports/new", form={**report, **forged}, max_redirects=0)
        assert refused.status == 403, refused.text()
        assert "This form has expired" in refused.text()
    out = page.request.post("/logout", form={}, max_redirects=0)
    assert out.status == 403
    assert node.stored_reports() == before
    page.goto("/dashboard")
    assert page.url.endswith("/dashboard")  # still signed in: the logout was refused
    # The same request with the page's token goes through (the check is the token).
    heard = page.request.post(
        "/reports/_audience",
        form={"tlp": "amber", "member_states": "IN"},
        headers={"X-CSRF-Token": token},
    )
    assert heard.status == 200 and "India (IN)" in heard.text()
    assert page.request.post("/reports/_audience", form={"tlp": "amber"}).status == 403


# --- 4. no request leaves 127.0.0.1 --------------------------------------------------


def test_no_page_asks_another_host_for_anything(people: People, node: Node, a_report: str) -> None:
    traffic = Traffic()
    visits: list[tuple[str | None, str]] = [
        (None, "/login"),
        (None, "/public"),
        ("bd.web", "/dashboard"),
        ("bd.web", "/reports"),
        ("bd.web", "/reports/new"),
        ("bd.web", f"/reports/{a_report}"),
        ("bd.web", "/map"),
        ("bd.web", "/profile"),
        ("bd.root", "/admin/users"),
    ]
    for username, path in visits:
        page = traffic.watch(people.page(username))
        response = page.goto(path)
        assert response is not None and response.status == 200, (username, path)
        if path == "/map":
            wait_for_map(page)
            page.locator("#days").select_option("90")  # map.js fetches the data again
            expect(page).to_have_url(re.compile(r"days=90"))
        elif path == "/reports/new":  # the point picker, and the HTMX checks as one types
            wait_for_map(page, "#point-picker")
            page.locator("#point-picker").click()
            expect(page.locator("#lat")).not_to_have_value("")
            page.get_by_label("India (IN)").check()
            expect(page.locator("#audience-body")).to_contain_text("India (IN)")
            page.locator("#obs-0-type").select_option("domain-name")
            page.locator("#obs-0-value").fill(DOMAIN)
            page.locator("#obs-0-value").press("Tab")
            expect(page.locator("#obs-0-check")).to_contain_text("stored as")
        elif path == "/reports":
            page.locator("#f-q").fill(UNIQUE)
            expect(page).to_have_url(re.compile(rf"q={UNIQUE}"))
        page.wait_for_load_state("networkidle")
        page.close()
    assert traffic.foreign() == []
    assert traffic.failures == []
    assert traffic.errors == []
    local = " ".join(traffic.requests)
    for asset in ("htmx-2.0.8.min.js", "leaflet.js", "world-atlas", "/map/data.json"):
        assert asset in local, f"{asset} was never requested: the recording missed it"


# --- 5. the map ----------------------------------------------------------------------


def test_map_draws_countries_and_its_counts_are_the_apis(people: People, node: Node) -> None:
    page = people.page("in.web")
    with page.expect_response(lambda r: "/map/data.json" in r.url) as answer:
        page.goto("/map")
    data = answer.value.json()
    assert wait_for_map(page) > 5
    expect(page.locator("#map path.country.member")).to_have_count(7)  # BIMSTEC's members
    expect(page.locator("#map-status")).to_contain_text("located report")  # drawn by map.js
    # The layers over the counts: each BIMSTEC sea area, shaded, and listed with its level.
    expect(page.locator("#map-seas tbody tr[data-sea]")).to_have_count(7)
    expect(page.locator("#map-seas")).to_contain_text("Andaman Sea")

    for days in ("30", "7"):
        if days != "30":
            with page.expect_response(lambda r: "/map/data.json" in r.url) as answer:
                page.locator("#days").select_option(days)
            data = answer.value.json()
            expect(page.locator("#map-status")).to_contain_text(data["since_date"])
        api = node.api("in.web", "/api/v1/reports/counts", by="country", since=data["since"])
        expected = {row["key"]: row["count"] for row in api["rows"]}
        assert expected, "the scene should give India something to count"
        assert data["counts"] == expected
        shown = {code: n for code, n in map_table(page).items() if n}
        assert shown == expected
        total = sum(expected.values())
        expect(page.locator("#map-list")).to_have_text(f"All {total} reports in this window")


# --- 6. accessibility ----------------------------------------------------------------

AXE_PAGES = [
    pytest.param(None, "/login", id="sign-in"),
    pytest.param("bd.web", "/dashboard", id="dashboard"),
    pytest.param("bd.web", "/reports/new", id="report-form"),
    pytest.param("bd.web", "/reports/{b}", id="report-page"),
    pytest.param("bd.web", "/map", id="map"),
    pytest.param("bd.web", "/reports", id="report-list"),
    pytest.param(None, "/public", id="public"),
    pytest.param("bd.web", "/profile", id="profile"),
    pytest.param("bd.root", "/admin/users", id="admin-users"),
    pytest.param("bd.web", "/exchange", id="import-export"),
]


@pytest.mark.parametrize(("username", "path"), AXE_PAGES)
def test_axe_finds_no_serious_violation(
    people: People, node: Node, username: str | None, path: str
) -> None:
    page = people.page(username)
    page.goto(path.format(b=node.ids["b"]))
    if path == "/map":
        wait_for_map(page)
    elif path == "/reports/new":
        wait_for_map(page, "#point-picker")
    violations = axe_violations(page)
    if violations:
        print(describe_violations(violations))
    assert not violations, describe_violations(violations)
    page.close()


def test_axe_check_itself_sees_a_planted_violation(people: People) -> None:
    """The check above is only worth its silence if it can speak."""
    page = people.page(None)
    page.set_content('<main><button></button><input type="text"></main>')
    found = {v["id"] for v in axe_violations(page)}
    assert {"button-name", "label"} <= found, found
    page.close()


def test_axe_on_the_form_with_errors(people: People, node: Node) -> None:
    page = people.page("bd.web")
    page.goto("/reports/new")
    page.locator("#title").fill("x")
    page.locator("#category").fill("no-such.category")
    page.locator("#country").select_option("BD")
    page.get_by_role("button", name="File report").click()
    expect(page.locator(".error-summary")).to_be_visible()
    violations = axe_violations(page)
    assert not violations, describe_violations(violations)
    page.close()


# --- 8. the Content-Security-Policy breaks nothing ----------------------------------

RECORD_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def test_main_pages_work_under_the_csp_with_no_violation(
    people: People, node: Node, a_report: str
) -> None:
    """Chromium reports every refused script, style or image; the map and HTMX still work."""
    found: list[str] = []
    visits = [
        ("bd.web", "/dashboard"),
        ("bd.web", "/reports"),
        ("bd.web", "/reports/new"),
        ("bd.web", f"/reports/{a_report}"),
        ("bd.web", "/map"),
        ("bd.web", "/exchange"),
        ("bd.web", f"/observables?value={PHONE}"),
        ("bd.root", "/admin/users"),
    ]
    for username, path in visits:
        page = people.page(username)
        page.add_init_script(RECORD_CSP)
        page.on(
            "console",
            lambda m: found.append(m.text) if "Content Security Policy" in m.text else None,
        )
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        if path == "/map":
            wait_for_map(page)
        elif path == "/reports/new":
            wait_for_map(page, "#point-picker")
            page.get_by_label("India (IN)").check()
            expect(page.locator("#audience-body")).to_contain_text("India (IN)")
        page.wait_for_load_state("networkidle")
        found.extend(f"{path}: {v}" for v in page.evaluate("window.__csp"))
        page.close()
    assert found == []
