"""One MISP event read into an incoming RSN report (the mapping is described in `misp`).

Reading happens in two steps: first every tag, attribute and object is sorted
into what it says about the report (`Found`), then the report's fields are
chosen from that, falling back on MISP's own fields and the import context.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pycountry

from rsn import clock
from rsn.interop.misp import terms
from rsn.interop.model import ImportContext, Incoming, IncomingVersion, problem, report_data
from rsn.observables import ObservableError, normalize
from rsn.reports.schemas import ReportCreate
from rsn.sharing.models import UNMARKED

Raw = dict[str, Any]
MAX_OBSERVABLES = next(
    int(m.max_length)
    for m in ReportCreate.model_fields["observables"].metadata
    if hasattr(m, "max_length")
)


@dataclass
class Found:
    """What an event's tags, attributes and objects say, before it becomes a report."""

    tags: dict[str, tuple[str, str]] = field(
        default_factory=dict
    )  # rsn predicate -> (where, value)
    attributes: dict[str, tuple[str, str]] = field(default_factory=dict)  # rsn:field -> (where, v)
    tlps: list[str] = field(default_factory=list)
    distribution: dict[str, list[str]] = field(default_factory=dict)
    observables: list[dict[str, str]] = field(default_factory=list)
    seen: set[tuple[str, str]] = field(default_factory=set)
    location: tuple[str, str, str] | None = None  # (where, latitude, longitude)
    times: list[datetime] = field(default_factory=list)
    breach: bool = False
    kept: list[tuple[str, Any]] = field(default_factory=list)  # (MISP key, part as it came)
    notes: list[str] = field(default_factory=list)  # what was filled in, for the summary

    def observe(self, where: str, kind: str, value: str) -> bool:
        """Add an observable once, refusing a value RSN would not accept for its type.

        False when the report is full: a large MISP event keeps its further values
        as attributes rather than failing the import.
        """
        try:
            normal = normalize(kind, value)
        except ObservableError as exc:
            raise problem(f"{where}.value", str(exc)) from None
        if (kind, normal) in self.seen:
            return True
        if len(self.observables) >= MAX_OBSERVABLES:
            return False
        self.seen.add((kind, normal))
        self.observables.append({"type": kind, "value": normal})
        return True


def read_event(where: str, event: Any, context: ImportContext) -> Incoming:
    if isinstance(event, dict) and isinstance(event.get("Event"), dict):
        event = event["Event"]
    if not isinstance(event, dict):
        raise problem(where, "is not a MISP event (a JSON object is expected).")
    if not isinstance(event.get("info"), str):
        raise problem(f"{where}.info", "is missing; a MISP event's info is the report title.")
    found = Found()
    read_tags(where, event.get("Tag"), found)
    read_attributes(where, _list(where, event, "Attribute"), found)
    read_objects(where, _list(where, event, "Object"), found)
    for key in ("Galaxy", "EventReport"):
        found.kept.extend((key, raw) for raw in _list(where, event, key))
    return _incoming(where, event, found, context)


def _list(where: str, event: Raw, key: str) -> list[Any]:
    value = event.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise problem(f"{where}.{key}", "must be a list.")
    return value


def kept_part(key: str, raw: Any, event_id: str, stamp: str) -> Raw:
    """A MISP part RSN has no field for, as a STIX 2.1 custom object holding it as it came.

    Kept objects travel in other formats too (a STIX export writes them as they
    are), so the wrapper is a well-formed STIX object; a MISP export unwraps it.
    """
    own = raw.get("uuid") if isinstance(raw, dict) else None
    try:
        ident = str(uuid.UUID(str(own)))
    except ValueError:
        ident = terms.stable_uuid(event_id, key, json.dumps(raw, sort_keys=True))
    return {
        "type": terms.KEPT_TYPE,
        "spec_version": "2.1",
        "id": f"{terms.KEPT_TYPE}--{ident}",
        "created": stamp,
        "modified": stamp,
        "x_misp_kind": key,
        "x_misp": raw,
    }


def kept_parts(kept: list[Raw]) -> dict[str, list[Any]]:
    """The MISP parts among an item's kept objects, by the event key they go under."""
    parts: dict[str, list[Any]] = {key: [] for key in terms.KEPT_KEYS}
    for obj in kept:
        if obj.get("type") == terms.KEPT_TYPE and obj.get("x_misp_kind") in parts:
            parts[str(obj["x_misp_kind"])].append(obj["x_misp"])
    return parts


# --- tags ------------------------------------------------------------------------


