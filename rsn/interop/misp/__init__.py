"""MISP event JSON: RSN reports out as MISP events, MISP events in as reports.

MISP is what most CSIRTs of the region already run, so a report should land in
MISP as an ordinary event a MISP user can read, filter and correlate, and come
back to RSN with every field it left with. Ordinary MISP parts (attribute
types, the `tlp`, `admiralty-scale` and `misp` taxonomies, the `geolocation`
object) carry what MISP has words for; the rest rides in `rsn:` machine tags and
in attributes tagged `rsn:field`, which MISP shows and keeps like any other.

One report is one event. A file is `{"response": [{"Event": {...}}, ...]}`, the
form MISP's own JSON export writes and its import, PyMISP and misp-stix read.
The import also takes a single `{"Event": {...}}`, a bare event, or a list.

Report -> event:

    report id            Event.uuid (the id is a UUID; kept as the local id on import)
    title                info
    occurred_at          date (the day), plus a `datetime` attribute tagged
                         rsn:field="occurred-at" (the time MISP has no field for)
    modified             timestamp and publish_timestamp (seconds; published)
    description          a `text` attribute tagged rsn:field="description"
    severity             threat_level_id (critical and high 1, medium 2, low 3)
                         and rsn:severity="critical|high|medium|low"
    category             rsn:category="<taxonomy id>"
    country, sea_area    rsn:country="BD", rsn:sea-area="..."
    confidence           rsn:confidence="0..100"
    grading              admiralty-scale:source-reliability="a".."f",
                         admiralty-scale:information-credibility="1".."6"
    location             a `geolocation` object (latitude, longitude)
    tlp                  tlp:clear, tlp:green, tlp:amber, tlp:amber+strict, tlp:red
    distribution         rsn:distribution-member-state / -organization /
                         -sharing-group / -user="<code, slug or username>"
    originator           Orgc and Org: its name, and a uuid5 of its slug
    revoked              rsn:revoked="true", with the reason and time in `text` and
                         `datetime` attributes tagged rsn:field="revoked-reason" /
                         "revoked-at" (MISP has no revocation of its own)
    analysis             always 2 (completed): a filed report is a finished analysis
    (file exports)       rsn:node-mac="<version>:<MAC>", the node's MAC over the
                         event (without this tag) by which it knows its own
                         export again (`rsn.interop.provenance`)

TLP -> MISP distribution level, which decides how far MISP syncs the event on:

    clear                3  all communities (public: no limit on onward sharing)
    green                2  connected communities (the community and its direct peers)
    amber                1  this community only (the receiving instance; the named
                            states, organizations and groups ride in rsn: tags, as
                            MISP sharing groups would have to exist on the far side)
    amber+strict, red    0  your organisation only

Observables -> attributes (category: MISP's default for the type; hashes are
"Payload delivery"):

    ipv4-addr, ipv6-addr  ip-dst. RSN does not say which end of a connection an
                          address was; ip-dst is MISP's type for an address to
                          watch for, and what its IDS exports match as the far end
    domain-name, url      domain, url
    email-addr            email (no direction either, so not email-src/email-dst)
    file-md5/sha1/sha256  md5, sha1, sha256
    phone-number          phone-number
    bank-account          iban; a national `CC:account` number is `text`, since
                          MISP's bank-account-nr is digits only, with no country
    crypto-wallet         btc; an Ethereum address is `text` (MISP has no type)
    person-name           full-name
    group-name            threat-actor
    vessel-imo, vessel-mmsi, vehicle-plate
                          `text` with a comment saying what it is

Every `text` observable also carries rsn:observable="<type>", which is how the
import tells it from free text.

Event -> report, for events from anywhere: the fields above where present;
otherwise the category is cyber.attack (cyber.breach for an event tagged as an
information-content-security incident), or the nearest parent this node knows;
the country comes from a misp-galaxy:country tag or the importer's member
state; occurred_at is the event's date at 00:00 UTC; severity comes from the
threat level (undefined: medium); confidence from misp:confidence-level, else
50, the middle of the scale. No TLP tag means amber+strict to the importing
organization only; several mean the strictest. `source` is the Orgc uuid (else
its name), `external_id` the event uuid, `source_identity` the Orgc name. An
event is one version, modified at its timestamp and created at the oldest
timestamp it carries; copies of one event in a row (a history) are its versions.

Attributes of types RSN has no observable for (filename, link, comment, a CIDR
network, bank-account-nr, xmr, ...), values beyond the 500 observables a report
holds, composites (their known parts also become observables), objects (their
known values too; vehicle and ftm-Vessel objects give plates, IMO numbers and
MMSIs), galaxies, event reports and other tags are kept as they came, each
wrapped in an `x-misp-part` STIX custom object (so a STIX export of the report
stays valid STIX), and written back into the event on a MISP export, without
writing twice what the report took from them. A type MISP does not define, or a value RSN
refuses for its type, stops the import with the attribute named; so does JSON
that does not parse, naming the event being read. Lost on the way in: the tags,
comments and `to_ids` flags of mapped attributes, soft-deleted attributes,
sightings and proposals. Only the current version of a report is exported; its
`modified` loses its milliseconds (MISP keeps seconds).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import chain
from typing import IO, Any

import ijson

from rsn.interop import limits, provenance
from rsn.interop.limits import Event
from rsn.interop.misp import terms
from rsn.interop.misp.event import in_kept, kept_parts, read_event
from rsn.interop.model import (
    ExportContext,
    ExportItem,
    ImportContext,
    Incoming,
    Seal,
    Sealer,
    problem,
)

Raw = dict[str, Any]

# --- reading -------------------------------------------------------------------

_WRAPPED = re.compile(rb'\A\s*(?:\[\s*)?\{\s*"(?:Event|response)"\s*:')
_OPEN = re.compile(rb"\A\s*(?:\[\s*)?\{")
_EVENT_KEYS = (b'"threat_level_id"', b'"Orgc"', b'"Attribute"')


def sniff(head: bytes) -> bool:
    """MISP JSON opens with an Event or response key, or is a bare event with MISP's keys."""
    if _WRAPPED.match(head):
        return True
    return bool(_OPEN.match(head)) and b'"info"' in head and any(k in head for k in _EVENT_KEYS)


