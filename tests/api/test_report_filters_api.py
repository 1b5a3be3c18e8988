"""Filters as people type them: categories by name or word, phone numbers in national format.

Every test runs on SQLite and on PostgreSQL (the `db` fixture) with one BIMSTEC world:
bd.analyst and bd.police are Bangladeshi, in.analyst Indian, mm.analyst Myanmar's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rsn.store import Database
from tests.factories import Api, Person, World, api_for, bimstec_world, report_payload

NATIONAL = "01711460983"
E164 = "+8801711460983"


def file(api: Api, who: Person, **overrides: Any) -> str:
    response = api.post("/api/v1/reports", json=report_payload(**overrides), as_=who)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def listed(api: Api, who: Person, **params: str) -> set[str]:
    response = api.get("/api/v1/reports", params={"limit": "500", **params}, as_=who)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def problems(response: Any) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def phone(value: str) -> list[dict[str, str]]:
    return [{"type": "phone-number", "value": value}]


def _by_category(api: Api, w: World) -> dict[str, str]:
    bd = w.people["bd.analyst"]
    return {
        category: file(api, bd, category=category, observables=[])
        for category in (
            "organized-crime.human-trafficking",
            "organized-crime.drug-trafficking",
            "maritime.trafficking",
            "maritime.piracy",
            "organized-crime.money-laundering",
            "political.instability",
            "political.civil-unrest",
        )
    }


def test_a_category_is_found_by_its_name_a_word_of_it_or_its_id(
    db: Database, tmp_path: Path
) -> None:
    w = bimstec_world(db)
    api = api_for(db, tmp_path)
    r = _by_category(api, w)
    bd = w.people["bd.analyst"]

    def ids(*categories: str) -> set[str]:
        return {r[c] for c in categories}

    human, drug, sea = (
        "organized-crime.human-trafficking",
        "organized-crime.drug-trafficking",
        "maritime.trafficking",
    )
    assert listed(api, bd, category="Trafficking in persons") == ids(human)
    assert listed(api, bd, category="trafficking in PERSONS") == ids(human)
    assert listed(api, bd, category="trafficking") == ids(human, drug, sea)
    assert listed(api, bd, category="Trafficking") == ids(human, drug, sea)
    assert listed(api, bd, category="organized-crime.human") == ids(human)
    assert listed(api, bd, category="organized-crime.human-trafficking") == ids(human)
    assert listed(api, bd, category="maritime") == ids(sea, "maritime.piracy")
    assert listed(api, bd, category="Maritime security") == ids(sea, "maritime.piracy")
    # A child's exact name is that child, though its parent's name holds the same words.
    assert listed(api, bd, category="Political instability") == ids("political.instability")
    both = ids("political.instability", "political.civil-unrest")
    assert listed(api, bd, category="Political instability and civil unrest") == both


def test_a_category_that_matches_nothing_is_refused_with_suggestions(
    db: Database, tmp_path: Path
) -> None:
    w = bimstec_world(db)
    api = api_for(db, tmp_path)
    bd = w.people["bd.analyst"]
    file(api, bd)
    typo = problems(api.get("/api/v1/reports", params={"category": "trafiking"}, as_=bd))
    assert set(typo) == {"category"}
    assert typo["category"].startswith("'trafiking' matches no category; did you mean ")
    assert "Trafficking in persons (organized-crime.human-trafficking)" in typo["category"]
    nothing = problems(api.get("/api/v1/reports", params={"category": "xyzzy"}, as_=bd))
    assert "'xyzzy' matches no category" in nothing["category"]
    assert "such as 'piracy' or 'trafficking'" in nothing["category"]
    counted = api.get("/api/v1/reports/counts", params={"category": "xyzzy"}, as_=bd)
    assert "matches no category" in problems(counted)["category"]


def test_counts_take_a_category_name(db: Database, tmp_path: Path) -> None:
    w = bimstec_world(db)
    api = api_for(db, tmp_path)
    _by_category(api, w)
    file(api, w.people["bd.analyst"], category="maritime.trafficking", country="IN")

    def counted(who: Person, category: str) -> dict[str, int]:
        params = {"by": "country", "category": category}
        response = api.get("/api/v1/reports/counts", params=params, as_=who)
        assert response.status_code == 200, response.text
        return {row["key"]: row["count"] for row in response.json()["rows"]}

    assert counted(w.people["bd.analyst"], "Maritime trafficking") == {"BD": 1, "IN": 1}
    assert counted(w.people["bd.analyst"], "trafficking") == {"BD": 3, "IN": 1}
    # Myanmar may read none of them: a name selects nothing it may not see.
    assert counted(w.people["mm.analyst"], "trafficking") == {}


def test_a_national_number_is_read_in_the_report_s_country(db: Database, tmp_path: Path) -> None:
    w = bimstec_world(db)
    api = api_for(db, tmp_path)
    bd, india = w.people["bd.analyst"], w.people["in.analyst"]
    ours = api.post(
        "/api/v1/reports", json=report_payload(observables=phone("01711-460983")), as_=bd
    )
    assert ours.status_code == 201, ours.text
    assert ours.json()["observables"] == phone(E164)
    # India's report with the same number, written internationally, correlates with it.
    theirs = file(
        api,
        india,
        country="IN",
        distribution={"member_states": ["BD"]},
        observables=phone("+880 1711-460983"),
    )
    seen = api.get(f"/api/v1/reports/{ours.json()['id']}", as_=bd).json()
    assert {(c["report_id"], c["value"]) for c in seen["correlations"]} == {(theirs, E164)}
    # Read in India, the same digits are not a Bangladeshi number.
    refused = api.post(
        "/api/v1/reports", json=report_payload(country="IN", observables=phone(NATIONAL)), as_=bd
    )
    assert problems(refused) == {
        "observables[0].value": (
            f"'{NATIONAL}' is not a valid phone number for India"
            " (not a valid number for its country code)."
        )
    }
    short = api.post("/api/v1/reports", json=report_payload(observables=phone("01711")), as_=bd)
    assert problems(short) == {
        "observables[0].value": "'01711' is not a valid phone number for Bangladesh (too short)."
    }


def test_an_update_reads_a_national_number_in_the_report_s_country(
    db: Database, tmp_path: Path
) -> None:
    w = bimstec_world(db)
    api = api_for(db, tmp_path)
    bd = w.people["bd.analyst"]
    rid = file(api, bd, observables=[])
    url = f"/api/v1/reports/{rid}"
    kept = api.patch(url, json={"observables": phone("01711-460983")}, as_=bd)
    assert kept.status_code == 200, kept.text
    assert kept.json()["observables"] == phone(E164)
    short = api.patch(url, json={"observables": phone("+8801712345678") + phone("01711")}, as_=bd)
    assert problems(short) == {
        "observables[1].value": "'01711' is not a valid phone number for Bangladesh (too short)."
    }
    # A new country in the same update is the one the number is read in.
    moved = api.patch(url, json={"country": "IN", "observables": phone(NATIONAL)}, as_=bd)
    assert "for India" in problems(moved)["observables[0].value"]
    assert api.get(url, as_=bd).json()["observables"] == phone(E164)  # nothing of it stored


def test_an_observable_filter_reads_a_national_number_in_the_searcher_s_state(
    db: Database, tmp_path: Path
) -> None:
    w = bimstec_world(db)
    api = api_for(db, tmp_path)
    bd, police, india = w.people["bd.analyst"], w.people["bd.police"], w.people["in.analyst"]
    rid = file(api, bd, observables=phone(E164), distribution={"member_states": ["BD", "IN"]})
    assert listed(api, bd, observable=NATIONAL) == {rid}
    assert listed(api, police, observable="01711-460983") == {rid}
    # An Indian reader's national digits are an Indian number, not this one...
    assert listed(api, india, observable=NATIONAL) == set()
    # ...but written internationally it is found.
    assert listed(api, india, observable="+880 1711-460983") == {rid}
    counted = api.get(
        "/api/v1/reports/counts", params={"by": "country", "observable": NATIONAL}, as_=bd
    )
    assert counted.json()["rows"] == [{"key": "BD", "count": 1}]
    # A reader who may not see the report finds nothing, in any format.
    assert listed(api, w.people["mm.analyst"], observable=E164) == set()
