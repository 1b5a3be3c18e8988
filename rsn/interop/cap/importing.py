"""One schema-valid CAP alert read into a report version and what RSN keeps beside it."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lxml.etree import _Element as Element

from rsn.interop.cap import mapping as m
from rsn.interop.cap.read import Parts, as_dict, cap, parts, text, texts
from rsn.interop.model import ImportContext, IncomingVersion, problem, report_data
from rsn.reports.service import REPORT_ID

# Of the first <info>, what the report's fields hold; the rest is kept.
MAPPED_INFO = frozenset(
    ["category", "event", "severity", "certainty", "onset", "senderName", "headline", "description"]
)
# Alert-level elements the report's fields hold.
MAPPED_ALERT = frozenset(
    ["identifier", "sender", "sent", "status", "msgType", "scope", "references", "info"]
)
# What an RSN node derives from the report when it writes an alert: not worth keeping.
LINE_BREAK = re.compile(r"[ \t]*[\r\n]+[ \t]*")
DERIVED = frozenset(["urgency", "web", "restriction", "addresses", "note"])


@dataclass
class Message:
    """An alert read: its place in an update chain, its version (if it has info), what's kept."""

    where: str
    parts: Parts
    sent: datetime
    version: IncomingVersion | None
    source_identity: str | None = None
    preferred_id: str | None = None
    kept: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return (self.parts.sender, self.parts.identifier)


def read(where: str, element: Element, context: ImportContext) -> Message:
    """Refuses what is no actual warning; a Cancel or Update without info has no version."""
    p = parts(element)
    if p.status != "Actual":
        raise problem(f"{where}.status", f"is '{p.status}'; only Actual alerts become reports.")
    if p.msg_type not in ("Alert", "Update", "Cancel"):
        raise problem(f"{where}.msgType", f"is '{p.msg_type}', which carries no warning to import.")
    sent = datetime.fromisoformat(p.sent)
    infos = element.findall(cap("info"))
    if not infos:
        return Message(where, p, sent, None)
    info = infos[0]
    params = _parameters(info)
    rsn_made = "rsn:category" in params
    payload = _payload(f"{where}.info[0]", info, p, params, context)
    data = report_data(where, payload)
    cancelled = p.msg_type == "Cancel"
    version = IncomingVersion(
        data,
        created=None,
        modified=sent,
        revoked=cancelled,
        revoked_reason=cancel_reason(p) if cancelled else None,
        revoked_at=sent if cancelled else None,
    )
    preferred = params.get("rsn:report_id", [""])[0]
    kept = _kept(element, infos, rsn_made)
    source_identity = _line(text(info, "senderName")) or p.sender
    keep_id = preferred if REPORT_ID.fullmatch(preferred) else None
    return Message(where, p, sent, version, source_identity[:200], keep_id, kept)


def _line(value: str) -> str:
    """One line: a headline or a name wrapped over lines in the XML is still one."""
    return LINE_BREAK.sub(" ", value)


def cancel_reason(p: Parts) -> str:
    """The Cancel's note, or a reason that says which alert cancelled the report."""
    reason = (p.note or "")[:2000]
    return reason if len(reason) >= 3 else f"Cancelled by CAP alert {p.identifier}."


def _parameters(info: Element) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for param in info.findall(cap("parameter")):
        found.setdefault(text(param, "valueName"), []).append(text(param, "value"))
    return found


def _payload(
    where: str, info: Element, p: Parts, params: Mapping[str, list[str]], context: ImportContext
) -> dict[str, Any]:
    rsn = {k.removeprefix("rsn:"): v[0] for k, v in params.items() if k.startswith("rsn:")}
    area = info.find(cap("area"))
    payload: dict[str, Any] = {
        "title": _line(text(info, "headline") or text(info, "event")),
        "category": _category(where, info, rsn.get("category"), context),
        "description": text(info, "description"),
        "occurred_at": text(info, "onset") or text(info, "effective") or p.sent,
        "country": _country(where, area, context),
        "location": _location(where, area),
        "severity": rsn.get("severity") or m.SEVERITY_BACK[text(info, "severity")],
        "confidence": _integer(rsn.get("confidence"))
        if "confidence" in rsn
        else m.CERTAINTY_BACK[text(info, "certainty")],
        "tlp": m.tlp_from(p.scope, rsn.get("tlp")),
        "observables": [_observable(v) for v in params.get("rsn:observable", [])],
    }
    for name in ("source_reliability", "information_credibility", "sea_area"):
        if name in rsn:
            payload[name] = rsn[name]
    if "distribution" in rsn and payload["tlp"] == rsn.get("tlp"):
        payload["distribution"] = _json(f"{where}.parameter[rsn:distribution]", rsn["distribution"])
    return payload


