""" "Who will see this" on the report form: the grouped answer, as a person reads it."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from argon2 import PasswordHasher

from rsn.registry import service as registry
from rsn.store import Database
from tests.factories import api_for, bimstec_world
from tests.web.webclient import WebClient

PASSWORD = "correct horse battery staple"


@pytest.fixture
def web(db: Database, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> WebClient:
    """bd.web, a new analyst of bd-cert, signed in on the BIMSTEC world."""
    monkeypatch.setattr(registry, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
    world = bimstec_world(db)
    world.person("bd.web", "bd-cert", password=PASSWORD)
    client = WebClient(api_for(db, tmp_path).app)
    client.sign_in("bd.web", PASSWORD)
    client.get("/reports/new")
    return client


def panel(web: WebClient, form: dict[str, Any]) -> str:
    """The panel's text with tags dropped and white space folded, as it reads aloud."""
    answer = web.post("/reports/_audience", form)
    assert answer.status_code == 200 and "<html" not in answer.text
    blocks = re.sub(r"</?(p|ul|li)\b[^>]*>", " ", answer.text)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", blocks)).split())


def test_amber_to_india_names_organizations_by_state_not_bangladesh(web: WebClient) -> None:
    text = panel(web, {"tlp": "amber", "member_states": ["IN"]})
    assert "7 people in 3 organizations will be able to read this report" in text
    assert (
        "Bangladesh (BD): only the organizations below, not the whole state "
        "BD-CERT (bd-cert): whole organization, because it is your own organization; 5 people "
        "India (IN): every government agency "
        "IN-CERT (in-cert): whole organization, because it is a government agency of IN; 1 person "
        "IN-COASTGUARD (in-coastguard): whole organization, because it is a government agency of IN"
    ) in text
    assert "bd-police" not in text and "in-watch" not in text and "mm-cert" not in text


def test_green_clear_and_red_say_who_without_a_list_or_by_name(web: WebClient) -> None:
    green = panel(web, {"tlp": "green"})
    assert "Every member of this node (5 organizations, 9 people; observers excepted)" in green
    assert "in-cert" not in green  # everyone, so no list
    clear = panel(web, {"tlp": "clear"})
    assert "Anyone, including the public" in clear and "(6 organizations, 10 people)" in clear
    red = panel(web, {"tlp": "red", "users": ["mm.analyst"]})
    assert "Only 2 people, by name; no one else in their organizations" in red
    assert "Bd.Web (bd.web, BD-CERT): you" in red and "Mm.Analyst (mm.analyst, MM-CERT)" in red
    assert "Bd.Analyst" not in red


def test_observer_gets_the_same_refusal_for_known_and_unknown_names(
    db: Database, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The panel would otherwise be a user directory for a role that may not read one."""
    monkeypatch.setattr(registry, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
    world = bimstec_world(db)
    world.person("in.looker", "in-watch", role="observer", password=PASSWORD)
    client = WebClient(api_for(db, tmp_path).app)
    client.sign_in("in.looker", PASSWORD)
    client.get("/reports")
    answers = [
        client.post("/reports/_audience", {"tlp": "red", "users": [name]})
        for name in ("mm.analyst", "no.such.person")
    ]
    assert [a.status_code for a in answers] == [403, 403]
    assert answers[0].text == answers[1].text and "MM-CERT" not in answers[0].text
