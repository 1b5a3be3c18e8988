"""Sea areas: which sea a maritime report happened in, and how threatened each sea is.

A coast guard on duty asks "is the Andaman Sea worse than usual?", not "how many
reports carry category maritime.piracy?". ReCAAP ISC answers that question for Asia
by grading each piracy and armed-robbery incident (CAT 1, the most violent or costly,
to CAT 4) and comparing a period's incidents with the same period of earlier years.
This module does the same for the sea areas of a region pack: it places a report's
point in a sea, and grades each sea's recent incidents into a level (`low` to `high`)
with the reasons a map or an API can show beside it.

The shapes are approximate on purpose: simple polygons of tens of vertices, drawn for
the project from the public textual limits (IHO S-23 and encyclopaedic descriptions;
`rsn/registry/data/regions/seas/README.md`). They place a report in the right sea, not
a ship on a chart: a coastline is a few kilometres off, so a point just inland (a port,
an anchorage) counts in the nearest sea within `COAST_REACH_KM`. Never for navigation.

The grading is a pure function of counts, so it can be tested on hand-made inputs and
fed later from the report tallies; thresholds are a documented dataclass a region can
tune.
"""

from __future__ import annotations

import functools
import io
import itertools
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, get_args

import ijson
import shapely
from shapely.geometry import Point, Polygon
from shapely.strtree import STRtree
from shapely.validation import explain_validity

from rsn.errors import ValidationError
from rsn.interop import limits
from rsn.registry.regionpacks import DataFileError, RegionPack
from rsn.registry.regionpacks import load as load_pack
from rsn.reports.schemas import Severity

MAX_BYTES = 512 * 1024  # a shapes file; the BIMSTEC one is under 10 KB
MAX_FEATURES = 64  # sea areas in one file
MAX_VERTICES = 500  # positions in one polygon's ring; the shipped ones have tens
MAX_OVERLAP = 0.01  # of the smaller area, that two areas may share (drawing slack)
COAST_REACH_KM = 10.0  # a point this close to a sea, but outside every shape, counts in it
_KM_PER_DEGREE = 111.32  # along a meridian; reach is measured in degrees of latitude
_SUFFIX = ".geojson"


# --- Shapes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SeaArea:
    """One sea of a pack, with the description its shape follows."""

    name: str
    source: str
    approximate: bool
    polygon: Polygon


class SeaShapes:
    """A pack's sea areas, indexed so that placing a point costs a tree probe."""

    def __init__(self, areas: Sequence[SeaArea]) -> None:
        self.areas = tuple(areas)
        polygons = [area.polygon for area in self.areas]
        for polygon in polygons:
            shapely.prepare(polygon)
        self._tree = STRtree(polygons)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(area.name for area in self.areas)

    def area_at(self, lat: float, lon: float, *, reach_km: float = COAST_REACH_KM) -> str | None:
        """The sea a point lies in, else the nearest within `reach_km`, else None.

        On a shared border the area listed first in the file wins, so the answer is
        the same every time.
        """
        point = Point(_checked(lon, "lon", 180.0), _checked(lat, "lat", 90.0))
        hits = [int(i) for i in self._tree.query(point) if self.areas[i].polygon.covers(point)]
        if hits:
            return self.areas[min(hits)].name
        if reach_km <= 0 or not self.areas:
            return None
        near = self._tree.query_nearest(point, max_distance=reach_km / _KM_PER_DEGREE)
        return self.areas[int(min(near))].name if len(near) else None


def _checked(value: float, name: str, bound: float) -> float:
    if not math.isfinite(value) or abs(value) > bound:
        raise ValueError(f"{name}: {value!r} is not a number between -{bound:g} and {bound:g}")
    return value


NO_SHAPES = SeaShapes(())


def _seas_dir() -> Traversable:
    return resources.files("rsn.registry") / "data" / "regions" / "seas"


@functools.cache
def shapes_for(slug: str) -> SeaShapes:
    """The shipped shapes of a pack by its slug; a pack without a shapes file has none.

    An unknown slug raises `LookupError` (from the pack registry), a bad file
    `DataFileError` naming the feature and the problem.
    """
    pack = load_pack(slug)
    resource = _seas_dir() / f"{slug}{_SUFFIX}"
    if not resource.is_file():
        return NO_SHAPES
    with resource.open("rb") as stream:
        return parse(stream.read(MAX_BYTES + 1), pack=pack, source=str(resource))


def load_file(path: str | Path, *, pack: RegionPack) -> SeaShapes:
    """A region's own shapes file for its own pack, checked like a shipped one."""
    with open(path, "rb") as stream:
        return parse(stream.read(MAX_BYTES + 1), pack=pack, source=str(path))


