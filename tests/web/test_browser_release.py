"""Draft and release in Debian's Chromium against a real `rsn serve` (SQLite).

Bangladesh's CERT requires release, set by its operator with `rsn org set` before
the node starts. Its analyst fills the form for India, reads the panel's release
note, saves a draft and submits it; India's analyst meets nothing until one of
bd-cert's liaison officers, in a browser of their own, finds it through the
header's Releases link and releases it. Buttons and links are reached with Tab
and pressed with Enter. As in test_browser.py, the browser lives for this module
only and nothing here uses the in-process app.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from rsn import clock
from rsn.reports.models import Report
from rsn.store import Database
from tests.factories import World, bimstec_world
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
TITLE = "Zephyrine recruiters moving job seekers through Benapole"
WEB_USERS = (
    ("bd.web", "bd-cert", "analyst"),
    ("bd.liaise", "bd-cert", "liaison"),
    ("in.web", "in-cert", "analyst"),
)
RELEASE_NOTE = (
    "Your organization requires release: once filed, this waits for one of its liaison "
    "or duty officers before anyone outside BD-CERT reads it."
)
REPORT = re.compile(r".*/reports/([0-9a-f-]{36})(?:\?notice=\w+)?$")
MOST_TABS = 80
RSN = (sys.executable, "-m", "rsn.cli")


@dataclass
class Node:
    server: Server
    db: Database
    world: World

    def status(self, report_id: str) -> str:
        with self.db.session() as s:
            report = s.get(Report, report_id)
            assert report is not None
            return report.status


def require_release(home: Path, database_url: str, slug: str) -> None:
    """As an operator does it: `rsn org set SLUG --release-required` on the node's config."""
    config = home / "operator.toml"
    config.write_text(f'[node]\ndatabase_url = "{database_url}"\ndata_dir = "{home}"\n')
    done = subprocess.run(
        [*RSN, "org", "set", slug, "--release-required", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "now requires release" in done.stdout, done.stdout


@pytest.fixture(scope="module")
def node(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    home = tmp_path_factory.mktemp("browser-release-node")
    path = home / "rsn.sqlite3"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    world = bimstec_world(db)
    for username, org, role in WEB_USERS:
        world.person(username, org, role=role, password=PASSWORD)
    require_release(home, db.url, "bd-cert")
    server = start_server(db.url, home)
    try:
        yield Node(server, db, world)
    finally:
        server.stop()
        db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from chromium()


def signed_in(browser: Browser, node: Node, username: str, traffic: Traffic) -> Page:
    """A tab of a new browser context of `username`'s, signed in through the form."""
    context: BrowserContext = browser.new_context(
        base_url=node.server.url, viewport={"width": 1280, "height": 800}
    )
    context.set_default_timeout(10_000)
    page = traffic.watch(context.new_page())
    sign_in(page, username, PASSWORD)
    return page


def press(page: Page, target: Locator) -> None:
    """Tab from where the focus is to `target`, as a keyboard user would, and press Enter."""
    for _ in range(MOST_TABS):
        if target.evaluate("el => el === document.activeElement"):
            page.keyboard.press("Enter")
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{MOST_TABS} presses of Tab never reached {target}")


def no_serious_violations(page: Page) -> None:
    violations = axe_violations(page)
    assert not violations, describe_violations(violations)


def fill_for_india(page: Page) -> None:
    """The analyst's AMBER report for India; the panel says it waits for release."""
    page.goto("/reports/new")
    page.locator("#title").fill(TITLE)
    page.locator("#category").fill("organized-crime.human-trafficking")
    page.locator("#description").fill("Job seekers are taken across at night by one crew.")
    when = clock.now() - timedelta(days=1)
    page.locator("#occurred_at").fill(when.strftime("%Y-%m-%dT%H:%M"))
    page.locator("#country").select_option("BD")
    page.locator("#severity").select_option("high")
    page.locator("#confidence").fill("70")
    page.locator("#source_reliability").select_option("B")
    page.locator("#information_credibility").select_option("2")
    page.get_by_label("TLP:AMBER", exact=True).check()
    audience = page.locator("#audience-body")
    expect(audience).to_contain_text("will be able to read this report")
    expect(audience).not_to_contain_text("Your organization requires release")
    page.get_by_label("India (IN)").check()
    expect(audience).to_contain_text("India (IN): every government agency")
    expect(audience.locator(".release-needed")).to_have_text(RELEASE_NOTE)
    no_serious_violations(page)


def test_draft_submit_and_release_by_a_liaison_officer(browser: Browser, node: Node) -> None:
    traffic = Traffic()
    author = signed_in(browser, node, "bd.web", traffic)
    reader = signed_in(browser, node, "in.web", traffic)

    fill_for_india(author)
    author.locator("#obs-0-value").focus()
    press(author, author.get_by_role("button", name="Save as draft"))
    author.wait_for_url(REPORT)
    found = REPORT.match(author.url)
    assert found and author.url.endswith("?notice=drafted"), author.url
    report_url = f"/reports/{found.group(1)}"
    expect(author.locator("p.notice")).to_contain_text("Saved as a draft")
    expect(author.locator("#release-title")).to_have_text("Draft")
    assert node.status(found.group(1)) == "draft"
    unseen(reader, report_url)

    press(author, author.get_by_role("button", name="Submit for release"))
    expect(author.locator("#release-title")).to_have_text("Pending release")
    no_serious_violations(author)  # the report page with its banner
    assert node.status(found.group(1)) == "pending"
    unseen(reader, report_url)

    liaison = signed_in(browser, node, "bd.liaise", traffic)
    press(
        liaison, liaison.get_by_role("navigation", name="Main").get_by_role("link", name="Releases")
    )
    liaison.wait_for_url("**/releases")
    queued = liaison.get_by_role("link", name=TITLE)
    expect(queued).to_have_attribute("href", report_url)
    no_serious_violations(liaison)  # /releases, with the report waiting
    press(liaison, queued)
    liaison.wait_for_url(f"**{report_url}")
    expect(liaison.locator("#release-title")).to_have_text("Pending release")
    no_serious_violations(liaison)  # the report page with its banner and the release actions
    press(liaison, liaison.get_by_role("button", name="Release", exact=True))
    expect(liaison.locator("#release-title")).to_have_count(0)
    assert node.status(found.group(1)) == "published"

    seen = reader.goto(report_url)
    assert seen is not None and seen.status == 200
    expect(reader.locator("h1#report-title")).to_have_text(TITLE)
    # The browser logs each 404 it was meant to get; nothing else may go wrong.
    expected = f"{report_url}: Failed to load resource: the server responded with a status of 404"
    errors = [e for e in traffic.errors if not e.endswith(f"{expected} (Not Found)")]
    assert len(errors) == len(traffic.errors) - 2, traffic.errors
    assert not errors and not traffic.failures, (errors, traffic.failures)
    assert traffic.foreign() == []
    for page in (author, reader, liaison):
        page.context.close()


def unseen(reader: Page, report_url: str) -> None:
    """India's analyst, in the distribution, meets the report nowhere before it is released."""
    hidden = reader.goto(report_url)
    assert hidden is not None and hidden.status == 404
    reader.goto("/reports")
    expect(reader.get_by_role("link", name=TITLE)).to_have_count(0)
