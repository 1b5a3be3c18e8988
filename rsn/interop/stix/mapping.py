"""What the properties of a STIX report (RSN's or a third party's) become in an RSN report.

Pure functions over objects already checked by `rsn.interop.stix.check`; `lookup` finds the
latest version of an object of the same input by id. The choices are listed in
`rsn.interop.stix.reading`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from rsn.interop.model import ImportContext, IncomingVersion, problem, report_data
from rsn.interop.stix import check as stix_check
from rsn.interop.stix.ext import (
    HASH_ALIASES,
    HASHES,
    REPORT_EXTENSION,
    RSN_OF,
    TLP2_EXTENSION,
    TLP_OF_MARKING,
    TLP_ORDER,
    legacy_sco,
    observable_ids,
    observables_in_pattern,
    sco,
)
from rsn.observables import ObservableError, normalize
from rsn.sharing.models import UNMARKED

Lookup = Callable[[str], dict[str, Any] | None]
Pairs = list[tuple[str, str]]

MAX_OBSERVABLES = 500
DEFAULT_CATEGORY = "cyber.attack"
DEFAULT_CONFIDENCE = 50
EXTENSION_FIELDS = (
    "category", "occurred_at", "country", "location", "sea_area", "severity",
    "source_reliability", "information_credibility", "distribution",
)  # fmt: skip
PLAIN_SCO_KEYS = frozenset({"type", "id", "spec_version", "object_marking_refs", "extensions"})
EPOCH = datetime(1, 1, 1, tzinfo=UTC)


def when(text: Any) -> datetime | None:
    return None if text is None else stix_check.when(str(text))


def modified(obj: dict[str, Any]) -> datetime:
    """An object's version time; objects without one (SCOs, markings) sort first."""
    return when(obj.get("modified")) or EPOCH


def tlp_of(obj: dict[str, Any], lookup: Lookup) -> str | None:
    """The most restrictive TLP among an object's markings, by id or by content."""
    found = None
    for ref in obj.get("object_marking_refs") or []:
        tlp = TLP_OF_MARKING.get(ref) or _tlp_by_content(lookup(ref))
        if tlp and (found is None or TLP_ORDER.index(tlp) > TLP_ORDER.index(found)):
            found = tlp
    return found


def _tlp_by_content(marking: dict[str, Any] | None) -> str | None:
    if marking is None or marking.get("type") != "marking-definition":
        return None
    ext = (marking.get("extensions") or {}).get(TLP2_EXTENSION) or {}
    level = ext.get("tlp_2_0")
    if level is None and marking.get("definition_type") == "tlp":
        level = (marking.get("definition") or {}).get("tlp")
    level = "clear" if level == "white" else level
    return level if level in TLP_ORDER else None


def is_tlp_marking(obj: dict[str, Any]) -> bool:
    return obj["id"] in TLP_OF_MARKING or _tlp_by_content(obj) is not None


def sco_observables(obj: dict[str, Any]) -> Pairs:
    """(RSN type, value) pairs an SCO states, values as given (not yet normalised)."""
    kind = obj["type"]
    if kind == "file":
        pairs = []
        for name, value in (obj.get("hashes") or {}).items():
            rsn = HASHES.get(HASH_ALIASES.get(str(name).upper(), ""))
            if rsn and isinstance(value, str):
                pairs.append((rsn, value))
        return pairs
    return [
        (rsn, obj[prop])
        for (stix_type, prop), rsn in RSN_OF.items()
        if stix_type == kind and isinstance(obj.get(prop), str)
    ]


def accepted(pairs: Iterable[tuple[str, str]]) -> Pairs:
    """The pairs RSN accepts as observables, normalised; the others stay kept objects."""
    found = []
    for kind, value in pairs:
        try:
            found.append((kind, normalize(kind, value)))
        except ObservableError:
            continue
    return found


def is_plain(obj: dict[str, Any], pairs: Pairs) -> bool:
    """An SCO that RSN writes back identically from its one observable (or wrote so before)."""
    if len(pairs) != 1:
        return False
    forms = (sco(*pairs[0]), legacy_sco(*pairs[0]))
    return any(f is not None and f["id"] == obj["id"] and _said(f) == _said(obj) for f in forms)


def _said(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in PLAIN_SCO_KEYS}