def parse(stream: IO[bytes], context: ImportContext) -> Iterator[Incoming]:
    """Events one at a time, so a file of many thousands never sits in memory whole."""
    start = stream.read(_CHUNK)
    if not start.strip():
        raise problem("file", "is empty; MISP events are JSON.")
    index = -1
    pending: Incoming | None = None
    try:
        for index, event in _events(limits.events(_Rejoined(start, stream))):
            limits.check_count(index, "Event")
            incoming = read_event(f"Event[{index}]", event, context)
            incoming.seals = _seals(event.get("Event", event))
            if pending is not None and _same(pending, incoming):
                _add_versions(pending, incoming)
                continue
            if pending is not None:
                yield pending
            pending = incoming
    except ijson.JSONError as exc:
        raise problem(f"Event[{index + 1}]", f"is not valid JSON: {_json_error(exc)}") from None
    if pending is not None:
        yield pending


def _seals(event: Raw) -> list[Seal]:
    """The node's seal on an event RSN exported: over the event without the seal's tag.

    Tags were checked by `read_event`; an event with two seal tags has none.
    """
    tags = event.get("Tag") or []
    marks = [(t, value) for t in tags if (value := _seal_value(t["name"])) is not None]
    if len(marks) != 1:
        return []
    mark, value = marks[0]
    version, _, mac = value.partition(":")
    unsealed = {**event, "Tag": [t for t in tags if t is not mark]}
    number = int(version) if version.isdigit() and len(version) < 10 else None
    found = provenance.read_seal(number, provenance.digest(unsealed), mac)
    return [] if found is None else [found]


def _seal_value(name: str) -> str | None:
    parts = terms.machine_tag(name)
    if parts is None or parts[:2] != ("rsn", terms.SEAL_PREDICATE):
        return None
    return parts[2]


def _same(one: Incoming, other: Incoming) -> bool:
    """The same event twice in a row: a history, each copy as it was at its timestamp."""
    return one.external_id is not None and (one.source, one.external_id) == (
        other.source,
        other.external_id,
    )


def _add_versions(into: Incoming, other: Incoming) -> None:
    """One version per timestamp, oldest first; parts kept are those of the newest copy."""
    known = {v.modified for v in into.versions}
    into.versions.extend(v for v in other.versions if v.modified not in known)
    into.versions.sort(key=lambda v: v.modified or datetime.min.replace(tzinfo=UTC))
    if into.versions[-1] in other.versions:
        into.kept = other.kept


def _json_error(exc: Exception) -> str:
    """yajl's message is a reason, then the text around the error, then a caret line."""
    text = exc.args[0] if exc.args else str(exc)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    if len(lines) >= 3:
        return f"{lines[0]}, near {lines[1]!r}"
    return lines[0] if lines else "the file ends early"