def parse(data: bytes, *, pack: RegionPack, source: str) -> SeaShapes:
    """Shapes from a GeoJSON FeatureCollection, every limit checked before it is built."""
    if len(data) > MAX_BYTES:
        raise DataFileError.at(source, "<root>", f"larger than {MAX_BYTES:,} bytes")
    features = _features(bounded_json(data, source), source)
    areas = [_area(feature, i, pack, source) for i, feature in enumerate(features)]
    _no_duplicates(areas, source)
    _no_overlaps(areas, source)
    return SeaShapes(areas)


def bounded_json(data: bytes, source: str) -> Any:
    """A data file's one JSON value, refused past the parsers' depth and string limits."""
    if not data.strip():
        raise DataFileError.at(source, "<root>", "empty file")
    stream = limits.events(io.BytesIO(data))
    try:
        first = next(stream, None)
        if first is None:
            raise DataFileError.at(source, "<root>", "empty file")
        value = limits.build(stream, first)
        limits.drain(stream)  # trailing content must still be well-formed
    except ValidationError as exc:
        raise DataFileError(source, exc.problems) from exc
    except ijson.JSONError as exc:
        raise DataFileError.at(source, "<root>", f"not JSON: {exc}") from exc
    return value


def _features(value: Any, source: str) -> list[Any]:
    if not isinstance(value, dict) or value.get("type") != "FeatureCollection":
        raise DataFileError.at(source, "type", "must be 'FeatureCollection'")
    features = value.get("features")
    if not isinstance(features, list):
        raise DataFileError.at(source, "features", "must be a list of features")
    if len(features) > MAX_FEATURES:
        raise DataFileError.at(
            source, "features", f"{len(features)} features; a file holds at most {MAX_FEATURES}"
        )
    return features


def _area(feature: Any, index: int, pack: RegionPack, source: str) -> SeaArea:
    where = f"features[{index}]"
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise DataFileError.at(source, f"{where}.type", "must be 'Feature'")
    props = feature.get("properties")
    if not isinstance(props, dict):
        raise DataFileError.at(source, f"{where}.properties", "must be an object")
    name = _text(props, "name", where, source)
    where = f"{where} ({name!r})"
    if name not in pack.sea_areas:
        known = ", ".join(pack.sea_areas) or "none"
        raise DataFileError.at(
            source, f"{where}.properties.name", f"not a sea area of pack {pack.slug!r} ({known})"
        )
    approximate = props.get("approximate")
    if not isinstance(approximate, bool):
        raise DataFileError.at(source, f"{where}.properties.approximate", "must be true or false")
    polygon = _polygon(feature.get("geometry"), f"{where}.geometry", source)
    return SeaArea(name, _text(props, "source", where, source), approximate, polygon)


def _text(props: dict[str, Any], key: str, where: str, source: str) -> str:
    value = props.get(key)
    if not isinstance(value, str) or not value.strip():
        raise DataFileError.at(source, f"{where}.properties.{key}", "must be a non-empty string")
    return value


def _polygon(geometry: Any, where: str, source: str) -> Polygon:
    if not isinstance(geometry, dict) or geometry.get("type") != "Polygon":
        raise DataFileError.at(source, f"{where}.type", "must be 'Polygon'")
    rings = geometry.get("coordinates")
    if not isinstance(rings, list) or len(rings) != 1:
        raise DataFileError.at(
            source, f"{where}.coordinates", "must hold exactly one ring (no holes)"
        )
    ring = _ring(rings[0], f"{where}.coordinates[0]", source)
    polygon = Polygon(ring)
    if not polygon.is_valid:
        raise DataFileError.at(source, where, f"not a valid polygon: {explain_validity(polygon)}")
    if not polygon.exterior.is_ccw:
        raise DataFileError.at(
            source, f"{where}.coordinates[0]", "runs clockwise; RFC 7946 wants counter-clockwise"
        )
    return polygon


def _ring(ring: Any, where: str, source: str) -> list[tuple[float, float]]:
    if not isinstance(ring, list) or not 4 <= len(ring) <= MAX_VERTICES + 1:
        raise DataFileError.at(
            source, where, f"must be a list of 4 to {MAX_VERTICES + 1} positions"
        )
    positions = [_position(p, f"{where}[{i}]", source) for i, p in enumerate(ring)]
    if positions[0] != positions[-1]:
        raise DataFileError.at(source, where, "must end where it starts (a closed ring)")
    return positions


