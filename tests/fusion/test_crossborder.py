"""Cross-border links of an organization's reports, on SQLite and PostgreSQL.

Every link is found through the reader's keys: a report the reader may not see is
never an end of one, and a match within the reader's own state is not cross-border.
"""

from __future__ import annotations

from typing import Any

import pytest

from rsn.fusion import crossborder
from rsn.reports import service
from rsn.reports.schemas import ReportCreate
from rsn.store import Database
from tests.factories import Person, World, bimstec_world, report_payload

PHONE = "+8801712345678"
DOMAIN = "login-bimstec-gov.example"


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


def dist(**names: list[str]) -> dict[str, list[str]]:
    return {"member_states": [], "organizations": [], "sharing_groups": [], "users": [], **names}


def file(w: World, who: Person, *, observables: list[tuple[str, str]], **fields: Any) -> str:
    if fields.get("tlp", "amber") != "amber":
        fields.setdefault("distribution", dist())
    body = report_payload(observables=[{"type": t, "value": v} for t, v in observables], **fields)
    with w.db.session(write=True) as s:
        return service.create(s, principal=who.principal, data=ReportCreate.model_validate(body))


def links(w: World, who: Person, **kwargs: Any) -> list[tuple[str, str]]:
    with w.db.session() as s:
        found = crossborder.for_organization(s, principal=who.principal, **kwargs)
    return [(link.own.report_id, link.other.report_id) for link in found]


def test_a_neighbours_match_shows_on_the_organizations_list(world: World) -> None:
    w = world
    bd, india = w.people["bd.analyst"], w.people["in.analyst"]
    ours = file(w, bd, observables=[("phone-number", PHONE)], title="Ours")
    theirs = file(
        w,
        india,
        observables=[("phone-number", PHONE), ("domain-name", DOMAIN)],
        country="IN",
        distribution=dist(member_states=["BD"]),
    )
    # Any analyst of bd-cert sees it, not only the one who filed.
    assert links(w, bd) == [(ours, theirs)]
    assert links(w, w.people["bd.duty"]) == [(ours, theirs)]
    with w.db.session() as s:
        [link] = crossborder.for_organization(s, principal=bd.principal)
    assert link.shared == (("phone-number", PHONE),)
    assert link.other.member_state == "IN" and link.own.title == "Ours"
    # India's CERT sees the same link from its side: Bangladesh shared with India.
    assert links(w, india) == [(theirs, ours)]
    # Myanmar was told about neither.
    assert links(w, w.people["mm.analyst"]) == []


def test_reports_the_reader_may_not_see_never_appear(world: World) -> None:
    w = world
    bd = w.people["bd.analyst"]
    file(w, bd, observables=[("phone-number", PHONE)])
    # Myanmar's red report names no one from Bangladesh; its amber one goes to India only.
    file(
        w,
        w.people["mm.analyst"],
        observables=[("phone-number", PHONE)],
        tlp="red",
    )
    file(
        w,
        w.people["mm.analyst"],
        observables=[("phone-number", PHONE)],
        distribution=dist(member_states=["IN"]),
    )
    assert links(w, bd) == []
    # A colleague's red report is hidden from the rest of the organization, as an own end too.
    file(w, w.people["bd.duty"], observables=[("domain-name", DOMAIN)], tlp="red")
    green = file(w, w.people["in.analyst"], observables=[("domain-name", DOMAIN)], tlp="green")
    assert links(w, bd) == []
    assert [other for _, other in links(w, w.people["bd.duty"])] == [green]


def test_matches_within_the_same_state_are_not_cross_border(world: World) -> None:
    w = world
    bd = w.people["bd.analyst"]
    ours = file(w, bd, observables=[("phone-number", PHONE)])
    file(w, w.people["bd.police"], observables=[("phone-number", PHONE)], tlp="green")
    assert links(w, bd) == []
    myanmar = file(w, w.people["mm.analyst"], observables=[("phone-number", PHONE)], tlp="green")
    assert links(w, bd) == [(ours, myanmar)]


def test_newest_first_bounded_and_common_values_link_nothing(world: World) -> None:
    w = world
    bd = w.people["bd.analyst"]
    ours = file(w, bd, observables=[("phone-number", PHONE), ("domain-name", DOMAIN)])
    first = file(w, w.people["in.analyst"], observables=[("phone-number", PHONE)], tlp="green")
    second = file(w, w.people["mm.analyst"], observables=[("domain-name", DOMAIN)], tlp="green")
    assert links(w, bd) == [(ours, second), (ours, first)]
    assert links(w, bd, limit=1) == [(ours, second)]
    # With a threshold of 2, a value three visible reports hold is common.
    file(w, w.people["in.coast"], observables=[("domain-name", DOMAIN)], tlp="green")
    assert links(w, bd, threshold=2) == [(ours, first)]


def test_a_colleagues_hidden_reports_do_not_push_a_readers_links_out(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = world
    bd, duty = w.people["bd.analyst"], w.people["bd.duty"]
    monkeypatch.setattr(crossborder, "MAX_OWN_REPORTS", 3)
    ours = file(w, bd, observables=[("phone-number", PHONE)])
    india = file(w, w.people["in.analyst"], observables=[("phone-number", PHONE)], tlp="green")
    # A colleague files more red reports, newer than ours, than the bound holds.
    hidden = [
        file(w, duty, observables=[("domain-name", f"{n}.{DOMAIN}")], tlp="red") for n in range(5)
    ]
    myanmar = file(
        w,
        w.people["mm.analyst"],
        observables=[("domain-name", f"4.{DOMAIN}")],
        tlp="green",
    )
    assert links(w, bd) == [(ours, india)]
    # The colleague who filed them still sees their own newest links.
    assert links(w, duty) == [(hidden[4], myanmar)]
