""" "Who will see this" says when filing waits for release, exactly when filing is held.

Bangladesh's CERT requires release. For each marking the form's panel and the
API's `needs_release` are asked first, then the same form is filed and the
report's status read back: pending where they warned, published where they did not.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from rsn.registry import service as registry
from rsn.reports.models import Report
from rsn.store import Database
from tests.factories import Api, Person, World, api_for, bimstec_world
from tests.web.test_reports_pages import PASSWORD, cheap_argon2, valid_form
from tests.web.webclient import WebClient

__all__ = ["cheap_argon2"]  # the autouse fixture, shared with the report page tests
NOTE = "Your organization requires release"
WAITS = (
    f"{NOTE}: once filed, this waits for one of its liaison or duty officers "
    "before anyone outside BD-CERT reads it."
)
DISTRIBUTION = ("member_states", "organizations", "sharing_groups", "users")

# marking as the form sends it, and whether bd-cert's analyst filing it waits for release
MARKINGS: dict[str, tuple[dict[str, Any], bool]] = {
    "clear": ({"tlp": "clear"}, True),
    "green": ({"tlp": "green"}, True),
    "amber to India": ({"tlp": "amber", "member_states": ["IN"]}, True),
    "amber to a compatriot agency": ({"tlp": "amber", "organizations": ["bd-police"]}, True),
    "amber to its own organization": ({"tlp": "amber", "organizations": ["bd-cert"]}, False),
    "amber to no one else": ({"tlp": "amber"}, False),
    "amber+strict to in-cert": ({"tlp": "amber+strict", "organizations": ["in-cert"]}, True),
    "amber+strict to no one else": ({"tlp": "amber+strict"}, False),
    "red to a colleague": ({"tlp": "red", "users": ["bd.analyst"]}, False),
    "red to an Indian analyst": ({"tlp": "red", "users": ["in.analyst"]}, True),
}


@pytest.fixture
def world(db: Database) -> World:
    w = bimstec_world(db)
    w.person("bd.web", "bd-cert", password=PASSWORD)
    w.person("bd.boss", "bd-cert", role="duty-officer", password=PASSWORD)
    return w


@pytest.fixture
def api(db: Database, tmp_path: Any, world: World) -> Api:
    return api_for(db, tmp_path)


def require_release(world: World, required: bool = True) -> None:
    with world.db.session(write=True) as s:
        org = registry.get_organization(s, slug="bd-cert")
        registry.set_release_required(s, organization=org, required=required)


def signed_in(api: Api, username: str) -> WebClient:
    web = WebClient(api.app)
    web.sign_in(username, PASSWORD)
    web.get("/reports/new")
    return web


def form_with(marking: dict[str, Any]) -> dict[str, Any]:
    form = {k: v for k, v in valid_form().items() if k not in DISTRIBUTION}
    return {**form, **marking}


def text(answer: Any) -> str:
    """A page or fragment's text with tags dropped and white space folded, as it reads aloud."""
    assert answer.status_code == 200, answer.text
    blocks = re.sub(r"</?(p|ul|li)\b[^>]*>", " ", answer.text)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", blocks)).split())


def api_says(api: Api, person: Person, marking: dict[str, Any]) -> bool:
    body = {
        "tlp": marking["tlp"],
        "distribution": {k: marking.get(k, []) for k in DISTRIBUTION},
    }
    answer = api.post("/api/v1/sharing/audience", as_=person, json=body)
    assert answer.status_code == 200, answer.text
    return bool(answer.json()["needs_release"])


def file(web: WebClient, marking: dict[str, Any], **extra: str) -> str:
    """File the form with this marking; the new report's id."""
    answer = web.post("/reports/new", {**form_with(marking), **extra})
    assert answer.status_code == 303, answer.text
    found = re.fullmatch(r"/reports/([0-9a-f-]{36})\?notice=\w+", answer.headers["location"])
    assert found, answer.headers["location"]
    return found.group(1)


def filed_status(web: WebClient, db: Database, marking: dict[str, Any]) -> str:
    """File the form with this marking; the status the report was stored with."""
    with db.session() as s:
        report = s.get(Report, file(web, marking))
        assert report is not None
        return report.status


def test_the_panel_and_the_api_warn_exactly_when_filing_is_held(
    api: Api, world: World, db: Database
) -> None:
    require_release(world)
    web = signed_in(api, "bd.web")
    for name, (marking, held) in MARKINGS.items():
        panel = text(web.post("/reports/_audience", marking))
        assert (WAITS in panel) is held, name
        assert panel.count(NOTE) == int(held), name
        assert api_says(api, world.people["bd.web"], marking) is held, name
        assert filed_status(web, db, marking) == ("pending" if held else "published"), name


def test_no_warning_for_a_releaser_or_when_release_is_off(
    api: Api, world: World, db: Database
) -> None:
    wide = [m for m, held in MARKINGS.values() if held]
    require_release(world)
    boss = signed_in(api, "bd.boss")  # a duty officer: their own filing is released by filing
    for marking in wide:
        assert NOTE not in text(boss.post("/reports/_audience", marking)), marking
        assert not api_says(api, world.people["bd.boss"], marking)
        assert filed_status(boss, db, marking) == "published"
    require_release(world, required=False)
    web = signed_in(api, "bd.web")
    for marking in wide:
        assert NOTE not in text(web.post("/reports/_audience", marking)), marking
        assert not api_says(api, world.people["bd.web"], marking)
        assert filed_status(web, db, marking) == "published"


def test_the_edit_panel_warns_when_saving_would_hold_the_change(
    api: Api, world: World, db: Database
) -> None:
    web = signed_in(api, "bd.web")
    india = MARKINGS["amber to India"][0]
    published = file(web, india)  # published: release is not required yet
    require_release(world)
    web.get(f"/reports/{published}/edit")
    url = f"/reports/{published}/_audience"
    widened = text(web.post(url, {"tlp": "green"}))
    assert f"{NOTE}: once saved, this version waits for one of its liaison" in widened
    for same_or_narrower in (india, {"tlp": "amber"}):
        assert NOTE not in text(web.post(url, same_or_narrower)), same_or_narrower
    saved = web.post(f"/reports/{published}/edit", {**form_with({"tlp": "green"}), "version": "1"})
    assert saved.headers["location"].endswith("?notice=held"), saved.text

    draft = file(web, india, draft="1")
    edit_page = text(web.get(f"/reports/{draft}/edit"))
    assert f"{NOTE}: once submitted, this waits" in edit_page
    assert NOTE not in text(web.post(f"/reports/{draft}/_audience", {"tlp": "amber"}))