def observables_of(objs: Iterable[dict[str, Any]]) -> Pairs:
    """Observables of SCOs and of simple indicator patterns, in order, once each, at most 500."""
    found: dict[tuple[str, str], None] = {}
    for obj in objs:
        if obj["type"] == "indicator" and obj.get("pattern_type") == "stix":
            pairs = observables_in_pattern(str(obj["pattern"]))
        else:
            pairs = sco_observables(obj)
        for pair in accepted(pairs):
            if len(found) < MAX_OBSERVABLES:
                found.setdefault(pair)
    return list(found)


def version(
    where: str, obj: dict[str, Any], ext: dict[str, Any], payload: dict[str, Any]
) -> IncomingVersion:
    """One version of a report: its fields, times and revocation."""
    revoked = bool(obj.get("revoked"))
    reason = ext.get("revoked_reason") or ("Revoked at its source." if revoked else None)
    revoked_at = when(ext.get("revoked_at")) or (when(obj["modified"]) if revoked else None)
    return IncomingVersion(
        report_data(where, payload),
        created=when(obj["created"]),
        modified=when(obj["modified"]),
        revoked=revoked,
        revoked_reason=reason,
        revoked_at=revoked_at,
    )


def ours(
    where: str, obj: dict[str, Any], ext: dict[str, Any], lookup: Lookup
) -> tuple[dict[str, Any], Pairs]:
    """The fields of a report RSN wrote, read back from its extension."""
    at = f"{where}.extensions.{REPORT_EXTENSION}.observable_refs"
    refs = ext.get("observable_refs") or []
    if not isinstance(refs, list):
        raise problem(at, "is not a list of SCO ids.")
    observables = [_observable_of(f"{at}[{k}]", ref, lookup) for k, ref in enumerate(refs)]
    payload: dict[str, Any] = {
        "title": obj["name"],
        "description": obj.get("description", ""),
        "confidence": obj.get("confidence"),
        "tlp": ext.get("tlp") or tlp_of(obj, lookup),
        "observables": [{"type": t, "value": v} for t, v in observables],
    }
    for name in EXTENSION_FIELDS:
        if name in ext:
            payload[name] = ext[name]
    return {k: v for k, v in payload.items() if v is not None}, observables


def _observable_of(where: str, ref: Any, lookup: Lookup) -> tuple[str, str]:
    found = lookup(str(ref))
    if found is None:
        raise problem(where, f"'{ref}' is not an object of this bundle.")
    for kind, value in sco_observables(found):
        if ref in observable_ids(kind, value):
            return kind, value
    raise problem(where, f"'{ref}' is not an SCO holding one RSN observable.")


def theirs(
    where: str, obj: dict[str, Any], context: ImportContext, lookup: Lookup
) -> tuple[dict[str, Any], Pairs]:
    """The fields of a third party's report, from what STIX says and what it references."""
    objs = [o for o in (lookup(r) for r in obj["object_refs"]) if o is not None]
    payload: dict[str, Any] = {
        "title": str(obj.get("name") or obj["id"])[:300],
        "description": str(obj.get("description") or "")[:50_000],
        "category": category(where, obj.get("labels") or [], context),
        "occurred_at": obj.get("published") or obj["created"],
        "severity": "medium",
        "confidence": obj.get("confidence", DEFAULT_CONFIDENCE),
        "tlp": tlp_of(obj, lookup) or UNMARKED,
        **place(f"{where}.object_refs", objs, context),
    }
    observables = observables_of(objs)
    payload["observables"] = [{"type": t, "value": v} for t, v in observables]
    return payload, observables


def category(where: str, labels: list[Any], context: ImportContext) -> str:
    for label in labels:
        if label in context.categories:
            return str(label)
    if DEFAULT_CATEGORY in context.categories:
        return DEFAULT_CATEGORY
    raise problem(
        f"{where}.labels",
        "no label is a category of this node's taxonomy, and there is no "
        f"'{DEFAULT_CATEGORY}' category to fall back on.",
    )


def place(where: str, objs: list[dict[str, Any]], context: ImportContext) -> dict[str, Any]:
    """Country and point from the first referenced locations, else the importer's country."""
    found: dict[str, Any] = {}
    for obj in objs:
        if obj["type"] != "location":
            continue
        if "country" not in found and isinstance(obj.get("country"), str):
            found["country"] = obj["country"].upper()
        if "location" not in found and "latitude" in obj and "longitude" in obj:
            found["location"] = {"lat": obj["latitude"], "lon": obj["longitude"]}
    if "country" not in found:
        if not context.default_country:
            raise problem(
                where,
                "no location with a country is referenced and the importer has no "
                "country to fall back on; give one (--country).",
            )
        found["country"] = context.default_country
    return found
