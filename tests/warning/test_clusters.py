"""Place rules: located reports clustering near a land border or in one sea area, each
judged against the place's own past, as each reader profile reads it."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select

from rsn.registry.regionpacks import DataFileError
from rsn.reports import service
from rsn.reports.schemas import ReportCreate
from rsn.store import Database
from rsn.warning import alerts, borders, clusters
from rsn.warning.models import Alert
from tests.conftest import Clock
from tests.factories import World, bimstec_world, report_payload, stamp

ROOT = Path(__file__).parents[2]
GREEN: dict[str, Any] = {"tlp": "green", "distribution": {}}
STRICT: dict[str, Any] = {"tlp": "amber+strict", "distribution": {}}
BENAPOLE = (23.04, 88.90)  # the Bangladesh-India crossing, a few km from the border
DHAKA = (23.81, 90.41)  # 100 km and more from any border
ANDAMAN = (12.5, 96.5)  # open water of the Andaman Sea


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


def filed(
    world: World,
    author: str,
    clock: Clock,
    n: int,
    *,
    at: tuple[float, float] | None = None,
    sea: str | None = None,
    days_ago: float = 1,
    **marking: Any,
) -> list[str]:
    ids = []
    with world.db.session(write=True) as s:
        for i in range(n):
            body = report_payload(
                occurred_at=stamp(clock.now - timedelta(days=days_ago, minutes=i)),
                category="organized-crime.drug-trafficking",
                location={"lat": at[0], "lon": at[1]} if at else None,
                sea_area=sea,
                observables=[],
                **(marking or GREEN),
            )
            data = ReportCreate.model_validate(body)
            ids.append(service.create(s, principal=world.people[author].principal, data=data))
    return ids


def run(world: World, clock: Clock, report_ids: list[str] | None = None) -> list[SimpleNamespace]:
    """The alerts raised or updated, as they stood when the run committed."""
    with world.db.session(write=True) as s:
        return [
            SimpleNamespace(
                id=a.id,
                rule=a.rule,
                series=a.series,
                severity=a.severity,
                country_codes=a.country_codes,
                detail=dict(a.detail),
            )
            for a in clusters.detect(s, now=clock.now, report_ids=report_ids)
        ]


def seen_by(world: World, name: str) -> list[Alert]:
    with world.db.session() as s:
        return alerts.listing(s, world.people[name].principal, alerts.Filters())[0]


def test_the_borders_near_a_point() -> None:
    shipped = borders.for_pack("bimstec")
    assert shipped.near(*BENAPOLE, 25) == [("BD", "IN")]
    assert shipped.near(*DHAKA, 25) == []
    assert shipped.near(21.2, 92.2, 25) == [("BD", "MM")]  # Teknaf, on the Naf river
    assert shipped.near(*BENAPOLE, 1) == []  # the crossing is a few km inside
    assert ("CN", "IN") in {(b.a, b.b) for b in shipped.borders}  # borders with outsiders too


def test_the_shipped_borders_are_what_the_tool_builds_from_the_atlas() -> None:
    done = subprocess.run(
        [sys.executable, "tools/borders.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (b'{"type": "FeatureCollection", "features": {}}', "features"),
        (
            b'{"features": [{"properties": {"a": "BD"}, "geometry": null}]}',
            "features[0].properties",
        ),
        (
            b'{"features": [{"properties": {"a": "BD", "b": "IN"},'
            b' "geometry": {"type": "Polygon", "coordinates": []}}]}',
            "features[0].geometry.type",
        ),
        (
            b'{"features": [{"properties": {"a": "BD", "b": "IN"},'
            b' "geometry": {"type": "LineString", "coordinates": [[88, 23], [181, 23]]}}]}',
            "features[0].geometry.coordinates[0]",
        ),
        (b"[" * 200 + b"]" * 200, "[0]"),  # nested past the bounded reader's depth
    ],
)
def test_a_bad_borders_file_names_its_field(text: bytes, field: str) -> None:
    with pytest.raises(DataFileError) as caught:
        borders.parse(text, source="mine.geojson")
    assert field in caught.value.fields, caught.value


def test_reports_clustering_at_a_border_alert_both_sides(world: World, clock: Clock) -> None:
    ids = filed(world, "bd.analyst", clock, 3, at=BENAPOLE)
    filed(world, "in.analyst", clock, 1, at=DHAKA)  # not at a border
    assert run(world, clock) == []  # three: below five
    ids += filed(world, "in.analyst", clock, 2, at=BENAPOLE, days_ago=2)
    [alert] = run(world, clock)
    assert (alert.rule, alert.country_codes) == (clusters.BORDER_RULE, ["BD", "IN"])
    assert alert.detail["counts"][-1] == 5 and sum(alert.detail["counts"]) == 5
    for name in ("bd.analyst", "in.coast", "mm.analyst"):
        [seen] = seen_by(world, name)
        assert seen.id == alert.id
    assert seen_by(world, "in.watch") == []  # an observer reads no green report
    with world.db.session() as s:
        linked = alerts.report_ids(s, world.people["mm.analyst"].principal, alert.id)
        assert sorted(linked) == sorted(ids)


def test_a_busy_border_is_judged_against_itself(world: World, clock: Clock) -> None:
    for week in range(1, 13):  # four a week for twelve weeks
        filed(world, "bd.analyst", clock, 4, at=BENAPOLE, days_ago=7 * week + 1)
    filed(world, "bd.analyst", clock, 6, at=BENAPOLE)
    assert run(world, clock) == []  # six is not twice the usual four
    filed(world, "in.analyst", clock, 3, at=BENAPOLE)
    [alert] = run(world, clock)
    assert alert.detail["counts"][-1] == 9 and alert.severity == "medium"


def test_a_cluster_only_its_readers_could_see_is_theirs_alone(world: World, clock: Clock) -> None:
    filed(world, "bd.analyst", clock, 5, at=BENAPOLE, **STRICT)
    filed(world, "in.analyst", clock, 2, at=BENAPOLE)  # green: two, for everyone else
    raised = run(world, clock)  # bd-cert's members read seven; its observers, five
    assert sorted(a.detail["counts"][-1] for a in raised) == [5, 7]
    assert {a.id for a in seen_by(world, "bd.analyst")} == {a.id for a in raised}
    for name in ("bd.police", "in.analyst", "mm.analyst", "in.watch"):
        assert seen_by(world, name) == [], name


def test_reports_in_one_sea_by_name_or_by_point(world: World, clock: Clock) -> None:
    filed(world, "mm.analyst", clock, 3, sea="Andaman Sea")
    filed(world, "in.coast", clock, 2, at=ANDAMAN)
    [alert] = run(world, clock)
    assert alert.rule == clusters.SEA_RULE
    assert alert.detail["sea"] == "Andaman Sea"
    assert alert.series == "sea=Andaman Sea"


def test_only_the_places_of_the_reports_in_hand_when_given(world: World, clock: Clock) -> None:
    filed(world, "bd.analyst", clock, 5, at=BENAPOLE)
    elsewhere = filed(world, "mm.analyst", clock, 1, sea="Andaman Sea")
    assert run(world, clock, report_ids=elsewhere) == []
    assert len(run(world, clock)) == 1
    assert len(run(world, clock)) == 1  # again: the same alert
    with world.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 1
