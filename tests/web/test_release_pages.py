"""Drafts and release in the browser: save as draft, the banner, the queue, the setting.

A draft must leave no trace on anyone else's pages: the report page, the list,
the dashboard, the map and the public page.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from rsn.audit import AuditRecord
from rsn.registry import service as registry
from rsn.reports.models import Report
from rsn.store import Database
from tests.factories import Api, World, api_for, bimstec_world
from tests.web.test_reports_pages import browser, cheap_argon2, valid_form
from tests.web.webclient import WebClient

__all__ = ["cheap_argon2"]  # the autouse fixture, shared with the report page tests
TITLE = "Recruiters using a Bangladeshi number"


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


@pytest.fixture
def api(db: Database, tmp_path: Any, world: World) -> Api:
    return api_for(db, tmp_path)


def require_release(world: World) -> None:
    with world.db.session(write=True) as s:
        org = registry.get_organization(s, slug="bd-cert")
        registry.set_release_required(s, organization=org, required=True)


def report_id(answer: Any) -> str:
    assert answer.status_code == 303, answer.text
    found = re.fullmatch(r"/reports/([0-9a-f-]{36})(?:\?notice=\w+)?", answer.headers["location"])
    assert found, answer.headers["location"]
    return found.group(1)


def no_trace(web: WebClient, rid: str) -> None:
    assert web.get(f"/reports/{rid}").status_code == 404
    for url in ("/reports", "/dashboard", "/map", "/public", "/releases"):
        page = web.get(url)
        assert rid not in page.text and TITLE not in page.text, url


def test_save_as_draft_then_submit_and_release(api: Api, world: World, db: Database) -> None:
    require_release(world)
    author = browser(api, world, "bd.writer", "bd-cert")
    duty = browser(api, world, "bd.releaser", "bd-cert", role="duty-officer")
    others = [
        browser(api, world, "bd.colleague", "bd-cert", role="policymaker"),
        browser(api, world, "in.reader", "in-cert"),
    ]
    author.get("/reports/new")
    assert 'name="draft" value="1"' in author.get("/reports/new").text
    rid = report_id(author.post("/reports/new", {**valid_form(), "draft": "1"}))
    page = author.get(f"/reports/{rid}")
    assert "Draft" in page.text and "Submit for release" in page.text
    assert "Releases" not in page.text  # an analyst has no queue
    for web in [*others, duty]:
        if web is not duty:
            no_trace(web, rid)
    assert rid not in duty.get("/releases").text  # a draft is not submitted yet

    assert author.post(f"/reports/{rid}/submit").status_code == 303
    assert "Pending release" in author.get(f"/reports/{rid}").text
    queue = duty.get("/releases")
    assert 'href="/releases"' in queue.text and rid in queue.text
    page = duty.get(f"/reports/{rid}")
    assert "Pending release" in page.text and "Refuse" in page.text
    for web in others:
        no_trace(web, rid)

    assert duty.post(f"/reports/{rid}/release").status_code == 303
    assert others[1].get(f"/reports/{rid}").status_code == 200
    assert "Pending release" not in others[1].get(f"/reports/{rid}").text


def test_the_page_after_saving_says_whether_it_waits_for_release(api: Api, world: World) -> None:
    author = browser(api, world, "bd.writer", "bd-cert")
    author.get("/reports/new")
    filed = author.post("/reports/new", valid_form())
    assert filed.headers["location"].endswith("?notice=filed")  # no release required yet
    require_release(world)
    pending = author.post("/reports/new", valid_form())
    assert pending.headers["location"].endswith("?notice=pending")
    assert (
        "waits for one of its liaison or duty officers"
        in author.get(pending.headers["location"]).text
    )
    draft = author.post("/reports/new", {**valid_form(), "draft": "1"})
    assert draft.headers["location"].endswith("?notice=drafted")
    rid = report_id(filed)
    form = {**valid_form(), "version": "1", "tlp": "green"}  # widening: held for release
    for key in ("member_states", "organizations", "sharing_groups", "users"):
        form.pop(key, None)
    author.get(f"/reports/{rid}/edit")
    held = author.post(f"/reports/{rid}/edit", form)
    assert held.status_code == 303 and held.headers["location"].endswith("?notice=held"), held.text
    assert "keeps reading the published version" in author.get(held.headers["location"]).text


def test_refusal_needs_a_reason_and_is_audited(api: Api, world: World, db: Database) -> None:
    require_release(world)
    author = browser(api, world, "bd.writer", "bd-cert")
    liaison = browser(api, world, "bd.liaison", "bd-cert", role="liaison")
    author.get("/reports/new")
    rid = report_id(author.post("/reports/new", valid_form()))
    liaison.get(f"/reports/{rid}")
    empty = liaison.post(f"/reports/{rid}/refuse", {"reason": ""})
    assert empty.status_code == 422 and "reason" in empty.text
    assert liaison.post(f"/reports/{rid}/refuse", {"reason": "Too early."}).status_code == 303
    page = author.get(f"/reports/{rid}")
    assert "Draft" in page.text and "Too early." in page.text
    with db.session() as s:
        report = s.get(Report, rid)
        assert report is not None and report.status == "draft"
        refusals = s.scalars(select(AuditRecord).where(AuditRecord.action == "report.refuse"))
        assert [(r.actor, r.item_ids) for r in refusals] == [("bd.liaison", [rid])]


def test_the_setting_is_for_admins_and_the_own_duty_officer(
    api: Api, world: World, db: Database
) -> None:
    admin = browser(api, world, "node.admin", "bd-cert", role="node-admin")
    duty = browser(api, world, "bd.releaser", "bd-cert", role="duty-officer")
    analyst = browser(api, world, "bd.writer", "bd-cert")
    other_duty = browser(api, world, "in.releaser", "in-cert", role="duty-officer")

    def required() -> bool:
        with db.session() as s:
            return registry.get_organization(s, slug="bd-cert").release_required

    own = duty.get("/admin/organizations")
    assert own.status_code == 200 and "bd-cert" in own.text and "in-cert" not in own.text
    assert "Add an organization" not in own.text
    saved = duty.post("/admin/organizations/bd-cert/release", {"release_required": "on"})
    assert saved.status_code == 303 and required()

    assert analyst.get("/admin/organizations").status_code == 403
    other_duty.get("/admin/organizations")
    refused = other_duty.post("/admin/organizations/bd-cert/release", {})
    assert refused.status_code == 403 and required()
    analyst.get("/reports")
    assert analyst.post("/admin/organizations/bd-cert/release", {}).status_code == 403

    page = admin.get("/admin/organizations")
    with db.session() as s:
        every = len(registry.get_organizations(s))
    assert page.text.count('name="release_required"') == every
    assert admin.post("/admin/organizations/bd-cert/release", {}).status_code == 303
    assert not required()
