"""Where a value was seen, on both stores: only reports the reader may read leave a mark.

Bangladesh's CERT (bd-cert) reports, India (in-cert) reads what is shared with it,
Myanmar (mm-cert) and an Indian civil-society observer (in.watch) read neither
amber nor red reports they are not named in.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from rsn.errors import ValidationError
from rsn.fusion import sightings
from rsn.reports import service
from rsn.reports.schemas import ReportCreate
from rsn.store import Database
from tests.factories import Person, World, bimstec_world, days_ago, report_payload, stamp

PHONE = "+8801712345678"
NOBODYS = "+8801819000111"


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


def file(world: World, who: str, when: datetime, value: str = PHONE, **fields: Any) -> str:
    kind = fields.pop("kind", "phone-number")
    body = report_payload(
        occurred_at=stamp(when), observables=[{"type": kind, "value": value}], **fields
    )
    with world.db.session(write=True) as s:
        return service.create(
            s, principal=world.people[who].principal, data=ReportCreate.model_validate(body)
        )


def seen(world: World, who: str, value: str = PHONE, **options: Any) -> sightings.Seen:
    with world.db.session() as s:
        return sightings.get(s, principal=world.people[who].principal, value=value, **options)


def trace(found: sightings.Seen) -> tuple[Any, ...]:
    """Everything an answer says besides the value itself."""
    return (
        found.reports,
        found.next_cursor,
        found.total,
        found.first_seen,
        found.last_seen,
        found.states,
        found.organizations,
        found.common,
    )


NOTHING = ([], None, 0, None, None, [], [], False)


def ids(found: sightings.Seen) -> list[str]:
    return [s.report_id for s in found.reports]


def amber(*states: str) -> dict[str, Any]:
    return {"tlp": "amber", "distribution": {"member_states": list(states)}}


def dist(**names: list[str]) -> dict[str, list[str]]:
    return {"member_states": [], "organizations": [], "sharing_groups": [], "users": [], **names}


def test_an_amber_report_for_india_leaves_no_trace_for_myanmar_or_an_observer(
    world: World,
) -> None:
    before = {who: seen(world, who) for who in ("mm.analyst", "in.watch")}
    report = file(world, "bd.analyst", days_ago(3), **amber("IN"))

    india = seen(world, "in.analyst")
    assert ids(india) == [report] and india.total == 1
    assert india.states == [("BD", 1)] and india.organizations == [("bd-cert", "BD", 1)]
    assert india.first_seen == india.last_seen == days_ago(3)
    for who in ("mm.analyst", "in.watch"):
        after = seen(world, who)
        assert after == before[who]  # exactly as before it was filed
        assert trace(after) == trace(seen(world, who, NOBODYS)) == NOTHING


def test_a_red_report_is_seen_by_its_author_and_the_named_users_only(world: World) -> None:
    named = dist(users=["in.analyst"])
    report = file(world, "bd.analyst", days_ago(2), tlp="red", distribution=named)
    for who in ("bd.analyst", "in.analyst"):
        assert ids(seen(world, who)) == [report]
    for who in ("bd.duty", "bd.admin", "bd.police", "in.coast", "mm.analyst", "in.watch"):
        assert trace(seen(world, who)) == NOTHING, who


def test_first_and_last_seen_and_who_reported_it_count_visible_reports_only(
    world: World,
) -> None:
    strict = {"tlp": "amber+strict", "distribution": dist(organizations=["in-coastguard"])}
    file(world, "bd.analyst", days_ago(20), tlp="green", distribution=dist())
    file(world, "mm.analyst", days_ago(10), country="MM", tlp="green", distribution=dist())
    file(world, "in.analyst", days_ago(2), country="IN", **strict)
    file(world, "in.analyst", days_ago(40), country="IN", **strict)

    bangladesh = seen(world, "bd.analyst")
    assert (bangladesh.first_seen, bangladesh.last_seen) == (days_ago(20), days_ago(10))
    assert bangladesh.total == 2 and bangladesh.cross_border
    assert bangladesh.states == [("BD", 1), ("MM", 1)]
    assert [slug for slug, _, _ in bangladesh.organizations] == ["bd-cert", "mm-cert"]

    india = seen(world, "in.analyst")
    assert (india.first_seen, india.last_seen) == (days_ago(40), days_ago(2))
    assert india.states == [("BD", 1), ("IN", 2), ("MM", 1)] and india.total == 4


def test_pages_walk_every_visible_report_once_newest_first_and_stop(world: World) -> None:
    visible = [file(world, "bd.analyst", days_ago(d), **amber("IN")) for d in (1, 3, 5, 7)]
    # Older reports Bangladesh may not read: a page must not promise more because of them.
    for d in (9, 11):
        file(world, "in.analyst", days_ago(d), country="IN", **amber())

    first = seen(world, "bd.analyst", limit=2)
    assert ids(first) == visible[:2] and first.next_cursor
    second = seen(world, "bd.analyst", limit=2, cursor=first.next_cursor)
    assert ids(second) == visible[2:] and second.next_cursor is None
    assert second.total == first.total == 4

    every = seen(world, "in.analyst", limit=2)
    walked = ids(every)
    while every.next_cursor:
        every = seen(world, "in.analyst", limit=2, cursor=every.next_cursor)
        walked += ids(every)
    assert len(walked) == len(set(walked)) == 6


def test_reports_on_the_same_day_page_by_id(world: World) -> None:
    same = sorted((file(world, "bd.analyst", days_ago(4)) for _ in range(3)), reverse=True)
    first = seen(world, "in.analyst", limit=2)
    rest = seen(world, "in.analyst", limit=2, cursor=first.next_cursor)
    assert ids(first) + ids(rest) == same


def test_a_national_phone_number_is_read_in_the_viewers_state(world: World) -> None:
    report = file(world, "bd.analyst", days_ago(1), "+8801711460983", **amber("IN"))
    mine = seen(world, "bd.analyst", "01711-460983")
    assert (mine.reading.type, mine.reading.value) == ("phone-number", "+8801711460983")
    assert ids(mine) == [report]
    # India may read the report, but in India those digits are not this number.
    theirs = seen(world, "in.analyst", "01711-460983")
    assert theirs.reading.value != "+8801711460983" and ids(theirs) == []
    assert ids(seen(world, "in.analyst", "+880 1711-460983")) == [report]


def test_a_value_of_two_types_is_read_as_the_likelier_and_the_other_can_be_picked(
    world: World,
) -> None:
    vessel = file(world, "bd.analyst", days_ago(1), "IMO3035824", kind="vessel-imo")
    phone = file(world, "bd.analyst", days_ago(2), "+8803035824")
    guessed = seen(world, "bd.analyst", "3035824")
    assert guessed.reading.type == "vessel-imo" and "phone-number" in guessed.reading.others
    assert ids(guessed) == [vessel]
    assert ids(seen(world, "bd.analyst", "3035824", type_="phone-number")) == [phone]


def test_revoked_reports_no_longer_count(world: World) -> None:
    kept = file(world, "bd.analyst", days_ago(1))
    gone = file(world, "bd.analyst", days_ago(30))
    with world.db.session(write=True) as s:
        bd: Person = world.people["bd.analyst"]
        service.revoke(s, principal=bd.principal, report_id=gone, reason="wrong number")
    found = seen(world, "in.analyst")
    assert ids(found) == [kept] and found.first_seen == days_ago(1)


def test_a_value_is_common_when_more_visible_reports_than_the_threshold_carry_it(
    world: World,
) -> None:
    for d in (1, 2):
        file(world, "bd.analyst", days_ago(d), **amber("IN"))
    file(world, "bd.analyst", days_ago(3), **amber("MM"))
    assert seen(world, "bd.analyst", threshold=2).common
    # India reads two of the three: hidden reports do not make a value common.
    assert not seen(world, "in.analyst", threshold=2).common
    assert seen(world, "in.analyst", threshold=1).common


@pytest.mark.parametrize(
    ("options", "field", "words"),
    [
        ({"value": ""}, "value", "is empty"),
        ({"value": "x" * 3000}, "value", "3000 characters long"),
        ({"value": "evil\x00.example"}, "value", "control character"),
        ({"value": "!!"}, "value", "not a value of any observable type"),
        ({"type_": "ipv4-addr", "value": "evil.example"}, "value", "not a valid IPv4"),
        ({"type_": "colour"}, "type", "'colour' is not one of"),
        ({"cursor": "not-a-cursor"}, "cursor", "not a cursor this node issued"),
        ({"limit": 0}, "limit", "between 1 and 500"),
    ],
)
def test_bad_input_names_the_field(
    world: World, options: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        seen(world, "bd.analyst", **{"value": PHONE, **options})
    [problem] = caught.value.problems
    assert problem.field == field and words in problem.message
