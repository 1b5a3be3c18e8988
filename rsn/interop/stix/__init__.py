"""STIX 2.1: an RSN report as a bundle of objects, and back (reading is in `reading`).

One RSN report becomes:
- the originator's organization as an `identity` (identity_class organization,
  id a hash of the organization slug in RSN's namespace, see `rsn.interop.stix.ext`, so
  every report of one organization names the same creator);
- one `report` object version per RSN version, all with id `report--<RSN id>`
  and that version's `created`/`modified` (to the millisecond, as RSN keeps
  them): name = title, description, published = the report's creation,
  confidence, labels = [category], revoked, created_by_ref = the originator,
  object_marking_refs = the official TLP 2.0 marking, object_refs = everything
  below, and RSN's report property extension (`stix_ext.REPORT_EXTENSION`)
  with every field STIX has no property for: category, occurred_at, country,
  location, sea_area, severity, source_reliability, information_credibility,
  tlp, distribution (names as on this node), version, revoked_reason,
  revoked_at, originator {username, organization, member_state},
  source_identity, observable_refs (the SCO ids in the report's order, so
  the order of observables survives) and, in a file export, node_mac: the
  node's MAC over the version and the objects kept with it, by which the node
  knows its own export when it is imported again (`rsn.interop.provenance`);
- a `location` (country, latitude/longitude) per report, versioned with it;
- one SCO per observable: standard SCOs where STIX has them (ipv4-addr,
  ipv6-addr, domain-name, url, email-addr, file with one hash), OpenCTI's
  custom observables where OpenCTI has one (phone-number, cryptocurrency-wallet,
  bank-account, persona), RSN's new SCOs for the rest (see `rsn.interop.stix.ext`), each
  with its spec-defined deterministic id and the report's current marking;
- for network and file observables, an `indicator` with a one-comparison STIX
  pattern (valid_from = the report's creation) and a `based-on` relationship
  from it to its SCO, both versioned with the report (a revoked report
  revokes them too);
- the objects an import kept with the report, as they came.

Every derived object is a pure function of the report id and one version's
snapshot, so the same report always yields the same ids and the same JSON,
whether all versions are written or only the last. (So an observable an edit
removed leaves its indicator as last written; the report's current
object_refs no longer name it.) Objects are plain dicts: building them with
the `stix2` classes ran at about 1,500 indicators/s here, these at about
50,000 objects/s, which is what TAXII paging needs. A kept object wins over a
derived one with the same id, and a kept indicator with the same pattern
replaces the derived indicator, so a third-party report read in and written
out again does not repeat itself.

Reading (`parse`, `parse_objects`) is documented in `rsn.interop.stix.reading`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import IO, Any, Literal

from rsn.interop import provenance
from rsn.interop.model import ExportContext, ExportItem, ImportContext, Incoming, Sealer
from rsn.interop.stix import reading as stix_in
from rsn.interop.stix.ext import (
    INDICATED,
    MARKINGS,
    REPORT_EXTENSION,
    RSN_IDENTITY,
    SEAL_PROPERTY,
    TLP2_IDS,
    derived_ids,
    extension_definitions,
    indicator_id,
    location_id,
    organization_id,
    pattern_for,
    relationship_id,
    sco,
)

__all__ = [
    "MARKINGS",
    "export",
    "extension_definitions",
    "objects_for",
    "parse",
    "parse_objects",
    "sniff",
]

TLP_OF_ID = {mid: tlp for tlp, mid in TLP2_IDS.items()}
DISTRIBUTION_KEYS = ("member_states", "organizations", "sharing_groups", "users")
_BUNDLE = re.compile(rb'"type"\s*:\s*"bundle"')
_ENVELOPE = re.compile(rb'"objects"\s*:\s*\[')
_SPEC = re.compile(rb'"spec_version"\s*:\s*"2\.1"')


def timestamp(text: str) -> str:
    """A snapshot time as a STIX timestamp: UTC, milliseconds, `Z`.

    Snapshots hold `isoformat` strings, naive (UTC) on SQLite and `+00:00` on
    PostgreSQL; both common shapes take the fast path.
    """
    if len(text) == 29 and text.endswith("+00:00"):
        return text[:23] + "Z"
    if len(text) == 23:
        return text + "Z"
    value = datetime.fromisoformat(text)
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def identity_for(item: ExportItem) -> dict[str, Any]:
    who = item.originator
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": organization_id(who.organization),
        "created": RSN_IDENTITY["created"],
        "modified": RSN_IDENTITY["modified"],
        "name": who.organization_name or who.organization or "unknown organization",
        "identity_class": "organization",
    }


def objects_for(
    item: ExportItem, context: ExportContext, *, versions: Literal["all", "last"] = "all"
) -> list[dict[str, Any]]:
    """The STIX objects of one report, JSON-ready, in a fixed order.

    Identity, report versions, SCOs, indicators, relationships, locations, kept.
    """
    objects = _Objects(item, context)
    for version in item.versions if versions == "all" else item.versions[-1:]:
        objects.add(version.version, version.snapshot)
    return objects.all()


class _Objects:
    """The objects of one report, gathered version by version."""

    def __init__(self, item: ExportItem, context: ExportContext) -> None:
        self.item, self.context = item, context
        self.creator = identity_for(item)
        self.kept_ids = [str(o["id"]) for o in item.kept if isinstance(o.get("id"), str)]
        self.kept_set = set(self.kept_ids)
        self.kept_patterns = {o.get("pattern") for o in item.kept if o.get("type") == "indicator"}
        self.reports: list[dict[str, Any]] = []
        self.scos: dict[tuple[str, str], dict[str, Any]] = {}
        self.indicators: list[dict[str, Any]] = []
        self.relationships: list[dict[str, Any]] = []
        self.locations: list[dict[str, Any]] = []

    def add(self, version: int, snap: Mapping[str, Any]) -> None:
        rid = self.item.report_id
        common = _common(snap, self.creator["id"])
        self.locations.append(_location(rid, snap, common))
        refs = [self.locations[-1]["id"]]
        observable_refs = []
        for kind, value in _observables(snap):
            found = self._sco(kind, value)
            observable_refs.append(found["id"])
            if kind in INDICATED and pattern_for(kind, value) not in self.kept_patterns:
                indicator = _indicator(rid, kind, value, snap, common)
                relation = _based_on(rid, kind, value, indicator, found, common)
                self.indicators.append(indicator)
                self.relationships.append(relation)
                refs += [indicator["id"], relation["id"]]
        refs += [i for i in observable_refs if i not in self.kept_set]
        refs += self.kept_ids
        report = _report(self.item, version, snap, common, refs, observable_refs, self.context)
        if self.context.seal is not None:
            self._seal(report, _observables(snap), self.context.seal)
        self.reports.append(report)

    def _seal(self, report: dict[str, Any], observables: Pairs, seal: Sealer) -> None:
        """The node's MAC over the version and the kept objects it carries (see `provenance`)."""
        rid = self.item.report_id
        ext = report["extensions"][REPORT_EXTENSION]
        kept = self.item.kept
        if kept:  # those the reader takes for derived are left out there too
            derived = derived_ids(rid, observables)
            kept = [o for o in kept if o.get("id") not in derived]
        found = provenance.digest(report, kept)
        if found is not None:
            ext[SEAL_PROPERTY] = seal(rid, ext["version"], found)

    def _sco(self, kind: str, value: str) -> dict[str, Any]:
        """One SCO per value, marked as the report is now (an SCO has no versions)."""
        found = self.scos.get((kind, value))
        if found is None:
            found = self.scos[(kind, value)] = sco(kind, value)
            found["object_marking_refs"] = [TLP2_IDS[str(self.item.current["tlp"])]]
        return found

    def all(self) -> list[dict[str, Any]]:
        scos = [o for o in self.scos.values() if o["id"] not in self.kept_set]
        derived = [*self.reports, *scos, *self.indicators, *self.relationships, *self.locations]
        return [self.creator, *derived, *(dict(o) for o in self.item.kept)]


