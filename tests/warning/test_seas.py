"""Sea areas: the shipped shapes against the pack and the coastlines, the bounded reader,
and the maritime threat level at each grade and boundary.

The coastlines are the country shapes the node ships for its map (world-atlas, TopoJSON),
decoded here with tools/borders.py's reading of the arcs (each border kept once, as
quantized, delta-encoded positions) and polygons as lists of arc indexes (~i for arc i
reversed).
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Point, Polygon, box

from rsn.registry.regionpacks import DataFileError
from rsn.registry.regionpacks import load as load_pack
from rsn.warning import seas
from rsn.warning.seas import LEVELS, SEVERITIES, Grade, Incidents, Thresholds, grade
from tools import borders as borders_tool

SHAPES = resources.files("rsn.registry") / "data" / "regions" / "seas" / "bimstec.geojson"
ATLAS = Path(__file__).parents[2] / "rsn/web/static/vendor/world-atlas-2.0.2-countries-50m.json"
REGION = box(40, -5, 110, 35)  # lon/lat around the BIMSTEC seas
T = Thresholds()


# --- The shipped BIMSTEC shapes -----------------------------------------------------------


def shipped() -> dict[str, Any]:
    result: dict[str, Any] = json.loads(SHAPES.read_text(encoding="utf-8"))
    return result


def polygons() -> dict[str, Polygon]:
    return {
        f["properties"]["name"]: Polygon(f["geometry"]["coordinates"][0])
        for f in shipped()["features"]
    }


def decode_topojson(path: Path) -> list[Polygon | MultiPolygon]:
    """Every country of a world-atlas file as shapely geometry."""
    topology = json.loads(path.read_text(encoding="utf-8"))
    arcs = borders_tool.arcs(topology)  # the decoding tools/borders.py writes the borders with

    def ring(indexes: list[int]) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        for i in indexes:
            points = arcs[i] if i >= 0 else arcs[~i][::-1]
            out.extend(points[1:] if out else points)  # arcs share their end points
        return out

    def polygon(rings: list[list[int]]) -> Polygon:
        return Polygon(ring(rings[0]), [ring(r) for r in rings[1:]])

    shapes: list[Polygon | MultiPolygon] = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        if geometry["type"] == "Polygon":
            shapes.append(polygon(geometry["arcs"]))
        elif geometry["type"] == "MultiPolygon":
            shapes.append(MultiPolygon([polygon(p) for p in geometry["arcs"]]))
    return shapes


@pytest.fixture(scope="module")
def land() -> list[Any]:
    """The countries near the region, made valid, clipped to it."""
    near = [c for c in decode_topojson(ATLAS) if c.intersects(REGION)]
    return [shapely.make_valid(c).intersection(REGION) for c in near]


def test_the_atlas_decodes_to_countries_where_they_are(land: list[Any]) -> None:
    on_land = [
        Point(77.21, 28.61),
        Point(80.7, 7.8),
        Point(96.1, 19.7),
    ]  # Delhi, Sri Lanka, Myanmar
    at_sea = [Point(88.0, 15.0), Point(65.0, 15.0)]
    assert all(any(c.covers(p) for c in land) for p in on_land)
    assert not any(c.covers(p) for c in land for p in at_sea)


def test_every_sea_area_of_the_pack_has_one_shape_named_as_the_pack_names_it() -> None:
    names = [f["properties"]["name"] for f in shipped()["features"]]
    assert sorted(names) == sorted(load_pack("bimstec").sea_areas)
    assert seas.shapes_for("bimstec").names == tuple(names)


def test_every_shape_is_a_simple_valid_counter_clockwise_polygon_marked_approximate() -> None:
    for feature in shipped()["features"]:
        name, geometry = feature["properties"]["name"], feature["geometry"]
        assert geometry["type"] == "Polygon" and len(geometry["coordinates"]) == 1, name
        polygon = Polygon(geometry["coordinates"][0])
        assert polygon.is_valid, name
        assert polygon.exterior.is_ccw, name
        assert len(polygon.exterior.coords) <= 60, name  # tens of vertices, not a coastline
        assert feature["properties"]["approximate"] is True, name
        assert feature["properties"]["source"].strip(), name


def test_areas_touch_but_overlap_at_most_a_sliver() -> None:
    shapes = polygons()
    touching = 0
    for a, pa in shapes.items():
        for b, pb in shapes.items():
            if a < b and pa.intersects(pb):
                touching += 1
                assert pa.intersection(pb).area < 1e-3 * min(pa.area, pb.area), (a, b)
    assert touching >= 6  # neighbours share their limits rather than leaving gaps


@pytest.mark.parametrize(
    ("where", "lat", "lon", "sea"),
    [
        ("south of Kolkata's coast", 20.5, 88.3, "Bay of Bengal"),
        ("off Chennai", 13.0, 80.6, "Bay of Bengal"),
        ("off Chittagong", 21.8, 91.6, "Bay of Bengal"),
        ("off Phuket", 7.9, 97.9, "Andaman Sea"),
        ("Gulf of Martaban", 16.0, 97.0, "Andaman Sea"),
        ("between Jaffna and Point Calimere", 9.97, 79.94, "Palk Strait"),
        ("off Tuticorin", 8.7, 78.4, "Gulf of Mannar"),
        ("off Kochi", 9.9, 75.9, "Laccadive Sea"),
        ("off Colombo", 6.9, 79.6, "Laccadive Sea"),
        ("off Mumbai", 18.9, 72.5, "Arabian Sea"),
        ("off Karachi", 24.6, 66.8, "Arabian Sea"),
        ("off Port Klang", 3.0, 101.0, "Strait of Malacca"),
    ],
)
def test_known_points_fall_in_their_sea(where: str, lat: float, lon: float, sea: str) -> None:
    shapes = seas.shapes_for("bimstec")
    assert shapes.area_at(lat, lon, reach_km=0) == sea, where
    assert shapes.area_at(lat, lon) == sea, where


@pytest.mark.parametrize(
    ("where", "lat", "lon"),
    [
        ("New Delhi", 28.61, 77.21),
        ("Kathmandu", 27.72, 85.32),
        ("Thimphu", 27.47, 89.64),
        ("open ocean south of the Bay of Bengal's limit", 3.0, 85.0),
        ("Gulf of Oman, north of the Arabian Sea's limit", 24.5, 58.5),
        ("Singapore Strait, east of the Malacca Strait's limit", 1.2, 103.9),
    ],
)
def test_points_outside_every_sea_are_in_none(where: str, lat: float, lon: float) -> None:
    assert seas.shapes_for("bimstec").area_at(lat, lon) is None, where


def test_each_shape_is_water_where_it_is_most_inside(land: list[Any]) -> None:
    for name, polygon in polygons().items():
        point = polygon.representative_point()
        assert not any(country.covers(point) for country in land), name


def test_each_shape_is_almost_all_water(land: list[Any]) -> None:
    for name, polygon in polygons().items():
        on_land = sum(polygon.intersection(country).area for country in land)
        assert on_land < 0.1 * polygon.area, name


def test_a_pack_without_a_shapes_file_has_no_shapes_and_an_unknown_pack_is_refused() -> None:
    assert "Bay of Bengal" in load_pack("saarc").sea_areas
    assert seas.shapes_for("saarc").names == ()
    assert seas.shapes_for("saarc").area_at(15.0, 88.0) is None
    with pytest.raises(LookupError, match="atlantis"):
        seas.shapes_for("atlantis")


def test_a_regions_own_file_reads_like_a_shipped_one(tmp_path: Path) -> None:
    path = tmp_path / "seas.geojson"
    path.write_text(SHAPES.read_text(encoding="utf-8"), encoding="utf-8")
    shapes = seas.load_file(path, pack=load_pack("bimstec"))
    assert shapes.names == seas.shapes_for("bimstec").names


@pytest.mark.parametrize(("lat", "lon", "field"), [(91.0, 0.0, "lat"), (0.0, math.nan, "lon")])
def test_a_point_off_the_globe_is_refused_by_name(lat: float, lon: float, field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}:"):
        seas.shapes_for("bimstec").area_at(lat, lon)


# --- Reach: coastal points ----------------------------------------------------------------


def square(name: str, x: float, y: float, size: float = 1.0) -> dict[str, Any]:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return {
        "type": "Feature",
        "properties": {"name": name, "source": "a test", "approximate": True},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def read(value: Any) -> seas.SeaShapes:
    data = value if isinstance(value, bytes) else json.dumps(value).encode()
    return seas.parse(data, pack=load_pack("bimstec"), source="test.geojson")


def test_a_point_just_outside_a_sea_counts_in_it_within_reach() -> None:
    shapes = read(collection(square("Palk Strait", 80.0, 10.0)))
    km = 1 / 111.2  # degrees of latitude in a kilometre
    just_north = (11.0 + 5 * km, 80.5)
    assert shapes.area_at(*just_north, reach_km=0) is None
    assert shapes.area_at(*just_north, reach_km=10) == "Palk Strait"
    assert shapes.area_at(11.0 + 20 * km, 80.5, reach_km=10) is None


def test_on_a_shared_border_the_area_listed_first_wins() -> None:
    shapes = read(
        collection(square("Palk Strait", 80.0, 10.0), square("Gulf of Mannar", 81.0, 10.0))
    )
    assert shapes.area_at(10.5, 81.0) == "Palk Strait"
    reversed_order = read(
        collection(square("Gulf of Mannar", 81.0, 10.0), square("Palk Strait", 80.0, 10.0))
    )
    assert reversed_order.area_at(10.5, 81.0) == "Gulf of Mannar"


# --- The reader's bounds and checks -------------------------------------------------------


def one(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    value = collection(square("Palk Strait", 80.0, 10.0), square("Gulf of Mannar", 78.0, 8.0))
    change(value)
    return value


def ring_of(value: dict[str, Any], i: int = 0) -> list[list[Any]]:
    ring: list[list[Any]] = value["features"][i]["geometry"]["coordinates"][0]
    return ring


def many_vertices(value: dict[str, Any]) -> None:
    n = seas.MAX_VERTICES + 1
    circle = [
        [80 + math.cos(2 * math.pi * k / n), 10 + math.sin(2 * math.pi * k / n)] for k in range(n)
    ]
    value["features"][0]["geometry"]["coordinates"] = [[*circle, circle[0]]]


def too_many_features(value: dict[str, Any]) -> None:
    value["features"] = [copy.deepcopy(value["features"][0])] * (seas.MAX_FEATURES + 1)


def bow_tie(value: dict[str, Any]) -> None:
    value["features"][0]["geometry"]["coordinates"] = [
        [[80, 10], [81, 11], [81, 10], [80, 11], [80, 10]]
    ]


def clockwise(value: dict[str, Any]) -> None:
    value["features"][0]["geometry"]["coordinates"] = [ring_of(value)[::-1]]


def overlapping(value: dict[str, Any]) -> None:
    value["features"][1] = square("Gulf of Mannar", 80.5, 10.5)


def set_prop(key: str, new: Any) -> Callable[[dict[str, Any]], None]:
    return lambda value: value["features"][1]["properties"].__setitem__(key, new)


PALK = "features[0] ('Palk Strait')"
GULF = "features[1] ('Gulf of Mannar')"
BAD: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("too many features", too_many_features, "features", "at most"),
    ("too many vertices", many_vertices, f"{PALK}.geometry.coordinates[0]", "positions"),
    (
        "a name not in the pack",
        set_prop("name", "Caspian Sea"),
        "features[1] ('Caspian Sea').properties.name",
        "not a sea area of pack 'bimstec'",
    ),
    ("no source", set_prop("source", " "), f"{GULF}.properties.source", "non-empty"),
    (
        "approximate not said",
        set_prop("approximate", "yes"),
        f"{GULF}.properties.approximate",
        "true or false",
    ),
    ("a self-crossing ring", bow_tie, f"{PALK}.geometry", "not a valid polygon"),
    ("a clockwise ring", clockwise, f"{PALK}.geometry.coordinates[0]", "clockwise"),
    (
        "an open ring",
        lambda v: ring_of(v).__setitem__(-1, [80.5, 10.0]),
        f"{PALK}.geometry.coordinates[0]",
        "closed",
    ),
    (
        "a position off the globe",
        lambda v: ring_of(v).__setitem__(1, [181, 10]),
        f"{PALK}.geometry.coordinates[0][1]",
        "off the globe",
    ),
    (
        "a position with text",
        lambda v: ring_of(v).__setitem__(1, ["81", 10]),
        f"{PALK}.geometry.coordinates[0][1]",
        "[longitude, latitude]",
    ),
    (
        "a hole",
        lambda v: v["features"][0]["geometry"]["coordinates"].append(ring_of(v)),
        f"{PALK}.geometry.coordinates",
        "one ring",
    ),
    (
        "a point, not a polygon",
        lambda v: v["features"][0].__setitem__(
            "geometry", {"type": "Point", "coordinates": [80, 10]}
        ),
        f"{PALK}.geometry.type",
        "'Polygon'",
    ),
    (
        "the same sea twice",
        set_prop("name", "Palk Strait"),
        "features[1].properties.name",
        "drawn twice",
    ),
    ("two seas overlapping", overlapping, f"{GULF}.geometry", "overlaps features[0]"),
    ("not a collection", lambda v: v.__setitem__("type", "Feature"), "type", "FeatureCollection"),
]


@pytest.mark.parametrize(("case", "change", "field", "message"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_file_is_refused_naming_the_feature_and_the_problem(
    case: str, change: Callable[[dict[str, Any]], None], field: str, message: str
) -> None:
    read(one(lambda v: None))  # the file before the change is good
    with pytest.raises(DataFileError) as caught:
        read(one(change))
    assert caught.value.fields == (field,), case
    assert message in str(caught.value), case
    assert "test.geojson" in str(caught.value)


def test_a_file_past_the_size_cap_is_refused_before_it_is_parsed() -> None:
    padded = json.dumps(one(lambda v: None)).encode() + b" " * seas.MAX_BYTES
    with pytest.raises(DataFileError, match="larger than"):
        read(padded)


def test_deep_nesting_and_broken_json_are_refused() -> None:
    with pytest.raises(DataFileError, match="nested deeper"):
        read(b"[" * 10_000 + b"]" * 10_000)
    with pytest.raises(DataFileError, match="not JSON"):
        read(b'{"type": "FeatureCollection", "features": [')
    with pytest.raises(DataFileError, match="empty"):
        read(b"")


# --- Threat levels ------------------------------------------------------------------------


def low(n: int, *, previous: tuple[int, ...] = (), t: Thresholds = T, days: int = 90) -> Grade:
    return grade(Incidents({"low": n}, previous=previous), days=days, thresholds=t)


def test_a_quiet_sea_is_low_and_says_so() -> None:
    graded = grade(Incidents({}), days=30)
    assert graded.level == "low" and graded.count == 0
    assert [r.rule for r in graded.reasons] == ["count", "trend"]
    assert graded.reasons[1].level is None and "no earlier periods" in graded.reasons[1].text


@pytest.mark.parametrize(
    ("count", "level"),
    [
        (T.moderate_count - 1, "low"),
        (T.moderate_count, "moderate"),
        (T.elevated_count - 1, "moderate"),
        (T.elevated_count, "elevated"),
        (T.high_count - 1, "elevated"),
        (T.high_count, "high"),
    ],
)
def test_the_count_of_a_quarter_sets_the_level_at_each_boundary(count: int, level: str) -> None:
    graded = low(count, days=T.per_days)
    assert graded.level == level
    assert graded.reasons[0].rule == "count" and graded.reasons[0].level == level


def test_a_longer_period_scales_the_counts_up_and_a_shorter_one_is_held_to_a_quarter() -> None:
    year = 4 * T.per_days
    assert low(4 * T.elevated_count - 1, days=year).level == "moderate"
    assert low(4 * T.elevated_count, days=year).level == "elevated"
    week = 7
    assert low(T.elevated_count - 1, days=week).level == "moderate"
    assert low(T.elevated_count, days=week).level == "elevated"


@pytest.mark.parametrize(
    ("by_severity", "level", "rules"),
    [
        ({"critical": T.elevated_critical}, "elevated", ["count", "critical"]),
        ({"critical": T.high_critical}, "high", ["count", "critical", "serious"]),
        ({"high": T.elevated_serious - 1}, "moderate", ["count"]),
        ({"high": T.elevated_serious}, "elevated", ["count", "serious"]),
        ({"high": T.elevated_serious - 1, "medium": T.elevated_count}, "elevated", ["count"]),
    ],
)
def test_grave_incidents_raise_the_floor_as_recaap_categories_would(
    by_severity: dict[str, int], level: str, rules: list[str]
) -> None:
    graded = grade(Incidents(by_severity), days=T.per_days)
    assert graded.level == level
    assert [r.rule for r in graded.reasons] == [*rules, "trend"]
    assert graded.by_severity == {s: by_severity.get(s, 0) for s in SEVERITIES}


def test_a_rise_on_the_same_period_of_earlier_years_raises_one_level_at_its_boundaries() -> None:
    t = Thresholds(elevated_count=50, high_count=100)  # keep the count rule at moderate
    expected = 10
    previous = (expected - 2, expected, expected + 2)  # mean 10
    ratio_edge = math.ceil(t.rise_ratio * expected)
    assert low(ratio_edge - 1, previous=previous, t=t).level == "moderate"
    graded = low(ratio_edge, previous=previous, t=t)
    assert graded.level == "elevated"
    assert graded.expected == expected and graded.change == (ratio_edge - expected) / expected
    assert graded.reasons[-1].rule == "trend" and "raised one level" in graded.reasons[-1].text
    # from a small count the absolute rise must be large enough too
    assert low(1 + t.rise_min - 1, previous=(1,), t=t).level == "moderate"
    assert low(1 + t.rise_min, previous=(1,), t=t).level == "elevated"


def test_new_activity_where_there_was_none_is_a_rise_and_has_no_ratio() -> None:
    graded = grade(Incidents({"low": T.rise_min}, baseline=0), days=T.per_days)
    assert LEVELS.index(graded.level) == LEVELS.index(low(T.rise_min).level) + 1
    assert graded.change is None


def test_a_baseline_count_reads_like_the_same_mean_of_earlier_years() -> None:
    a = grade(Incidents({"medium": 6}, previous=(1, 3)), days=T.per_days)
    b = grade(Incidents({"medium": 6}, baseline=2.0), days=T.per_days)
    assert (a.level, a.expected, a.change) == (b.level, b.expected, b.change)


def test_a_fall_lowers_nothing_and_the_top_level_stays_the_top() -> None:
    falling = low(T.elevated_count, previous=(10 * T.elevated_count,))
    assert falling.level == "elevated" and "not up" in falling.reasons[-1].text
    at_top = low(T.high_count, previous=(0,))
    assert at_top.level == "high" and "already at the top" in at_top.reasons[-1].text


@given(
    counts=st.fixed_dictionaries({s: st.integers(0, 15) for s in SEVERITIES}),
    previous=st.lists(st.integers(0, 20), max_size=4),
    days=st.sampled_from([7, 30, 90, 365]),
    extra=st.sampled_from(SEVERITIES),
)
def test_one_more_incident_never_lowers_the_level_and_a_reason_sets_it(
    counts: dict[str, int], previous: list[int], days: int, extra: str
) -> None:
    before = grade(Incidents(counts, previous=tuple(previous)), days=days)
    more = {**counts, extra: counts[extra] + 1}
    after = grade(Incidents(more, previous=tuple(previous)), days=days)
    assert LEVELS.index(after.level) >= LEVELS.index(before.level)
    for graded in (before, after):
        set_by = [r.level for r in graded.reasons if r.level is not None]
        assert graded.level == max(set_by, key=LEVELS.index)


def test_every_sea_of_the_pack_gets_a_grade() -> None:
    names = load_pack("bimstec").sea_areas
    grades = seas.grade_areas(names, {"Andaman Sea": Incidents({"critical": 1})}, days=30)
    assert list(grades) == list(names)
    assert grades["Andaman Sea"].level == "elevated" and grades["Bay of Bengal"].level == "low"
    with pytest.raises(ValueError, match="'Caspian Sea'"):
        seas.grade_areas(names, {"Caspian Sea": Incidents({})}, days=30)


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Incidents({"severe": 1}), "by_severity"),
        (lambda: Incidents({"low": -1}), "by_severity['low']"),
        (lambda: Incidents({"low": True}), "by_severity['low']"),
        (lambda: Incidents({}, previous=(1, -2)), "previous[1]"),
        (lambda: Incidents({}, previous=(1,), baseline=1.0), "baseline"),
        (lambda: Incidents({}, baseline=math.inf), "baseline"),
        (lambda: grade(Incidents({}), days=0), "days"),
        (
            lambda: Thresholds(elevated_count=20, high_count=10),
            "moderate_count, elevated_count, high_count",
        ),
        (lambda: Thresholds(per_days=0), "per_days"),
    ],
)
def test_bad_inputs_are_refused_naming_the_field(make: Callable[[], object], field: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(field)}:"):
        make()


def test_below_the_moderate_count_a_sea_stays_low_and_the_reason_counts_what_there_was() -> None:
    t = Thresholds(moderate_count=2)
    graded = low(1, t=t)
    assert graded.level == "low" and graded.count == 1
    assert "1 incident in the last" in graded.reasons[0].text
