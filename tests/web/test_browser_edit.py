"""Editing and revoking in Debian's Chromium against a real `rsn serve` (SQLite).

A Bangladeshi analyst opens a report of their organization, edits it through the
form (widening it to Myanmar, which the "who will see this" panel shows before
saving), adds an update, and revokes it through the confirmation page. As in
test_browser.py, the browser lives for this module only and nothing here uses the
in-process app.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from rsn.reports.models import Report
from rsn.store import Database
from tests.factories import World, bimstec_world, report_payload
from tests.web.browser import (
    Server,
    Traffic,
    axe_violations,
    chromium,
    describe_violations,
    sign_in,
    start_server,
)

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery staple"
TITLE = "Fishing trawlers without AIS off Kutubdia"
NEW_TITLE = "Fishing trawlers without AIS off Kutubdia and Sonadia"
NOTE = "A third trawler was seen at dawn."
REASON = "Duplicate of the coast guard's report"


@dataclass
class Node:
    server: Server
    db: Database
    world: World
    report_id: str

    def stored(self) -> Report:
        with self.db.session() as s:
            report = s.get(Report, self.report_id)
            assert report is not None
            return report


@pytest.fixture(scope="module")
def node(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    home = tmp_path_factory.mktemp("browser-edit-node")
    path = home / "rsn.sqlite3"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    world = bimstec_world(db)
    world.person("bd.web", "bd-cert", password=PASSWORD)
    server = start_server(db.url, home)
    try:
        response = httpx.post(
            f"{server.url}/api/v1/reports",
            json=report_payload(title=TITLE, category="maritime.illegal-fishing"),
            headers=world.people["bd.analyst"].auth,
            timeout=10,
        )
        assert response.status_code == 201, response.text
        yield Node(server, db, world, str(response.json()["id"]))
    finally:
        server.stop()
        db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from chromium()


def no_serious_violations(page: Page) -> None:
    violations = axe_violations(page)
    assert not violations, describe_violations(violations)


def test_edit_update_and_revoke_through_the_confirmation(browser: Browser, node: Node) -> None:
    context = browser.new_context(base_url=node.server.url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    traffic = Traffic()
    page = traffic.watch(context.new_page())
    try:
        sign_in(page, "bd.web", PASSWORD)
        report_url = f"/reports/{node.report_id}"
        page.goto(report_url)
        page.get_by_role("link", name="Edit", exact=True).click()
        page.wait_for_url(f"**{report_url}/edit")
        edit(page)
        no_serious_violations(page)
        page.get_by_role("button", name="Save changes").click()
        page.wait_for_url(f"**{report_url}?notice=saved")
        expect(page.get_by_role("status")).to_contain_text("Saved.")
        expect(page.locator("h1#report-title")).to_have_text(NEW_TITLE)
        expect(page.locator(".tlp-banner")).to_contain_text("MM")
        expect(page.locator("ol.history")).to_contain_text("Version 2")
        stored = node.stored()
        assert (stored.version, stored.title, stored.severity) == (2, NEW_TITLE, "critical")

        page.locator("#note").fill(NOTE)
        page.get_by_role("button", name="Add update").click()
        page.wait_for_url(f"**{report_url}?notice=noted")
        expect(page.locator(".description")).to_contain_text("by bd.web:")
        expect(page.locator(".description")).to_contain_text(NOTE)

        revoke(page, node)
        stored = node.stored()
        assert (stored.revoked, stored.revoked_reason, stored.version) == (True, REASON, 4)
        assert not traffic.errors and not traffic.failures, (traffic.errors, traffic.failures)
        assert not traffic.foreign()
    finally:
        context.close()


def edit(page: Page) -> None:
    """Change the title and severity, and widen to Myanmar, watching the panel follow."""
    title = page.locator("#title")
    expect(title).to_have_value(TITLE)
    expect(page.get_by_label("India (IN)")).to_be_checked()
    title.fill(NEW_TITLE)
    page.locator("#severity").select_option("critical")
    audience = page.locator("#audience-body")
    expect(audience).not_to_contain_text("Myanmar")
    page.get_by_label("Myanmar (MM)").check()
    expect(audience).to_contain_text("Myanmar (MM)")


def revoke(page: Page, node: Node) -> None:
    """The report page only leads to the confirmation; that page's button revokes."""
    report_url = f"/reports/{node.report_id}"
    page.get_by_role("button", name="Revoke…").click()
    page.wait_for_url(f"**{report_url}/revoke*")
    expect(page.locator("#revoke-effects")).to_contain_text("stops correlating")
    no_serious_violations(page)
    assert not node.stored().revoked
    page.locator("#reason").fill(REASON)
    page.locator("#reason").press("Tab")
    page.keyboard.press("Enter")  # the focused "Revoke this report", without a mouse
    page.wait_for_url(f"**{report_url}?notice=revoked")
    expect(page.get_by_role("status").first).to_contain_text("Report revoked.")
    expect(page.locator(".revoked-note")).to_contain_text(REASON)
    expect(page.get_by_role("link", name="Edit", exact=True)).to_have_count(0)