_CHUNK = 64 * 1024


class _Rejoined:
    """The stream again from its start, after its first bytes were read to check it."""

    def __init__(self, start: bytes, rest: IO[bytes]) -> None:
        self.start = start
        self.rest = rest

    def read(self, size: int = -1) -> bytes:
        if not self.start or size == 0:  # ijson reads 0 bytes to learn bytes from text
            return self.rest.read(size)
        chunk, self.start = self.start, b""
        return chunk


def _events(tokens: Iterator[Event]) -> Iterator[tuple[int, Any]]:
    kind = next(tokens)[0]
    if kind == "start_array":
        yield from enumerate(_items(tokens))
    elif kind == "start_map":
        yield from _from_object(tokens)
    else:
        raise problem("file", "holds a single JSON value, not MISP events.")
    for _ in tokens:  # what follows must still be well-formed JSON
        pass


def _from_object(tokens: Iterator[Event]) -> Iterator[tuple[int, Any]]:
    kind, key = next(tokens)
    if kind == "end_map":
        raise problem("file", "is an empty JSON object, not MISP events.")
    if key == "response":
        if next(tokens)[0] != "start_array":
            raise problem("response", "must be a list of MISP events.")
        yield from enumerate(_items(tokens))
    elif key == "Event":
        yield 0, limits.build(tokens, next(tokens))
    else:
        yield 0, _build(tokens, [("start_map", None), ("map_key", key)])


def _items(tokens: Iterator[Event]) -> Iterator[Any]:
    for event in tokens:
        if event[0] == "end_array":
            return
        yield limits.build(tokens, event)


def _build(tokens: Iterator[Event], opening: list[Event]) -> Any:
    """One JSON value from the token stream, starting with the tokens already read."""
    return limits.build(chain(opening[1:], tokens), opening[0])


# --- writing -------------------------------------------------------------------


def export(items: Iterable[ExportItem], out: IO[bytes], context: ExportContext) -> int:
    """Events written as they come, so an export of the whole node streams."""
    count = 0
    out.write(b'{"response": [')
    for item in items:
        out.write(b"\n" if count == 0 else b",\n")
        body = event(item, seal=context.seal)
        out.write(json.dumps({"Event": body}, ensure_ascii=False).encode("utf-8"))
        count += 1
    out.write(b"\n]}\n")
    return count


def event(item: ExportItem, *, seal: Sealer | None = None) -> Raw:
    """The MISP event for the current version of a report, sealed as the node's own if asked."""
    snap = item.current
    ident = _event_uuid(item.report_id)
    stamp = str(_epoch(snap["modified"]))
    org = {
        "name": item.originator.organization_name or item.originator.organization,
        "uuid": terms.organization_uuid(item.originator.organization),
    }
    kept = kept_parts(item.kept)
    seen, point = in_kept(item.kept)
    body: Raw = {
        "uuid": ident,
        "info": snap["title"],
        "date": _parse_time(snap["occurred_at"]).date().isoformat(),
        "timestamp": stamp,
        "publish_timestamp": stamp,
        "published": True,
        "threat_level_id": str(terms.THREAT_LEVEL[snap["severity"]]),
        "analysis": "2",
        "distribution": str(terms.DISTRIBUTION[snap["tlp"]]),
        "Orgc": org,
        "Org": org,
        "Tag": _tags(snap) + kept["Tag"],
        "Attribute": _attributes(ident, stamp, snap, seen) + kept["Attribute"],
        "Object": _location(ident, stamp, snap.get("location"), point) + kept["Object"],
    }
    for key in ("Galaxy", "EventReport"):
        if kept[key]:
            body[key] = kept[key]
    if seal is not None:
        _seal(body, item, seal)
    return body


def _seal(body: Raw, item: ExportItem, seal: Sealer) -> None:
    """The node's MAC over the whole event, as a last `rsn:node-mac="<version>:<mac>"` tag."""
    found = provenance.digest(body)
    if found is not None:
        version = item.versions[-1].version
        mac = seal(item.report_id, version, found)
        body["Tag"].append(terms.rsn_tag(terms.SEAL_PREDICATE, f"{version}:{mac}"))


