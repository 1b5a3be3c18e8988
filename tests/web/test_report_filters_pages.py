"""The report pages take what people type: category names and words, national phone numbers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from argon2 import PasswordHasher

from rsn.registry import service as registry
from rsn.store import Database
from tests.factories import Api, World, api_for, bimstec_world
from tests.web.test_reports_pages import amber_to, browser, file, shown, valid_form

E164 = "+8801711460983"


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2 at its lowest cost: these tests are about pages, not password hashing."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(registry, "_hasher", cheap)


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


@pytest.fixture
def api(db: Database, tmp_path: Any, world: World) -> Api:
    return api_for(db, tmp_path)


def test_the_category_filter_takes_names_and_words(api: Api, world: World) -> None:
    bd = world.people["bd.analyst"]
    file(api, bd, title="Boats with migrants", category="maritime.trafficking", **amber_to("IN"))
    file(
        api,
        bd,
        title="Heroin seized",
        category="organized-crime.drug-trafficking",
        **amber_to("IN"),
    )
    file(api, bd, title="Phishing wave", category="cyber.attack", **amber_to("IN"))
    web = browser(api, world, "in.web", "in-cert")
    by_word = web.get("/reports?category=trafficking")
    assert by_word.status_code == 200
    assert "Boats with migrants" in by_word.text and "Heroin seized" in by_word.text
    assert "Phishing wave" not in by_word.text
    by_name = web.get("/reports?category=Drug+trafficking")
    assert "Heroin seized" in by_name.text and "Boats with migrants" not in by_name.text


def test_a_category_filter_that_matches_nothing_says_so_beside_it(api: Api, world: World) -> None:
    file(api, world.people["bd.analyst"], title="Phishing wave", **amber_to("IN"))
    web = browser(api, world, "in.web", "in-cert")
    page = web.get("/reports?category=trafiking")
    assert page.status_code == 422
    beside = re.search(r'id="f-category-error">([^<]*)<', shown(page))
    assert beside is not None
    assert beside.group(1).startswith("'trafiking' matches no category; did you mean ")
    assert "Drug trafficking (organized-crime.drug-trafficking)" in beside.group(1)
    assert "Phishing wave" not in page.text
    part = web.get("/reports?category=trafiking", headers={"HX-Request": "true"})
    assert re.search(r'id="f-category-error" hx-swap-oob="true">\'trafiking\' matches', shown(part))


def test_the_observable_filter_reads_national_numbers_in_the_viewer_s_state(
    api: Api, world: World
) -> None:
    phone = [{"type": "phone-number", "value": E164}]
    file(api, world.people["bd.analyst"], title="Recruiter", observables=phone, **amber_to("IN"))
    bangladeshi = browser(api, world, "bd.web", "bd-cert")
    assert "Recruiter" in bangladeshi.get("/reports?observable=01711460983").text
    indian = browser(api, world, "in.web", "in-cert")
    assert "Recruiter" not in indian.get("/reports?observable=01711460983").text
    assert "Recruiter" in indian.get("/reports?observable=%2B880+1711-460983").text


def test_the_inline_check_reads_a_national_number_in_the_form_s_country(
    api: Api, world: World
) -> None:
    web = browser(api, world, "bd.web", "bd-cert")
    web.get("/reports/new")
    row = {"row": "0", "obs-0-type": "phone-number", "obs-0-value": "01711-460983"}
    good = web.post("/reports/_observable", {**row, "country": "BD"})
    assert good.status_code == 200 and f"stored as <code>{E164}</code>" in good.text
    short = web.post("/reports/_observable", {**row, "obs-0-value": "01711", "country": "BD"})
    assert "'01711' is not a valid phone number for Bangladesh (too short)" in shown(short)
    nowhere = web.post("/reports/_observable", row)
    assert "must be in international format" in shown(nowhere)
    form = web.get("/reports/new").text
    assert 'hx-include="closest .obs-row, #country"' in form


def test_the_form_files_a_national_number_in_e164(api: Api, world: World) -> None:
    web = browser(api, world, "bd.web", "bd-cert")
    web.get("/reports/new")
    answer = web.post("/reports/new", valid_form(**{"obs-0-value": "01711-460983"}))
    assert answer.status_code == 303, answer.text
    report_id = answer.headers["location"].removeprefix("/reports/")
    body = api.get(f"/api/v1/reports/{report_id}", as_=world.people["bd.analyst"]).json()
    assert body["observables"][0] == {"type": "phone-number", "value": E164}
    wrong = web.post("/reports/new", valid_form(country="IN", **{"obs-0-value": "01711460983"}))
    assert wrong.status_code == 422
    beside = "'01711460983' is not a valid phone number for India"
    assert f'id="obs-0-value-error">{beside}' in shown(wrong)
