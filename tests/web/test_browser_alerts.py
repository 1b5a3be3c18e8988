"""`/alerts` in Chromium: a duty analyst triages an alert from the list to its page.

A Bangladeshi analyst finds a new alert in the triage list, opens it, sees its series
and the reports it stands on, acknowledges it with a note, and mutes its series for a
week: it leaves the list, and comes back when asked for. An analyst of another state
who reads none of its reports finds nothing. One node on SQLite for the module, as in
test_browser.py, whose notes on Playwright apply here.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from playwright.sync_api import Browser, Page, expect

from rsn import clock
from rsn.store import Database
from tests.factories import bimstec_world
from tests.warning.test_alerts import file, found, raised
from tests.web.browser import Server, chromium, sign_in, start_server

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def node(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, str]]:
    home = tmp_path_factory.mktemp("alerts-node")
    path = home / "rsn.sqlite3"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    world = bimstec_world(db)
    world.person("bd.triage", "bd-cert", password=PASSWORD)
    world.person("mm.triage", "mm-cert", password=PASSWORD)
    now = SimpleNamespace(now=clock.now())
    strict = file(world, "bd.analyst", now, 3, tlp="amber+strict", distribution={})  # type: ignore[arg-type]
    alert_id = raised(
        world,
        found(  # type: ignore[arg-type]
            strict, now, category="maritime.piracy", detail={"counts": [2, 3, 1, 2, 11]}
        ),
    )
    server = start_server(db.url, home)
    try:
        yield server, alert_id
    finally:
        server.stop()
        db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from chromium()


def tab(browser: Browser, server: Server, username: str) -> Page:
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    sign_in(page, username, PASSWORD)
    return page


def test_triage_from_the_list_to_a_mute(browser: Browser, node: tuple[Server, str]) -> None:
    server, alert_id = node
    page = tab(browser, server, "bd.triage")
    page.goto("/alerts")
    expect(page.get_by_role("link", name="New (1)")).to_be_visible()
    page.locator(f'a[href="/alerts/{alert_id}"]').first.click()
    expect(page).to_have_url(f"{server.url}/alerts/{alert_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("maritime.piracy")
    expect(page.locator("figure.sparkline polyline")).to_have_count(1)
    expect(page.locator('section[aria-labelledby="reports-title"] li a')).to_have_count(3)

    page.locator("#note").fill("Coast guard informed; patrol at dawn.")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".facts")).to_contain_text("acknowledged")
    expect(page.locator("ol.history")).to_contain_text("Coast guard informed; patrol at dawn.")

    page.locator("#days").select_option("7")
    page.get_by_role("button", name="Mute", exact=True).click()
    expect(page.locator("#mute_reason-error")).to_be_visible()  # a mute needs its reason
    page.locator("#days").select_option("7")
    page.locator("#mute_reason").fill("Joint exercise off Chattogram this week")
    page.get_by_role("button", name="Mute", exact=True).click()
    expect(page.get_by_text("Muted for your organization until")).to_be_visible()

    page.goto("/alerts")
    expect(page.locator(f'a[href="/alerts/{alert_id}"]')).to_have_count(0)
    page.get_by_role("link", name="Show the series your organization muted").click()
    expect(page.locator(f'a[href="/alerts/{alert_id}"]').first).to_be_visible()
    expect(page.get_by_text("muted until").first).to_be_visible()
    assert not page.errors  # type: ignore[attr-defined]
    page.context.close()


def test_a_reader_of_none_of_its_reports_finds_nothing(
    browser: Browser, node: tuple[Server, str]
) -> None:
    server, alert_id = node
    page = tab(browser, server, "mm.triage")
    page.goto("/alerts")
    expect(page.get_by_role("link", name="All (0)")).to_be_visible()
    expect(page.locator(f'a[href="/alerts/{alert_id}"]')).to_have_count(0)
    answer = page.goto(f"/alerts/{alert_id}")
    assert answer is not None and answer.status == 404
    page.context.close()