def _tags(snap: Any) -> list[dict[str, str]]:
    tags = [
        {"name": terms.TLP_TAG[snap["tlp"]]},
        terms.rsn_tag("category", snap["category"]),
        terms.rsn_tag("country", snap["country"]),
        terms.rsn_tag("severity", snap["severity"]),
        terms.rsn_tag("confidence", snap["confidence"]),
        terms.tag("admiralty-scale", "source-reliability", snap["source_reliability"].lower()),
        terms.tag("admiralty-scale", "information-credibility", snap["information_credibility"]),
    ]
    if snap.get("sea_area"):
        tags.append(terms.rsn_tag("sea-area", snap["sea_area"]))
    distribution = snap.get("distribution") or {}
    for key, predicate in terms.DISTRIBUTION_TAGS.items():
        tags.extend(terms.rsn_tag(predicate, name) for name in distribution.get(key, []))
    if snap.get("revoked"):
        tags.append(terms.rsn_tag("revoked", "true"))
    return tags


def _attributes(ident: str, stamp: str, snap: Any, seen: set[tuple[str, str]]) -> list[Raw]:
    fields = [("occurred-at", _rfc3339(snap["occurred_at"]))]
    if snap.get("description"):
        fields.insert(0, ("description", snap["description"]))
    if snap.get("revoked"):
        fields.append(("revoked-reason", snap.get("revoked_reason") or ""))
        if snap.get("revoked_at"):
            fields.append(("revoked-at", _rfc3339(snap["revoked_at"])))
    out = [_field_attribute(ident, stamp, name, value) for name, value in fields if value]
    for obs in snap.get("observables") or []:
        if (obs["type"], obs["value"]) not in seen:
            out.append(_observable_attribute(ident, stamp, obs["type"], obs["value"]))
    return out


def _field_attribute(ident: str, stamp: str, name: str, value: str) -> Raw:
    misp_type, category, comment = terms.FIELD_ATTRIBUTES[name]
    attribute = _attribute(ident, stamp, misp_type, value, category=category, comment=comment)
    attribute["disable_correlation"] = True
    attribute["Tag"] = [terms.rsn_tag("field", name)]
    return attribute


def _observable_attribute(ident: str, stamp: str, kind: str, value: str) -> Raw:
    misp_type = terms.attribute_type(kind, value)
    comment = terms.TEXT_OBSERVABLES.get(kind, "") if misp_type == "text" else ""
    attribute = _attribute(ident, stamp, misp_type, value, comment=comment)
    if misp_type == "text":
        attribute["Tag"] = [terms.rsn_tag("observable", kind)]
    return attribute


def _attribute(
    ident: str,
    stamp: str,
    misp_type: str,
    value: str,
    *,
    category: str | None = None,
    comment: str = "",
    relation: str | None = None,
) -> Raw:
    attribute: Raw = {
        "uuid": terms.stable_uuid(ident, relation or "", misp_type, value),
        "type": misp_type,
        "category": category or terms.default_category(misp_type),
        "value": value,
        "to_ids": terms.to_ids(misp_type),
        "distribution": "5",  # as the event
        "timestamp": stamp,
        "comment": comment,
        "disable_correlation": False,
    }
    if relation is not None:
        attribute["object_relation"] = relation
    return attribute


def _location(ident: str, stamp: str, location: Any, kept: dict[str, float] | None) -> list[Raw]:
    """A geolocation object for the report's point, unless a kept one already holds it."""
    if not location or location == kept:
        return []
    template = terms.object_template("geolocation")
    points = [("latitude", location["lat"]), ("longitude", location["lon"])]
    return [
        {
            "uuid": terms.stable_uuid(ident, "geolocation"),
            "name": "geolocation",
            "meta-category": template["meta-category"],
            "description": template["description"],
            "template_uuid": template["uuid"],
            "template_version": str(template["version"]),
            "timestamp": stamp,
            "distribution": "5",
            "sharing_group_id": "0",
            "comment": "",
            "deleted": False,
            "Attribute": [
                _attribute(ident, stamp, "float", repr(float(v)), category="Other", relation=r)
                for r, v in points
            ],
        }
    ]


def _event_uuid(report_id: str) -> str:
    """RSN report ids are UUIDs; anything else gets a stable one derived from it."""
    try:
        return str(uuid.UUID(report_id))
    except ValueError:
        return terms.stable_uuid("report", report_id)


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _epoch(value: str) -> int:
    return int(_parse_time(value).timestamp())


def _rfc3339(value: str) -> str:
    """Snapshots already hold UTC with a Z; the round trip through datetime checks it."""
    moment = _parse_time(value)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