def _position(value: Any, where: str, source: str) -> tuple[float, float]:
    numbers = isinstance(value, list) and len(value) == 2
    if not numbers or not all(_is_number(v) for v in value):
        raise DataFileError.at(source, where, "must be [longitude, latitude]")
    lon, lat = float(value[0]), float(value[1])
    if abs(lon) > 180 or abs(lat) > 90:
        raise DataFileError.at(source, where, f"[{lon}, {lat}] is off the globe")
    return lon, lat


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _no_duplicates(areas: Sequence[SeaArea], source: str) -> None:
    seen: set[str] = set()
    for i, area in enumerate(areas):
        if area.name in seen:
            raise DataFileError.at(
                source, f"features[{i}].properties.name", f"{area.name!r} is drawn twice"
            )
        seen.add(area.name)


def _no_overlaps(areas: Sequence[SeaArea], source: str) -> None:
    """Neighbouring seas may share a border and some slack, never a stretch of water."""
    for (i, a), (j, b) in itertools.combinations(enumerate(areas), 2):
        if not a.polygon.intersects(b.polygon):
            continue
        shared = a.polygon.intersection(b.polygon).area
        if shared > MAX_OVERLAP * min(a.polygon.area, b.polygon.area):
            raise DataFileError.at(
                source,
                f"features[{j}] ({b.name!r}).geometry",
                f"overlaps features[{i}] ({a.name!r}) by more than {MAX_OVERLAP:.0%}"
                " of the smaller area",
            )


# --- Threat levels ----------------------------------------------------------------------

Level = Literal["low", "moderate", "elevated", "high"]
LEVELS: tuple[Level, ...] = get_args(Level)
SEVERITIES: tuple[Severity, ...] = get_args(Severity)


