"""Land borders: which border a report's point lies near.

A cluster of incidents a few kilometres either side of a border (smuggling crossings,
armed clashes, people fleeing) is a signal no single state's counts show. Each region
pack has a file of the land borders that touch its member states, written by
`tools/borders.py` from the country shapes the node already ships for its map: in those
shapes each stretch of boundary is stored once and shared by the two countries it
divides, so the borders are read off exactly, not computed. Lines are simplified to
about a kilometre; distances are measured on a local flat projection (longitudes
scaled by the cosine of the point's latitude), good to a few per cent at the distances
early warning asks about. Never for navigation or for anything a border means.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import shapely
from shapely.geometry import LineString, MultiLineString, Point, box
from shapely.strtree import STRtree

from rsn.registry.regionpacks import DataFileError
from rsn.warning.seas import bounded_json

MAX_BYTES = 1024 * 1024  # a borders file; the largest shipped (SCO) is ~75 KB
MAX_FEATURES = 200
MAX_POSITIONS = 20_000  # in one file
KM_PER_DEGREE = 111.32  # along a meridian
_SUFFIX = ".geojson"


@dataclass(frozen=True)
class Border:
    """The land border between two countries (ISO alpha-2, sorted)."""

    a: str
    b: str
    line: MultiLineString

    @property
    def pair(self) -> tuple[str, str]:
        return (self.a, self.b)


class Borders:
    """A pack's borders, indexed so that asking about a point costs a tree probe."""

    def __init__(self, borders: Sequence[Border]) -> None:
        self.borders = tuple(borders)
        self._tree = STRtree([b.line for b in self.borders])

    def near(self, lat: float, lon: float, km: float) -> list[tuple[str, str]]:
        """The borders within `km` of a point, nearest first."""
        if not self.borders or not (math.isfinite(lat) and math.isfinite(lon)):
            return []
        scale = max(math.cos(math.radians(lat)), 0.01)
        dy = km / KM_PER_DEGREE
        dx = dy / scale
        candidates = self._tree.query(box(lon - dx, lat - dy, lon + dx, lat + dy))
        point = Point(lon * scale, lat)
        found = []
        for i in candidates:
            border = self.borders[int(i)]
            flat = shapely.transform(border.line, lambda xy, s=scale: xy * (s, 1.0))
            distance = flat.distance(point) * KM_PER_DEGREE
            if distance <= km:
                found.append((distance, border.pair))
        return [pair for _, pair in sorted(found)]


NO_BORDERS = Borders(())


@functools.cache
def for_pack(slug: str) -> Borders:
    """The shipped borders of a pack; a pack without a file has none."""
    resource = resources.files("rsn.registry") / "data" / "regions" / "borders" / f"{slug}{_SUFFIX}"
    if not resource.is_file():
        return NO_BORDERS
    with resource.open("rb") as stream:
        return parse(stream.read(MAX_BYTES + 1), source=str(resource))


def parse(data: bytes, *, source: str) -> Borders:
    """Borders from a GeoJSON FeatureCollection of (Multi)LineStrings with `a` and `b`."""
    if len(data) > MAX_BYTES:
        raise DataFileError.at(source, "<root>", f"larger than {MAX_BYTES:,} bytes")
    value = bounded_json(data, source)
    features = value.get("features") if isinstance(value, dict) else None
    if not isinstance(features, list) or len(features) > MAX_FEATURES:
        raise DataFileError.at(source, "features", f"must be a list of at most {MAX_FEATURES}")
    borders = []
    positions = 0
    for i, feature in enumerate(features):
        where = f"features[{i}]"
        props = feature.get("properties") if isinstance(feature, dict) else None
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if not isinstance(props, dict) or not all(
            isinstance(props.get(k), str) and len(props[k]) == 2 for k in ("a", "b")
        ):
            raise DataFileError.at(source, f"{where}.properties", "must name countries a and b")
        lines = _lines(geometry, f"{where}.geometry", source)
        positions += sum(len(line.coords) for line in lines)
        if positions > MAX_POSITIONS:
            raise DataFileError.at(source, where, f"more than {MAX_POSITIONS} positions in all")
        a, b = sorted((props["a"], props["b"]))
        borders.append(Border(a, b, MultiLineString(lines)))
    return Borders(borders)


def _lines(geometry: object, where: str, source: str) -> list[LineString]:
    if not isinstance(geometry, dict) or geometry.get("type") not in (
        "LineString",
        "MultiLineString",
    ):
        raise DataFileError.at(source, f"{where}.type", "must be 'LineString' or 'MultiLineString'")
    coords = geometry.get("coordinates")
    parts = [coords] if geometry["type"] == "LineString" else coords
    if not isinstance(parts, list):
        raise DataFileError.at(source, f"{where}.coordinates", "must be a list")
    lines = []
    for j, part in enumerate(parts):
        ok = isinstance(part, list) and len(part) >= 2
        ok = ok and all(
            isinstance(p, list)
            and len(p) == 2
            and all(isinstance(c, int | float) and not isinstance(c, bool) for c in p)
            and abs(p[0]) <= 180
            and abs(p[1]) <= 90
            for p in part
        )
        if not ok:
            raise DataFileError.at(
                source, f"{where}.coordinates[{j}]", "must be two or more [lon, lat]"
            )
        lines.append(LineString(part))
    return lines


__all__ = ["Border", "Borders", "for_pack", "parse"]