Pairs = list[tuple[str, str]]


def _observables(snap: Mapping[str, Any]) -> Pairs:
    return [(str(o["type"]), str(o["value"])) for o in snap.get("observables") or []]


def _common(snap: Mapping[str, Any], creator_id: str) -> dict[str, Any]:
    """Properties every derived SDO/SRO of one version shares."""
    common: dict[str, Any] = {
        "spec_version": "2.1",
        "created": timestamp(snap["created"]),
        "modified": timestamp(snap["modified"]),
        "created_by_ref": creator_id,
    }
    if snap.get("revoked"):
        common["revoked"] = True
    common["object_marking_refs"] = [TLP2_IDS[snap["tlp"]]]
    return common


def _location(report_id: str, snap: Mapping[str, Any], common: dict[str, Any]) -> dict[str, Any]:
    obj: dict[str, Any] = {"type": "location", "id": location_id(report_id), **common}
    obj["country"] = snap["country"]
    point = snap.get("location")
    if point:
        obj["latitude"], obj["longitude"] = point["lat"], point["lon"]
    return obj


def _indicator(
    report_id: str, kind: str, value: str, snap: Mapping[str, Any], common: dict[str, Any]
) -> dict[str, Any]:
    return {
        "type": "indicator",
        "id": indicator_id(report_id, kind, value),
        **common,
        "name": f"{kind} {value}"[:300],
        "description": f"Observable of the RSN report '{snap['title']}'.",
        "indicator_types": ["unknown"],
        "pattern": pattern_for(kind, value),
        "pattern_type": "stix",
        "pattern_version": "2.1",
        "valid_from": common["created"],
    }


