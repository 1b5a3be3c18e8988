"""The report form in Chromium: a corrected field loses its error, and the summary follows.

A Bangladeshi analyst files with a mistyped phone number, gets the form back with the
error beside the field and in the summary, and corrects it: the error goes from both,
as soon as the inline check (or, for other fields, the edit itself) says so. One node
on SQLite for the module, as in test_browser.py, whose notes on Playwright apply here.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from rsn.store import Database
from tests.factories import bimstec_world
from tests.web.browser import Server, chromium, sign_in, start_server

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery staple"
USERNAME = "bd.form"


@pytest.fixture(scope="module")
def server(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("form-errors-node")
    path = home / "rsn.sqlite3"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    bimstec_world(db).person(USERNAME, "bd-cert", password=PASSWORD)
    found = start_server(db.url, home)
    try:
        yield found
    finally:
        found.stop()
        db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from chromium()


@pytest.fixture
def page(browser: Browser, server: Server) -> Iterator[Page]:
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    script_errors: list[str] = []  # the console also logs each 422, which is expected here
    tab.on("pageerror", lambda exc: script_errors.append(str(exc)))
    sign_in(tab, USERNAME, PASSWORD)
    try:
        yield tab
        assert not script_errors, script_errors
    finally:
        context.close()


def filed_with(page: Page, *, category: str, phone: str) -> None:
    """The form filed with one phone number; the server answers 422 with the form again."""
    page.goto("/reports/new")
    page.locator("#title").fill("Recruiter's number seen again")
    page.locator("#category").fill(category)
    page.locator("#country").select_option("BD")
    page.locator("#obs-0-type").select_option("phone-number")
    page.locator("#obs-0-value").fill(phone)
    with page.expect_response(
        lambda r: r.url.endswith("/reports/new") and r.request.method == "POST"
    ) as answer:
        page.get_by_role("button", name="File report").click()
    assert answer.value.status == 422
    page.wait_for_load_state()


def retyped(page: Page, input_id: str, value: str) -> None:
    """Typed anew and left with Tab, so the inline check answers."""
    page.locator(f"#{input_id}").fill(value)
    page.locator(f"#{input_id}").press("Tab")


def test_a_corrected_observable_loses_its_error_and_the_summary_goes(page: Page) -> None:
    filed_with(page, category="organized-crime.human-trafficking", phone="+88 017")
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("1 thing to fix")
    expect(page.locator("#obs-0-value-error")).to_contain_text("+88 017")
    expect(page.locator("#obs-0-value")).to_have_attribute("aria-invalid", "true")

    retyped(page, "obs-0-value", "+8801712345678")
    expect(page.locator("#obs-0-check")).to_contain_text("Valid; stored as +8801712345678")
    expect(page.locator("#obs-0-value-error")).to_have_count(0)
    expect(summary).to_have_count(0)
    value = page.locator("#obs-0-value")
    expect(value).not_to_have_attribute("aria-invalid", "true")
    expect(value).to_have_attribute("aria-describedby", "obs-0-check")


def test_the_summary_counts_what_is_left_and_restates_a_still_wrong_value(page: Page) -> None:
    filed_with(page, category="no-such.category", phone="+88 017")
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("2 things to fix")

    # Still wrong: the check's message replaces the old one, beside the field and above.
    retyped(page, "obs-0-value", "+88 0171")
    expect(page.locator("#obs-0-check .field-error")).to_contain_text("'+88 0171'")
    expect(page.locator("#obs-0-value-error")).to_have_count(0)
    expect(summary).to_contain_text("2 things to fix")
    expect(summary.locator("li[data-key='obs-0-value']")).to_contain_text("'+88 0171'")
    expect(summary).not_to_contain_text("'+88 017' ")

    # Right at last: one thing left, the category, whose error stays until it is edited.
    retyped(page, "obs-0-value", "01712-345678")
    expect(page.locator("#obs-0-check")).to_contain_text("stored as +8801712345678")
    expect(summary).to_contain_text("1 thing to fix")
    expect(summary.locator("li")).to_have_count(1)
    expect(page.locator("#category-error")).to_be_visible()

    page.locator("#category").fill("organized-crime.human")
    expect(page.locator("#category-error")).to_have_count(0)
    expect(page.locator("#category")).not_to_have_attribute("aria-invalid", "true")
    expect(summary).to_have_count(0)


def test_a_national_number_is_checked_again_when_the_country_changes(page: Page) -> None:
    page.goto("/reports/new")
    page.locator("#country").select_option("BD")
    page.locator("#obs-0-type").select_option("phone-number")
    retyped(page, "obs-0-value", "01711-460983")
    check = page.locator("#obs-0-check")
    expect(check).to_contain_text("stored as +8801711460983")
    page.locator("#country").select_option("IN")
    expect(check).to_contain_text("not a valid phone number for India")