def read_tags(where: str, tags: Any, found: Found) -> None:
    for k, raw in enumerate(tags or []):
        at = f"{where}.Tag[{k}]"
        name = raw.get("name") if isinstance(raw, dict) else None
        if not isinstance(name, str):
            raise problem(f"{at}.name", "is missing; a MISP tag is an object with a name.")
        if name.strip().lower() in terms.TLP_FROM_TAG:
            found.tlps.append(terms.TLP_FROM_TAG[name.strip().lower()])
        elif not _read_machine_tag(at, name, found):
            found.kept.append(("Tag", raw))


def _read_machine_tag(at: str, name: str, found: Found) -> bool:
    """Take in a tag RSN understands; False leaves it to be kept as it came."""
    parts = terms.machine_tag(name)
    if parts is None or parts[2] is None:
        return False
    namespace, predicate, value = parts[0], parts[1], parts[2]
    if namespace in ("ecsirt", "rsit") and predicate == "information-content-security":
        found.breach = True
    if namespace == "rsn":
        return _read_rsn_tag(at, predicate, value, found)
    if namespace == "admiralty-scale" and predicate == "source-reliability":
        found.tags.setdefault("source-reliability", (at, value[:1].upper()))
        return True
    if namespace == "admiralty-scale" and predicate == "information-credibility":
        found.tags.setdefault("information-credibility", (at, value[:1]))
        return True
    if namespace == "misp" and predicate == "confidence-level" and value in terms.CONFIDENCE_LEVEL:
        found.tags.setdefault("confidence-level", (at, value))
        return True
    if namespace == "misp-galaxy" and predicate == "country":
        return _read_country(at, value, found)
    return False


def _read_rsn_tag(at: str, predicate: str, value: str, found: Found) -> bool:
    names = {tag: key for key, tag in terms.DISTRIBUTION_TAGS.items()}
    if predicate in names:
        found.distribution.setdefault(names[predicate], []).append(value)
        return True
    if predicate in ("category", "country", "sea-area", "severity", "confidence", "revoked"):
        found.tags.setdefault(predicate, (at, value))
        return True
    return predicate == terms.SEAL_PREDICATE  # read in `_seals`, never kept


def _read_country(at: str, value: str, found: Found) -> bool:
    """MISP's country galaxy names countries in English; an unknown name is kept, not guessed."""
    try:
        country = pycountry.countries.lookup(value)
    except LookupError:
        return False
    found.tags.setdefault("galaxy-country", (at, str(country.alpha_2)))
    return True


# --- attributes and objects ------------------------------------------------------------


def read_attributes(where: str, attributes: list[Any], found: Found) -> None:
    for j, attr in enumerate(attributes):
        at = f"{where}.Attribute[{j}]"
        misp_type, value = _typed_value(at, attr)
        if _deleted(attr):
            continue
        _note_time(attr, found)
        rsn = _rsn_tags(attr)
        if rsn.get("field") in terms.FIELD_ATTRIBUTES:
            found.attributes.setdefault(rsn["field"], (f"{at}.value", value))
        elif not _map_attribute(at, misp_type, value, rsn.get("observable"), found):
            found.kept.append(("Attribute", attr))


def read_objects(where: str, objects: list[Any], found: Found) -> None:
    """Objects are kept whole, their structure having no place in a report; the values
    inside them RSN knows still become observables, and a geolocation gives the place."""
    for k, obj in enumerate(objects):
        at = f"{where}.Object[{k}]"
        if not isinstance(obj, dict):
            raise problem(at, "is not a MISP object (a JSON object is expected).")
        name = obj.get("name")
        relations: dict[str, str] = {}
        for j, attr in enumerate(_list(at, obj, "Attribute")):
            attr_at = f"{at}.Attribute[{j}]"
            misp_type, value = _typed_value(attr_at, attr)
            if _deleted(attr):
                continue
            relation = str(attr.get("object_relation") or "")
            relations.setdefault(relation, value)
            named = terms.OBJECT_TEXT.get((str(name), relation))
            if named is not None:
                found.observe(attr_at, named, value)
            else:
                _map_attribute(attr_at, misp_type, value, None, found)
        if not _located(at, name, relations, found):
            found.kept.append(("Object", obj))


def _located(at: str, name: Any, relations: dict[str, str], found: Found) -> bool:
    """True when this object was only a point, now the report's location."""
    if name != "geolocation" or found.location is not None:
        return False
    if "latitude" not in relations or "longitude" not in relations:
        return False
    found.location = (at, relations["latitude"], relations["longitude"])
    return set(relations) <= {"latitude", "longitude"}