def _category(where: str, info: Element, claimed: str | None, context: ImportContext) -> str:
    if claimed and claimed in context.categories:
        return claimed
    event, headline = text(info, "event"), text(info, "headline")
    found = m.category_from(
        [event, headline], texts(info, "category"), text(info, "description"), context.categories
    )
    if found is None:
        cats = "/".join(texts(info, "category"))
        raise problem(
            f"{where}.category",
            f"CAP category '{cats}' with event '{event}' matches no RSN category; "
            "give the alert a parameter rsn:category naming one.",
        )
    return found


def _country(where: str, area: Element | None, context: ImportContext) -> str:
    if area is not None:
        for geocode in area.findall(cap("geocode")):
            if "3166" in text(geocode, "valueName"):
                code = m.country_code(text(geocode, "value"))
                if code:
                    return code
        named = m.country_named(text(area, "areaDesc"))
        if named:
            return named
    if context.default_country:
        return context.default_country
    raise problem(
        f"{where}.area",
        "names no country (no ISO 3166 geocode, no country in areaDesc) and the import "
        "has no default country.",
    )


def _location(where: str, area: Element | None) -> dict[str, float] | None:
    """The first circle's centre, or the first polygon's centroid."""
    if area is None:
        return None
    circle = area.find(cap("circle"))
    if circle is not None:
        point = _points(f"{where}.area[0].circle[0]", (circle.text or "").split()[:1])
        return {"lat": point[0][0], "lon": point[0][1]}
    polygon = area.find(cap("polygon"))
    if polygon is not None:
        lat, lon = _centroid(_points(f"{where}.area[0].polygon[0]", (polygon.text or "").split()))
        return {"lat": lat, "lon": lon}
    return None


def _points(where: str, pairs: list[str]) -> list[tuple[float, float]]:
    try:
        points = [(float(a), float(b)) for a, b in (pair.split(",") for pair in pairs)]
    except ValueError:
        points = []
    if not points:
        raise problem(where, f"'{' '.join(pairs)[:80]}' is not a list of 'lat,lon' points.")
    return points


def _centroid(points: list[tuple[float, float]]) -> tuple[float, float]:
    """The area-weighted centroid (shoelace), or the mean of the vertices if it has no area."""
    ring = points if points[0] == points[-1] else [*points, points[0]]
    area = lat = lon = 0.0
    for (y0, x0), (y1, x1) in itertools.pairwise(ring):
        cross = x0 * y1 - x1 * y0
        area += cross
        lon += (x0 + x1) * cross
        lat += (y0 + y1) * cross
    if abs(area) < 1e-12:
        unique = ring[:-1]
        return sum(p[0] for p in unique) / len(unique), sum(p[1] for p in unique) / len(unique)
    return round(lat / (3 * area), 6), round(lon / (3 * area), 6)


def _integer(value: str | None) -> int | str | None:
    """A number as int; anything else as given, so the report's check names it."""
    try:
        return int(value) if value is not None else None
    except ValueError:
        return value


def _observable(value: str) -> dict[str, str]:
    kind, _, rest = value.partition(":")
    return {"type": kind, "value": rest}


def _json(where: str, value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise problem(where, f"is not JSON ({exc.msg}).") from None


def _kept(element: Element, infos: list[Element], rsn_made: bool) -> list[dict[str, Any]]:
    """Resources, other info blocks (other languages) and any element no field holds."""
    ident = text(element, "identifier")
    first = infos[0]
    kept: list[dict[str, Any]] = [
        {"type": "cap-resource", "id": f"{ident}#resource-{i}", "cap": as_dict(r)}
        for i, r in enumerate(first.findall(cap("resource")))
    ]
    kept += [
        {"type": "cap-info", "id": f"{ident}#info-{i}", "cap": as_dict(info)}
        for i, info in enumerate(infos[1:], start=1)
    ]
    extra = _extra(element, first, rsn_made)
    if extra:
        kept.append({"type": "cap-extra", "id": ident, "cap": extra})
    return kept


def _extra(element: Element, info: Element, rsn_made: bool) -> dict[str, Any]:
    skip = DERIVED if rsn_made else frozenset()
    extra: dict[str, Any] = {}
    for kid in (k for k in element if isinstance(k.tag, str)):
        name = _local(kid)
        if name not in MAPPED_ALERT and name not in skip:
            extra[name] = as_dict(kid)
    for kid in (k for k in info if isinstance(k.tag, str)):
        name = _local(kid)
        if name in MAPPED_INFO or name in skip or name == "resource":
            continue
        if name == "parameter" and text(kid, "valueName").startswith("rsn:"):
            continue
        if name == "area" and rsn_made:
            continue
        extra.setdefault(name, []).append(as_dict(kid))
    return extra


def _local(element: Element) -> str:
    return str(element.tag).rpartition("}")[2]
