"""Write each shipped region pack's land borders, from the country shapes the node ships.

    .venv/bin/python tools/borders.py            # rewrites rsn/registry/data/regions/borders/
    .venv/bin/python tools/borders.py --check    # exit 1 if a file differs from a fresh build

The map's country shapes (world-atlas 2.0.2, Natural Earth 4.1.0 at 1:50m, public domain)
are TopoJSON: each stretch of boundary is stored once, as an *arc*, and a country's rings
list the arcs they follow. An arc that two countries' rings both follow is a stretch of
their common land border; an arc only one follows is coast. So the borders are exactly
the shared arcs, with no geometry computed and no tolerance to choose. For each pack,
the borders that touch one of its member states are written as GeoJSON lines (lon/lat),
simplified to about a kilometre: early warning asks "is this report within 25 km of a
border", not where the boundary pillar stands.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pycountry
from shapely.geometry import LineString, MultiLineString, mapping
from shapely.ops import linemerge

ROOT = Path(__file__).resolve().parents[1]
ATLAS = ROOT / "rsn/web/static/vendor/world-atlas-2.0.2-countries-50m.json"
OUT = ROOT / "rsn/registry/data/regions/borders"
TOLERANCE = 0.01  # degrees, about 1 km: Douglas-Peucker on each merged border
DIGITS = 4  # decimals kept in a position (about 10 m)
SOURCE = "world-atlas 2.0.2 countries-50m (Natural Earth 4.1.0, public domain), tools/borders.py"


def _alpha2(numeric: str | None) -> str | None:
    if numeric is None:
        return None
    country = pycountry.countries.get(numeric=numeric)
    return None if country is None else str(country.alpha_2)


def arcs(topology: dict[str, Any]) -> list[list[tuple[float, float]]]:
    """Every arc's positions in lon/lat: TopoJSON keeps them quantized and delta-encoded."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    decoded = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:  # each position is the change from the one before
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        decoded.append(points)
    return decoded


def _arc_ids(geometry: dict[str, Any]) -> set[int]:
    """Every arc a country's rings follow (~i is arc i walked backwards)."""
    polygons = [geometry["arcs"]] if geometry["type"] == "Polygon" else geometry["arcs"]
    return {i if i >= 0 else ~i for polygon in polygons for ring in polygon for i in ring}


def borders(topology: dict[str, Any]) -> dict[tuple[str, str], MultiLineString]:
    """Every land border between two countries with ISO codes, by the pair (sorted)."""
    decoded = arcs(topology)
    users: dict[int, set[str]] = defaultdict(set)
    for geometry in topology["objects"]["countries"]["geometries"]:
        code = _alpha2(geometry.get("id"))
        if code is not None and geometry.get("type") in ("Polygon", "MultiPolygon"):
            for i in _arc_ids(geometry):
                users[i].add(code)
    shared: dict[tuple[str, str], list[LineString]] = defaultdict(list)
    for i, codes in users.items():
        if len(codes) == 2:
            a, b = sorted(codes)
            shared[(a, b)].append(LineString(decoded[i]))
    found = {}
    for pair, lines in shared.items():
        merged = linemerge(lines).simplify(TOLERANCE)
        parts = list(merged.geoms) if hasattr(merged, "geoms") else [merged]
        found[pair] = MultiLineString(parts)
    return found


def _rounded(coords: Any) -> Any:
    if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
        return [round(c, DIGITS) for c in coords]
    return [_rounded(c) for c in coords]


def pack_file(slug: str, members: list[str], every: dict[tuple[str, str], Any]) -> str:
    features = []
    for (a, b), line in sorted(every.items()):
        if a in members or b in members:
            geometry = mapping(line)
            features.append(
                {
                    "type": "Feature",
                    "properties": {"a": a, "b": b},
                    "geometry": {
                        "type": geometry["type"],
                        "coordinates": _rounded(geometry["coordinates"]),
                    },
                }
            )
    document = {
        "type": "FeatureCollection",
        "name": f"{slug} land borders",
        "source": SOURCE,
        "features": features,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True) + "\n"


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from rsn.registry import regionpacks

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    every = borders(json.loads(ATLAS.read_text(encoding="utf-8")))
    OUT.mkdir(parents=True, exist_ok=True)
    differs = []
    for slug in regionpacks.available():
        pack = regionpacks.load(slug)
        text = pack_file(slug, list(pack.members), every)
        path = OUT / f"{slug}.geojson"
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                differs.append(path.name)
        else:
            path.write_text(text, encoding="utf-8")
            count = text.count('"type":"Feature"')
            print(f"{path.relative_to(ROOT)}: {count} borders, {len(text):,} bytes")
    if differs:
        print("differ from a fresh build: " + ", ".join(differs))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
