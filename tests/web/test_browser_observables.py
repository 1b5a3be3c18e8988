"""The header's look-up box end to end: Debian's Chromium against a real `rsn serve`.

India's CERT has reported a recruiter's Bangladeshi number to Bangladesh. A
Bangladeshi analyst types it into the box as Bangladeshis write it and lands on the
observable page, with the keyboard alone and without script; a Myanmar analyst, who
may not read the report, finds nothing. SQLite only (the rest of the suite covers
PostgreSQL); like tests/web/test_browser.py, nothing here uses the in-process app.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from rsn import clock
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
NUMBER = "+8801711460983"
TYPED = "01711-460983"
TITLE = "Quillwort recruiters call from a Bangladeshi number"
BOX = re.compile("Look up a value")


@dataclass
class Node:
    server: Server
    world: World
    report_id: str

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="module")
def node(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    home = tmp_path_factory.mktemp("observables-node")
    path = home / "rsn.sqlite3"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    world = bimstec_world(db)
    world.person("bd.web", "bd-cert", password=PASSWORD)
    world.person("mm.web", "mm-cert", password=PASSWORD)
    server = start_server(db.url, home)
    try:
        when = (clock.now() - timedelta(days=4)).isoformat(timespec="seconds")
        body = report_payload(
            title=TITLE,
            country="IN",
            occurred_at=when.replace("+00:00", "Z"),
            distribution={"member_states": ["BD"]},
            observables=[{"type": "phone-number", "value": NUMBER}],
        )
        answer = httpx.post(
            f"{server.url}/api/v1/reports",
            json=body,
            headers=world.people["in.analyst"].auth,
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        yield Node(server, world, str(answer.json()["id"]))
    finally:
        server.stop()
        db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from chromium()


def signed_in(browser: Browser, node: Node, username: str, *, script: bool = True) -> Page:
    context = browser.new_context(
        base_url=node.url, viewport={"width": 1280, "height": 800}, java_script_enabled=script
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, username, PASSWORD)
    return page


def tab_to(page: Page, element_id: str, most: int = 30) -> None:
    """Press Tab from the top of the page until `element_id` has the focus."""
    page.locator("body").focus()
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} was not reached with {most} presses of Tab")


def test_a_value_typed_in_the_header_with_the_keyboard_opens_its_page(
    browser: Browser, node: Node
) -> None:
    page = signed_in(browser, node, "bd.web")
    traffic = Traffic()
    traffic.watch(page)
    page.goto("/reports")
    tab_to(page, "top-search")
    page.keyboard.type(TYPED)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/observables\?value=01711-460983$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(NUMBER)
    expect(page.locator(".observable-facts")).to_contain_text("Phone number")
    report = page.get_by_role("link", name=TITLE)
    expect(report).to_have_attribute("href", f"/reports/{node.report_id}")
    expect(page.get_by_role("heading", name=re.compile("Seen in 1 report"))).to_be_visible()
    violations = axe_violations(page)
    assert not violations, describe_violations(violations)
    assert not traffic.errors and not traffic.failures and not traffic.foreign()
    page.context.close()


def test_the_box_works_without_script(browser: Browser, node: Node) -> None:
    page = signed_in(browser, node, "bd.web", script=False)
    box = page.get_by_role("searchbox", name=BOX)
    box.fill(TYPED)
    box.press("Enter")
    page.wait_for_url(re.compile(r"/observables\?value="))
    expect(page.get_by_role("link", name=TITLE)).to_be_visible()
    page.context.close()


def test_a_reader_the_report_is_hidden_from_finds_nothing(browser: Browser, node: Node) -> None:
    page = signed_in(browser, node, "mm.web")
    box = page.get_by_role("searchbox", name=BOX)
    box.fill(NUMBER)
    box.press("Enter")
    page.wait_for_url(re.compile(r"/observables\?value="))
    expect(
        page.get_by_role("heading", name="No report you may read carries this value")
    ).to_be_visible()
    assert TITLE not in page.content()
    page.context.close()