def _typed_value(at: str, attr: Any) -> tuple[str, str]:
    if not isinstance(attr, dict):
        raise problem(at, "is not a MISP attribute (a JSON object is expected).")
    misp_type = attr.get("type")
    if not isinstance(misp_type, str) or not misp_type:
        raise problem(f"{at}.type", "is missing; every MISP attribute has a type.")
    if misp_type not in terms.known_types():
        raise problem(f"{at}.type", f"{misp_type!r} is not a MISP attribute type.")
    value = attr.get("value")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise problem(f"{at}.value", "is missing; every MISP attribute has a value.")
    return misp_type, str(value)


def _deleted(attr: Raw) -> bool:
    """MISP deletes softly: a deleted attribute travels with the event, flagged."""
    return attr.get("deleted") in (True, 1, "1", "true")


def _note_time(attr: Raw, found: Found) -> None:
    stamp = attr.get("timestamp")
    if isinstance(stamp, str | int) and str(stamp).isdigit():
        found.times.append(datetime.fromtimestamp(int(stamp), UTC))


def _rsn_tags(attr: Raw) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in attr.get("Tag") or []:
        parts = terms.machine_tag(str(raw.get("name", ""))) if isinstance(raw, dict) else None
        if parts and parts[0] == "rsn" and parts[2] is not None:
            out.setdefault(parts[1], parts[2])
    return out


def _map_attribute(at: str, misp_type: str, value: str, named: str | None, found: Found) -> bool:
    """Observables from one attribute; False when something of it has no place in RSN.

    A composite (`filename|md5`) gives the parts RSN knows but is kept as well,
    since the pairing (and the other part) would be lost otherwise.
    """
    if named is not None:
        return found.observe(at, named, value)
    if "|" not in misp_type:
        kind = terms.observable_type(misp_type, value)
        return kind is not None and found.observe(at, kind, value)
    parts = misp_type.split("|")
    values = value.split("|", len(parts) - 1)
    if len(values) != len(parts):
        raise problem(f"{at}.value", f"{value!r} is not a {misp_type} value (parts split by '|').")
    for part, piece in zip(parts, values, strict=True):
        kind = terms.observable_type(terms.COMPOSITE_PART.get(part, part), piece)
        if kind is not None:
            found.observe(at, kind, piece)
    return False


# --- the report ------------------------------------------------------------------


def _incoming(where: str, event: Raw, found: Found, context: ImportContext) -> Incoming:
    modified = _timestamp(where, event)
    times = found.times + ([modified] if modified else [])
    version = IncomingVersion(
        data=report_data(where, _payload(where, event, found, context)),
        created=min(times) if modified else None,
        modified=modified,
        revoked="revoked" in found.tags,
        revoked_reason=_revoked_reason(found),
        revoked_at=_when(found.attributes.get("revoked-at")),
    )
    org = event.get("Orgc") or event.get("Org") or {}
    org = org if isinstance(org, dict) else {}
    ident = event.get("uuid") if isinstance(event.get("uuid"), str) else None
    return Incoming(
        source=str(org.get("uuid") or org.get("name") or "misp"),
        external_id=ident,
        where=where,
        versions=[version],
        source_identity=str(org["name"]) if org.get("name") else None,
        preferred_id=_canonical_uuid(ident),
        kept=[
            kept_part(k, raw, str(ident or where), _stix_time(modified)) for k, raw in found.kept
        ],
        notes=found.notes,
    )


def _payload(where: str, event: Raw, found: Found, context: ImportContext) -> dict[str, Any]:
    tags = {key: value for key, (_, value) in found.tags.items()}
    tlp = max(found.tlps, key=terms.TLP_STRICTNESS.index) if found.tlps else UNMARKED
    payload: dict[str, Any] = {
        "title": event["info"],
        "category": _category(where, found, context),
        "description": found.attributes.get("description", ("", ""))[1],
        "occurred_at": _occurred_at(where, event, found),
        "country": _country(where, tags, context),
        "location": _location(found),
        "sea_area": tags.get("sea-area"),
        "severity": tags.get("severity") or _severity(where, event),
        "confidence": _confidence(found),
        "tlp": tlp,
        "distribution": found.distribution if found.tlps else {},
        "observables": found.observables,
    }
    for key in ("source-reliability", "information-credibility"):
        if key in tags:
            payload[key.replace("-", "_")] = tags[key]
    return payload


def _category(where: str, found: Found, context: ImportContext) -> str:
    """The event's rsn:category, or its nearest parent this node knows; else a cyber guess."""
    at, wanted = found.tags.get(
        "category", (where, "cyber.breach" if found.breach else "cyber.attack")
    )
    parts = wanted.split(".")
    for size in range(len(parts), 0, -1):
        candidate = ".".join(parts[:size])
        if candidate in context.categories:
            return candidate
    if at == where:
        raise problem(where, f"has no rsn:category tag, and this node has no {wanted!r} category.")
    raise problem(f"{at}.name", f"{wanted!r} is not a category of this node, nor below one.")