def _based_on(
    report_id: str,
    kind: str,
    value: str,
    indicator: dict[str, Any],
    target: dict[str, Any],
    common: dict[str, Any],
) -> dict[str, Any]:
    return {
        "type": "relationship",
        "id": relationship_id(report_id, kind, value),
        **common,
        "relationship_type": "based-on",
        "source_ref": indicator["id"],
        "target_ref": target["id"],
    }


def _report(
    item: ExportItem,
    version: int,
    snap: Mapping[str, Any],
    common: dict[str, Any],
    refs: list[str],
    observable_refs: list[str],
    context: ExportContext,
) -> dict[str, Any]:
    obj: dict[str, Any] = {"type": "report", "id": f"report--{item.report_id}", **common}
    obj["name"] = snap["title"]
    if snap.get("description"):
        obj["description"] = snap["description"]
    obj["report_types"] = ["threat-report"]
    obj["published"] = common["created"]
    obj["confidence"] = snap["confidence"]
    obj["labels"] = [snap["category"]]
    if context.node_url:
        url = f"{context.node_url.rstrip('/')}/reports/{item.report_id}"
        obj["external_references"] = [
            {"source_name": context.node_name, "url": url, "external_id": item.report_id}
        ]
    obj["object_refs"] = list(dict.fromkeys(refs))
    obj["extensions"] = {REPORT_EXTENSION: _extension(item, version, snap, observable_refs)}
    return obj


def _extension(
    item: ExportItem, version: int, snap: Mapping[str, Any], observable_refs: list[str]
) -> dict[str, Any]:
    """The RSN fields, absent ones left out (STIX allows neither null nor empty lists)."""
    ext: dict[str, Any] = {"extension_type": "property-extension"}
    for name in ("category", "country", "severity", "source_reliability"):
        ext[name] = snap[name]
    ext["information_credibility"] = snap["information_credibility"]
    ext["occurred_at"] = timestamp(snap["occurred_at"])
    for name in ("location", "sea_area", "revoked_reason", "source_identity"):
        if snap.get(name) is not None:
            ext[name] = snap[name]
    if snap.get("revoked_at"):
        ext["revoked_at"] = timestamp(snap["revoked_at"])
    ext["tlp"] = snap["tlp"]
    dist = {k: list(v) for k in DISTRIBUTION_KEYS if (v := (snap.get("distribution") or {}).get(k))}
    if dist:
        ext["distribution"] = dist
    ext["version"] = version
    who = item.originator
    originator = {"username": who.username, "organization": who.organization}
    if who.member_state:
        originator["member_state"] = who.member_state
    ext["originator"] = {k: v for k, v in originator.items() if v}
    if observable_refs:
        ext["observable_refs"] = observable_refs
    return ext


def _dump(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def export(items: Iterable[ExportItem], out: IO[bytes], context: ExportContext) -> int:
    """Stream one bundle: markings as first used, extension definitions, then each report.

    Objects are written one at a time; an object (id, modified) already written
    (an identity or SCO shared by several reports) is not written again.
    """
    out.write(b'{"type":"bundle","id":"bundle--' + str(uuid.uuid4()).encode() + b'","objects":[')
    seen: set[tuple[str, str | None]] = set()
    first = True
    count = 0
    for obj in _preamble():
        first = _write(out, obj, first, seen)
    for item in items:
        for tlp in _markings_used(item):
            first = _write(out, MARKINGS[tlp], first, seen)
        for obj in objects_for(item, context):
            first = _write(out, obj, first, seen)
        count += 1
    out.write(b"]}\n")
    return count


def _markings_used(item: ExportItem) -> list[str]:
    """The TLP levels of the report's versions and of the kept objects that carry TLP 2.0."""
    found = dict.fromkeys(str(v.snapshot["tlp"]) for v in item.versions)
    for obj in item.kept:
        refs = obj.get("object_marking_refs")
        for ref in refs if isinstance(refs, list) else []:
            if ref in TLP_OF_ID:
                found.setdefault(TLP_OF_ID[ref])
    return list(found)


def _preamble() -> Iterator[dict[str, Any]]:
    yield RSN_IDENTITY
    yield from extension_definitions()


def _write(
    out: IO[bytes], obj: Mapping[str, Any], first: bool, seen: set[tuple[str, str | None]]
) -> bool:
    key = (str(obj.get("id")), obj.get("modified"))
    if key in seen:
        return first
    seen.add(key)
    out.write(_dump(obj) if first else b"," + _dump(obj))
    return False


def sniff(head: bytes) -> bool:
    """A JSON object that is a bundle, or a TAXII envelope of STIX 2.1 objects."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith(b"{"):
        return False
    return bool(_BUNDLE.search(text) or (_ENVELOPE.search(text) and _SPEC.search(text)))


def parse(stream: IO[bytes], context: ImportContext) -> Iterator[Incoming]:
    return stix_in.parse(stream, context)


def parse_objects(
    objects: Iterable[dict[str, Any]], context: ImportContext, *, where: str = "objects"
) -> Iterator[Incoming]:
    return stix_in.parse_objects(objects, context, where=where)
