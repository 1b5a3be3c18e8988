"""Layout in a real browser: what fits at 1280 px and 390 px, and the pickers by keyboard.

Debian's Chromium against a real `rsn serve` on SQLite, as in test_browser.py. The
node carries organizations and users with names as long as the demo's, so a table
that fits here fits there. The browser lives for this module only (see test_browser.py
for why nothing here uses the in-process app).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from rsn.registry import service as registry
from rsn.store import Database
from tests.factories import World, bimstec_world, days_ago
from tests.web.browser import (
    Server,
    axe_violations,
    chromium,
    describe_violations,
    sign_in,
    start_server,
)

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery staple"
NEPAL = "National Disaster Risk Reduction and Management Authority (Nepal)"
PACK_ORG = "bimstec-secretariat"  # comes with the region pack
# Names as long as the demo's longest: a table that fits these fits the demo.
LONG_ORGS = (
    ("np-ndrrma", NEPAL, "NP"),
    ("lk-dmc", "Disaster Management Centre (Sri Lanka)", "LK"),
)
LONG_USERS = (
    ("in.coastguard.liaison", "in-coastguard", "liaison"),
    ("bimstec.policymaker", PACK_ORG, "policymaker"),
    ("np.ndrrma.analyst", "np-ndrrma", "analyst"),
    ("lk.dmc.analyst", "lk-dmc", "analyst"),
)
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def served(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("layout-node")
    path = home / "rsn.sqlite3"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    world = bimstec_world(db)
    populate(db, world)
    server = start_server(db.url, home)
    try:
        yield server
    finally:
        server.stop()
        db.dispose()


def populate(db: Database, world: World) -> None:
    with db.session(write=True) as s:
        for slug, name, state in LONG_ORGS:
            registry.create_organization(
                s, slug=slug, name=name, type="government-agency", member_state=state
            )
    with db.session() as s:
        for slug in (*(o[0] for o in LONG_ORGS), PACK_ORG):
            world.orgs[slug] = registry.get_organization(s, slug=slug)
    for username, org, role in LONG_USERS:
        world.person(username, org, role=role)
    world.person("bd.web", "bd-cert", password=PASSWORD)
    world.person("bd.root", "bd-cert", role="node-admin", password=PASSWORD)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from chromium()


def signed_in(browser: Browser, served: Server, username: str, viewport: Any) -> Page:
    context = browser.new_context(base_url=served.url, viewport=viewport)
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, username, PASSWORD)
    return page


def box(locator: Locator) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not rendered"
    return found


# --- /admin/users ---------------------------------------------------------------------


def test_the_users_table_shows_its_last_column_whole_at_1280(
    browser: Browser, served: Server
) -> None:
    page = signed_in(browser, served, "bd.root", DESKTOP)
    page.goto("/admin/users")
    wrap = box(page.locator(".table-wrap:has(table.users-table)"))
    header = page.locator("table.users-table thead th").last
    expect(header).to_have_text("Last seen")
    seen = page.locator("table.users-table tbody tr:has-text('bd.root') td").last
    expect(seen).to_contain_text("UTC")  # the admin's own session, so the cell is filled
    for cell in (header, seen):
        edge = box(cell)
        assert edge["x"] >= wrap["x"] and edge["x"] + edge["width"] <= wrap["x"] + wrap["width"]
        assert edge["x"] + edge["width"] <= DESKTOP["width"]
    scroll = page.locator(".table-wrap:has(table.users-table)").evaluate(
        "el => el.scrollWidth - el.clientWidth"
    )
    assert scroll <= 0, f"the table scrolls sideways by {scroll} px"
    page.context.close()


def test_on_a_phone_each_account_reads_whole_without_sideways_scrolling(
    browser: Browser, served: Server
) -> None:
    page = signed_in(browser, served, "bd.root", PHONE)
    page.goto("/admin/users")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide"
    row = page.locator("table.users-table tbody tr:has-text('in.coastguard.liaison')")
    expect(row).to_contain_text("in-coastguard")
    cells = row.locator("td:visible")
    expect(cells).to_have_count(5)  # all but an empty "last seen": this one never signed in
    for cell in cells.all():
        edge = box(cell)
        assert edge["x"] >= 0 and edge["x"] + edge["width"] <= PHONE["width"], cell.inner_text()
    labels = [c.evaluate("td => getComputedStyle(td, '::before').content") for c in cells.all()]
    assert labels[1:] == ['"Name: "', '"Organization: "', '"Role: "', '"Status: "'], labels
    page.context.close()


# --- /exchange ------------------------------------------------------------------------


def test_the_check_only_box_sits_beside_its_label(browser: Browser, served: Server) -> None:
    page = signed_in(browser, served, "bd.web", DESKTOP)
    page.goto("/exchange")
    checkbox = page.get_by_label("Check only")
    expect(checkbox).to_be_visible()
    tick = box(checkbox)
    words = checkbox.evaluate(
        """input => {
          const text = [...input.parentElement.childNodes]
            .find(n => n.nodeType === 3 && n.textContent.trim());
          const range = document.createRange();
          range.selectNodeContents(text);
          const r = range.getClientRects()[0];
          return {x: r.x, y: r.y, height: r.height};
        }"""
    )
    gap = words["x"] - (tick["x"] + tick["width"])
    assert 0 <= gap <= 24, f"{gap} px between the box and its words"
    middle = tick["y"] + tick["height"] / 2
    assert words["y"] <= middle <= words["y"] + words["height"], (tick, words)
    page.context.close()


# --- the distribution pickers, by keyboard only ---------------------------------------------


def fill_the_rest(page: Page) -> None:
    page.locator("#title").fill("Coast guard and disaster authority, by keyboard")
    page.locator("#category").fill("disaster.cyclone")
    page.locator("#occurred_at").fill(days_ago(1).strftime("%Y-%m-%dT%H:%M"))
    page.locator("#country").select_option("BD")


def test_the_organization_picker_works_from_the_keyboard_alone(
    browser: Browser, served: Server
) -> None:
    page = signed_in(browser, served, "bd.web", DESKTOP)
    page.goto("/reports/new")
    fill_the_rest(page)
    page.locator("#tlp-amber-strict").focus()
    page.keyboard.press("Space")
    picker = page.locator("fieldset#organizations")
    expect(picker).to_be_visible()
    find = picker.get_by_label("Find organizations")
    page.keyboard.press("Tab")  # from the marking to the picker's filter box
    expect(find).to_be_focused()

    # Type to filter, Enter ticks the first match; the report is not sent.
    page.keyboard.type("disaster nepal")
    visible = picker.locator(".check:visible")
    expect(visible).to_have_count(1)
    expect(visible).to_contain_text(NEPAL)  # the full name, not cut
    page.keyboard.press("Enter")
    assert page.url.endswith("/reports/new")
    chosen = picker.locator("input[value='np-ndrrma']")
    expect(chosen).to_be_checked()
    expect(picker.get_by_role("button", name=f"Remove {NEPAL}")).to_be_visible()
    expect(find).to_have_value("")

    # Type, Down into the list, Space ticks; Up and Enter tick the one above.
    page.keyboard.type("cert")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    focused = page.evaluate("document.activeElement.value")
    page.keyboard.press("Space")
    expect(picker.locator(f"input[value='{focused}']")).to_be_checked()
    page.keyboard.press("ArrowUp")
    above = page.evaluate("document.activeElement.value")
    page.keyboard.press("Enter")
    expect(picker.locator(f"input[value='{above}']")).to_be_checked()
    assert page.url.endswith("/reports/new")

    # A chip removes its choice from the keyboard too.
    page.keyboard.press("Escape")
    expect(find).to_be_focused()
    chip = picker.get_by_role("button", name=f"Remove {picker_label(page, above)}")
    chip.focus()
    page.keyboard.press("Enter")
    expect(picker.locator(f"input[value='{above}']")).not_to_be_checked()
    expect(page.locator("#audience-body")).to_contain_text(NEPAL)

    violations = axe_violations(page)
    assert not violations, describe_violations(violations)

    with page.expect_request(
        lambda r: r.method == "POST" and r.url.endswith("/reports/new")
    ) as sent:
        page.locator("#title").focus()
        page.keyboard.press("Enter")
    posted = parse_qs(sent.value.post_data or "")
    assert sorted(posted["organizations"]) == sorted(["np-ndrrma", focused])
    page.wait_for_url(lambda url: not url.endswith("/reports/new"))
    banner = page.locator(".tlp-banner")
    expect(banner).to_contain_text("TLP:AMBER+STRICT")
    expect(banner).to_contain_text("np-ndrrma")
    expect(banner).to_contain_text(focused)
    page.context.close()


def picker_label(page: Page, value: str) -> str:
    return str(
        page.evaluate(
            "v => document.querySelector(`#organizations input[value='${v}']`)"
            ".labels[0].firstChild.textContent.trim()",
            value,
        )
    )


def test_without_javascript_the_pickers_are_plain_checkboxes(
    browser: Browser, served: Server
) -> None:
    context = browser.new_context(base_url=served.url, viewport=DESKTOP, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, "bd.web", PASSWORD)
    page.goto("/reports/new")
    picker = page.locator("fieldset#organizations")
    expect(picker.get_by_label(NEPAL)).to_be_visible()
    expect(picker.get_by_label("Find organizations")).to_have_count(0)
    context.close()