def _country(where: str, tags: dict[str, str], context: ImportContext) -> str:
    country = tags.get("country") or tags.get("galaxy-country") or context.default_country
    if not country:
        raise problem(
            where,
            "names no country (no rsn:country or misp-galaxy:country tag) and the import "
            "gives none: import it as a member state's user, or name the country.",
        )
    return country


def _occurred_at(where: str, event: Raw, found: Found) -> str:
    if "occurred-at" in found.attributes:
        return found.attributes["occurred-at"][1]
    day = event.get("date")
    if day is None:
        day = _filled_date(where, event, found)
    if not isinstance(day, str):
        raise problem(f"{where}.date", f"{day!r} is not a date (YYYY-MM-DD).")
    try:
        return date.fromisoformat(day.strip()).isoformat() + "T00:00:00Z"
    except ValueError:
        raise problem(f"{where}.date", f"{day!r} is not a date (YYYY-MM-DD).") from None


def _filled_date(where: str, event: Raw, found: Found) -> str:
    """The day MISP itself would give an event without a date, noted for the summary.

    MISP dates such an event the day it is added: here the day of its last
    change or publication when it says, else the day of the import.
    """
    for key in ("timestamp", "publish_timestamp"):
        moment = _epoch_field(where, event, key)
        if moment is not None and moment.timestamp() > 0:  # 0: MISP's "never published"
            day = moment.date().isoformat()
            found.notes.append(f"{where}.date: missing; taken from {key} ({day}).")
            return day
    day = clock.today().isoformat()
    found.notes.append(f"{where}.date: missing; taken as the day of the import ({day}).")
    return day


def _location(found: Found) -> dict[str, float] | None:
    if found.location is None:
        return None
    at, lat, lon = found.location
    try:
        return {"lat": float(lat), "lon": float(lon)}
    except ValueError:
        raise problem(at, f"latitude {lat!r} and longitude {lon!r} must be numbers.") from None


def _severity(where: str, event: Raw) -> str:
    level = event.get("threat_level_id", 4)
    if str(level).strip() not in ("1", "2", "3", "4"):
        raise problem(f"{where}.threat_level_id", f"{level!r} is not a MISP threat level (1-4).")
    return terms.SEVERITY[int(level)]


def _confidence(found: Found) -> int:
    if "confidence" in found.tags:
        at, value = found.tags["confidence"]
        if not value.strip().isdigit():
            raise problem(f"{at}.name", f"rsn:confidence {value!r} is not a whole number 0-100.")
        return int(value)
    if "confidence-level" in found.tags:
        return terms.CONFIDENCE_LEVEL[found.tags["confidence-level"][1]]
    return terms.DEFAULT_CONFIDENCE


def _timestamp(where: str, event: Raw) -> datetime | None:
    return _epoch_field(where, event, "timestamp")


def _epoch_field(where: str, event: Raw, key: str) -> datetime | None:
    stamp = event.get(key)
    if stamp is None:
        return None
    if not str(stamp).strip().isdigit():
        raise problem(f"{where}.{key}", f"{stamp!r} is not a Unix time in seconds.")
    return datetime.fromtimestamp(int(stamp), UTC)


def _when(found: tuple[str, str] | None) -> datetime | None:
    if found is None:
        return None
    at, value = found
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise problem(at, f"{value!r} is not a date and time (ISO 8601).") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _revoked_reason(found: Found) -> str | None:
    if "revoked" not in found.tags:
        return None
    reason = found.attributes.get("revoked-reason")
    return reason[1] if reason else "Revoked at its source, which gave no reason."


def _canonical_uuid(value: str | None) -> str | None:
    """The event uuid as a local report id, when it is one (an RSN export's always is)."""
    try:
        return str(uuid.UUID(value)) if value else None
    except ValueError:
        return None


def in_kept(kept: list[Raw]) -> tuple[set[tuple[str, str]], dict[str, float] | None]:
    """The observables and the point an import took from parts it also kept (composites,
    objects), so an export that puts those parts back does not write them twice."""
    found = Found()
    parts = kept_parts(kept)
    read_attributes("kept", parts["Attribute"], found)
    read_objects("kept", parts["Object"], found)
    return found.seen, _location(found)


def _stix_time(moment: datetime | None) -> str:
    """Kept parts carry the event's time (the Unix epoch when it gives none)."""
    moment = moment or datetime.fromtimestamp(0, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