@dataclass(frozen=True)
class Thresholds:
    """When a sea area's level rises; what a region tunes.

    `elevated_count` and `high_count` are per `per_days` days (a quarter: ReCAAP ISC's
    shortest periodic report); a longer period scales them up, rounded up, and a shorter
    one is held to them, since a week's handful says little. The other rules do not
    scale: any incident makes a sea `moderate`, and one hijacking is as grave in a month
    as in a year.

    The node's severities stand in for ReCAAP's categories, which grade an incident by
    its violence and its economic loss: `critical` for CAT 1 (crew killed, kidnapped or
    seriously hurt; a ship hijacked), `high` for CAT 2, `medium` for CAT 3, `low` for
    CAT 4 (thieves unarmed, crew unharmed).
    """

    per_days: int = 90
    moderate_count: int = 1  # in the period, whatever its length
    elevated_count: int = 4  # per quarter: a busy one for one BIMSTEC sea
    high_count: int = 10  # per quarter: a sustained campaign
    elevated_critical: int = 1  # one CAT 1-like incident
    high_critical: int = 2
    elevated_serious: int = 2  # incidents graded high or critical (CAT 1-2-like)
    rise_ratio: float = 1.5  # against the mean of the same period in earlier years
    rise_min: int = 3  # ...and at least this many more, so 1 -> 2 is no trend

    def __post_init__(self) -> None:
        for name in ("per_days", "moderate_count", "elevated_critical", "elevated_serious"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: {getattr(self, name)!r} must be at least 1")
        _ordered(self, "moderate_count", "elevated_count", "high_count")
        _ordered(self, "elevated_critical", "high_critical")
        if not self.rise_ratio >= 1:  # NaN too
            raise ValueError(f"rise_ratio: {self.rise_ratio!r} must be at least 1")
        if self.rise_min < 1:
            raise ValueError(f"rise_min: {self.rise_min!r} must be at least 1")

    def counts_for(self, days: int) -> tuple[tuple[Level, int], ...]:
        """The least count for each level a count can set, highest first, over `days` days."""
        factor = max(1.0, days / self.per_days)
        return (
            ("high", math.ceil(self.high_count * factor)),
            ("elevated", math.ceil(self.elevated_count * factor)),
            ("moderate", self.moderate_count),
        )


def _ordered(thresholds: Thresholds, *names: str) -> None:
    values = [getattr(thresholds, n) for n in names]
    if values != sorted(values):
        raise ValueError(f"{', '.join(names)}: {values} must not decrease")


@dataclass(frozen=True)
class Incidents:
    """One sea area's maritime incidents in the period graded, and in the same period before.

    `previous` holds the count of each earlier year's same-length period (ReCAAP
    compares January-June with January-June of the years before); `baseline` is a
    count given directly instead. Without either, no trend is judged.
    """

    by_severity: Mapping[str, int]
    previous: tuple[int, ...] = ()
    baseline: float | None = None

    def __post_init__(self) -> None:
        for key, count in self.by_severity.items():
            if key not in SEVERITIES:
                raise ValueError(f"by_severity: {key!r} is not one of {', '.join(SEVERITIES)}")
            _count(count, f"by_severity[{key!r}]")
        for i, count in enumerate(self.previous):
            _count(count, f"previous[{i}]")
        if self.baseline is not None and self.previous:
            raise ValueError("baseline: give previous counts or a baseline, not both")
        if self.baseline is not None and not (math.isfinite(self.baseline) and self.baseline >= 0):
            raise ValueError(f"baseline: {self.baseline!r} must be a count of 0 or more")

    @property
    def expected(self) -> float | None:
        """The count the period is compared with: the earlier years' mean, or the baseline."""
        if self.previous:
            return sum(self.previous) / len(self.previous)
        return self.baseline


def _count(value: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name}: {value!r} must be a whole count of 0 or more")


@dataclass(frozen=True)
class Reason:
    """One rule's finding; `level` is the floor it sets, None when it only informs."""

    rule: Literal["count", "critical", "serious", "trend"]
    level: Level | None
    text: str


@dataclass(frozen=True)
class Grade:
    """A sea area's level and everything a reader needs to see why."""

    level: Level
    days: int
    count: int
    by_severity: Mapping[Severity, int]
    expected: float | None
    change: float | None  # relative to `expected`; None without one, or when it is 0
    reasons: tuple[Reason, ...]


def grade(incidents: Incidents, *, days: int, thresholds: Thresholds | None = None) -> Grade:
    """Grade one sea area's last `days` days of maritime incidents.

    The level is the highest floor set by three rules, like the three things a ReCAAP
    report says of a period: how many incidents (`count`), how grave they were
    (`critical`, `serious`), and whether that is more than in the same period of
    earlier years (`trend`, which raises the level by one step).
    """
    if days < 1:
        raise ValueError(f"days: {days!r} must be at least 1")
    t = thresholds or Thresholds()
    counts = MappingProxyType({s: incidents.by_severity.get(s, 0) for s in SEVERITIES})
    total = sum(counts.values())
    reasons = [_count_reason(total, days, t), *_severity_reasons(counts, t)]
    floor = LEVELS[max(LEVELS.index(r.level) for r in reasons if r.level)]
    expected = incidents.expected
    trend = _trend_reason(total, expected, days, floor, t)
    reasons.append(trend)
    final = trend.level or floor
    change = (total - expected) / expected if expected else None
    return Grade(final, days, total, counts, expected, change, tuple(reasons))


def grade_areas(
    sea_areas: Iterable[str],
    incidents: Mapping[str, Incidents],
    *,
    days: int,
    thresholds: Thresholds | None = None,
) -> dict[str, Grade]:
    """A grade for every sea area of a pack; an area with no entry had no incidents."""
    names = list(sea_areas)
    for name in incidents:
        if name not in names:
            raise ValueError(f"incidents: {name!r} is not one of the sea areas graded")
    quiet = Incidents({})
    return {
        name: grade(incidents.get(name, quiet), days=days, thresholds=thresholds) for name in names
    }


def _count_reason(total: int, days: int, t: Thresholds) -> Reason:
    for lvl, least in t.counts_for(days):
        if total >= least:
            text = f"{_incidents(total)} in the last {days} days ({least} or more: {lvl})"
            return Reason("count", lvl, text)
    if total == 0:
        return Reason("count", "low", f"no incidents in the last {days} days")
    text = f"{_incidents(total)} in the last {days} days (fewer than {t.moderate_count}: low)"
    return Reason("count", "low", text)


def _severity_reasons(counts: Mapping[Severity, int], t: Thresholds) -> Iterator[Reason]:
    critical = counts["critical"]
    serious = critical + counts["high"]
    if critical >= t.high_critical:
        yield Reason("critical", "high", f"{_incidents(critical)} graded critical (CAT 1-like)")
    elif critical >= t.elevated_critical:
        yield Reason("critical", "elevated", f"{_incidents(critical)} graded critical (CAT 1-like)")
    if serious >= t.elevated_serious:
        text = f"{_incidents(serious)} graded high or critical (CAT 1-2-like)"
        yield Reason("serious", "elevated", text)


def _trend_reason(
    total: int, expected: float | None, days: int, level: Level, t: Thresholds
) -> Reason:
    if expected is None:
        return Reason("trend", None, "no earlier periods to compare with")
    versus = f"{total} against {expected:.1f} in the same {days} days of earlier years"
    rising = total >= t.rise_ratio * expected and total - expected >= t.rise_min
    if rising and level == LEVELS[-1]:
        return Reason("trend", None, f"up: {versus}; already at the top level")
    if rising:
        raised = LEVELS[LEVELS.index(level) + 1]
        return Reason("trend", raised, f"up: {versus}; raised one level to {raised}")
    return Reason("trend", None, f"{'up' if total > expected else 'not up'}: {versus}")


def _incidents(n: int) -> str:
    return f"{n} incident{'' if n == 1 else 's'}"
