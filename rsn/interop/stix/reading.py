"""Reading STIX 2.1 into `Incoming` reports: RSN's own bundles exactly, others as well as they map.

The file is streamed (`limits.items_of`, bounded), never loaded whole; each
object is checked as it arrives (`rsn.interop.stix.check`) and errors name it as
`objects[i].<property>`. Every object is read and checked before the first
report is handed on (reports then go one at a time, so the store can take
them in batches), and the store is one transaction, so a bad object anywhere
stores nothing. Objects are held compactly (shared keys and repeated values)
until every reference is known: a 100,000-object bundle takes about 170 MB.

Each `report` id becomes one `Incoming`: its object versions sorted by
`modified` (one version per distinct `modified`), source = its
`created_by_ref` (else "stix:unattributed"), external_id = the STIX id,
preferred_id = the UUID of the id (the id a sealed export of this node keeps).

- A version carrying RSN's report extension is read from it field for field;
  observables come from `observable_refs` in order. Its originator identity,
  location, SCOs, indicators and relationships are recognised as derived (by
  their ids, which are a function of the report) and not kept; anything else it
  references is kept. source_identity = the extension's `source_identity` (a
  report that was itself imported keeps naming its first source), else the
  name of its creator identity (the originating organization), so the importer
  is recorded apart as the local submitter.
- A third-party version maps name -> title, description, published ->
  occurred_at, confidence (absent: 50), labels -> category (the first label that
  is a category of this node; else `cyber.attack`, STIX being cyber threat
  intelligence), severity medium, grading F/6 (cannot be judged), the TLP
  marking (TLP 2.0 or 1.0 ids, or a TLP marking-definition by content; the
  most restrictive wins; none -> amber+strict with an empty distribution, that
  is the importing organization only), country and point from the first
  referenced `location` (else the importer's country, else an error naming
  the report), observables from referenced SCOs and from indicator patterns
  made only of ORed equalities, in reference order, values RSN cannot accept
  left out, at most 500. revoked -> revoked, with "Revoked at its source." and
  `modified` as reason and time. source_identity = the creator identity's name.
  Everything it references (and what those reference, one step on, plus
  relationships and sightings touching them) is kept as it came, except SCOs
  that RSN writes back identically. The report object's own properties RSN
  has no field for (report_types, external_references, lang, granular
  markings) are not kept: a report is written back as RSN's.
- Objects no report holds (a feed of loose indicators, malware, SCOs) are
  grouped by (created_by_ref, TLP) into one report each, titled "Imported STIX
  objects from <creator>", mapped as above and kept; its external id is a hash
  of (creator, TLP), so the same feed imported again updates that report.
- TLP marking definitions, RSN's own identity and extension definitions, and the
  originator identities of RSN reports are consumed, not kept: RSN writes them.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

import ijson

from rsn import clock
from rsn.interop import limits, provenance
from rsn.interop.model import ImportContext, Incoming, IncomingVersion, Seal, problem, report_data
from rsn.interop.stix import check as stix_check
from rsn.interop.stix import mapping as stix_map
from rsn.interop.stix.ext import (
    LEGACY_SCO_EXTENSIONS,
    NEW_SCO_EXTENSIONS,
    READ_SCO_TYPES,
    REPORT_EXTENSION,
    RSN_IDENTITY_ID,
    SEAL_PROPERTY,
    TLP2_EXTENSION,
    derived_ids,
    rsn_id,
)
from rsn.interop.stix.mapping import Pairs, modified, tlp_of, when
from rsn.sharing.models import UNMARKED

UNATTRIBUTED = "stix:unattributed"
SOURCE_MAX = 200  # the length of a report's source_identity
SHARED_VALUES = frozenset(
    {
        "type", "spec_version", "created", "modified", "valid_from", "published",
        "created_by_ref", "pattern_type", "pattern_version", "country",
    }
)  # fmt: skip
SHARED_LISTS = frozenset({"object_marking_refs", "indicator_types", "labels", "report_types"})
SRO_ENDS = {"relationship": ("source_ref", "target_ref"), "sighting": ("sighting_of_ref",)}
_OURS = (
    frozenset({RSN_IDENTITY_ID, *NEW_SCO_EXTENSIONS.values(), REPORT_EXTENSION, TLP2_EXTENSION})
    | LEGACY_SCO_EXTENSIONS
)


def parse(stream: IO[bytes], context: ImportContext) -> Iterator[Incoming]:
    """Incoming reports of a bundle file (or a TAXII envelope saved to a file)."""
    return parse_objects(_objects(stream), context, where="objects", empty_is_error=True)


def _refs(obj: dict[str, Any], skip: tuple[str, ...] = ()) -> Iterator[str]:
    """The ids an object names: its `*_ref(s)` and the extension definitions it uses."""
    yield from stix_check.refs_of(obj, skip)
    yield from (k for k in obj.get("extensions") or () if k.startswith("extension-definition--"))


class _Head:
    """A stream that remembers its first bytes, to tell where a JSON error happened."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.head = b""

    def read(self, size: int = -1) -> bytes:
        chunk = self.raw.read(size)
        if len(self.head) < 4096:
            self.head += chunk[:4096]
        return chunk


def _objects(stream: IO[bytes]) -> Iterator[dict[str, Any]]:
    count = 0
    source = _Head(stream)
    try:
        for obj in limits.items_of(limits.events(source), "objects", where="objects"):
            yield obj
            count += 1
    except ijson.JSONError as exc:
        inside = count or re.search(rb'"objects"\s*:\s*\[', source.head)
        where = f"objects[{count}]" if inside else "file"
        raise problem(where, f"is not valid JSON ({exc}).") from None
    except UnicodeDecodeError as exc:
        raise problem("file", f"is not UTF-8 text ({exc.reason}).") from None


def parse_objects(
    objects: Iterable[dict[str, Any]],
    context: ImportContext,
    *,
    where: str = "objects",
    empty_is_error: bool = False,
) -> Iterator[Incoming]:
    """Incoming reports of STIX objects from any source (a bundle, TAXII envelopes)."""
    bundle = Bundle(where)
    for obj in objects:
        bundle.add(obj)
    if empty_is_error and not bundle.versions:
        raise problem("file", "holds no STIX objects (expected a bundle with an 'objects' list).")
    return Reader(bundle, context).incoming()


@dataclass
class Bundle:
    """Every object read, checked, by id (versions in file order) and first appearance."""

    where: str
    versions: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    count: int = 0
    shared: dict[str, str] = field(default_factory=dict)

    def add(self, obj: Any) -> None:
        at = f"{self.where}[{self.count}]"
        stix_check.check(obj, at)
        self.versions.setdefault(obj["id"], []).append((self.count, self._compact(obj)))
        self.count += 1

    def _compact(self, obj: dict[str, Any]) -> dict[str, Any]:
        """The same object holding one copy of each key and of the values objects repeat.

        A 100,000-object bundle sits in memory until every reference is known;
        sharing keys, types, timestamps, creators and markings halves its size.
        """
        shared = self.shared
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if key in SHARED_VALUES and type(value) is str:
                value = shared.setdefault(value, value)
            elif key in SHARED_LISTS and type(value) is list:
                value = [shared.setdefault(v, v) if type(v) is str else v for v in value]
            out[sys.intern(key)] = value
        return out

    def latest(self, oid: str) -> dict[str, Any] | None:
        found = self.versions.get(oid)
        if not found:
            return None
        if len(found) == 1:
            return found[0][1]
        return max(found, key=lambda v: modified(v[1]))[1]

    def at(self, oid: str) -> str:
        return f"{self.where}[{self.versions[oid][0][0]}]"


class Reader:
    """Turns a checked bundle into Incoming reports: RSN's, third parties', loose groups."""

    def __init__(self, bundle: Bundle, context: ImportContext) -> None:
        self.bundle = bundle
        self.context = context
        self.reports = [oid for oid, vs in bundle.versions.items() if vs[0][1]["type"] == "report"]
        self.consumed = self._consumed()
        self.held: set[str] = set(self.reports) | self.consumed

    def _consumed(self) -> set[str]:
        found = {oid for oid in self.bundle.versions if oid in _OURS}
        for oid, versions in self.bundle.versions.items():
            obj = versions[-1][1]
            if obj["type"] == "marking-definition" and stix_map.is_tlp_marking(obj):
                found.add(oid)
            if obj["type"] == "report" and REPORT_EXTENSION in (obj.get("extensions") or {}):
                found.add(str(obj.get("created_by_ref")))
        return found

    def incoming(self) -> Iterator[Incoming]:
        """Reports one at a time (the store takes them in batches), then the loose groups."""
        plans = [self._plan(rid) for rid in self.reports]
        self._attach_relationships(plans)
        for plan in plans:
            yield self._report(plan)
        yield from self._loose()

    # ---- reports ----------------------------------------------------------------

    def _plan(self, rid: str) -> Plan:
        distinct: dict[datetime, tuple[int, dict[str, Any]]] = {}
        for index, obj in self.bundle.versions[rid]:
            distinct.setdefault(modified(obj), (index, obj))  # the first of equals wins
        plan = Plan(rid, [distinct[t] for t in sorted(distinct)])
        plan.ours = all(REPORT_EXTENSION in (o.get("extensions") or {}) for _, o in plan.versions)
        refs: dict[str, None] = {}
        for _, obj in plan.versions:
            refs.update(dict.fromkeys(obj["object_refs"]))
            if not plan.ours:
                refs.update(dict.fromkeys(_refs(obj, skip=("object_refs",))))
        plan.refs = [r for r in refs if r not in self.consumed and r != rid]
        return plan

    def _report(self, plan: Plan) -> Incoming:
        mapped = [self._version(plan, i, obj) for i, obj in plan.versions]
        latest = plan.versions[-1][1]
        derived: set[str] = set()
        seals: list[Seal] = []
        if plan.ours:
            uid = plan.rid.split("--", 1)[1]
            for (_, obj), (_, observables) in zip(plan.versions, mapped, strict=True):
                ids = derived_ids(uid, observables)
                derived |= ids
                seals += self._seal(plan.rid, obj, ids)
        kept_ids = self._reach([r for r in plan.refs if r not in derived], plan.extra)
        kept_ids = [k for k in kept_ids if not self._plain_mapped(k, plan)]
        self.held.update(derived, kept_ids, plan.refs)
        uid = plan.rid.split("--", 1)[1].lower()
        return Incoming(
            source=str(latest.get("created_by_ref") or UNATTRIBUTED),
            external_id=plan.rid,
            where=f"{self.bundle.where}[{plan.versions[0][0]}]",
            versions=[v for v, _ in mapped],
            source_identity=self._source_identity(latest),
            preferred_id=uid if stix_check.is_uuid(uid) else None,
            kept=self._objects(kept_ids),
            seals=seals,
        )

    def _seal(self, rid: str, obj: dict[str, Any], derived: set[str]) -> list[Seal]:
        """The seal a version of an RSN report carries, over what the file holds of it.

        The digest covers the report object (its seal left out) and every object it
        references that is kept rather than derived, as the writer's did.
        """
        ext = obj["extensions"][REPORT_EXTENSION]
        if not isinstance(ext, dict) or SEAL_PROPERTY not in ext:
            return []
        unsealed = {k: v for k, v in ext.items() if k != SEAL_PROPERTY}
        head = {**obj, "extensions": {**obj["extensions"], REPORT_EXTENSION: unsealed}}
        kept = [
            o
            for ref in dict.fromkeys(obj["object_refs"])
            if ref not in derived and ref != rid
            for _, o in self.bundle.versions.get(ref, [])
        ]
        digest = provenance.digest(head, kept)
        found = provenance.read_seal(ext.get("version"), digest, ext[SEAL_PROPERTY])
        return [] if found is None else [found]

    def _version(
        self, plan: Plan, index: int, obj: dict[str, Any]
    ) -> tuple[IncomingVersion, Pairs]:
        where = f"{self.bundle.where}[{index}]"
        ext = (obj.get("extensions") or {}).get(REPORT_EXTENSION)
        if ext is not None:
            payload, observables = stix_map.ours(where, obj, ext, self.bundle.latest)
        else:
            payload, observables = stix_map.theirs(where, obj, self.context, self.bundle.latest)
            plan.mapped.update(observables)
        return stix_map.version(where, obj, ext or {}, payload), observables

    def _plain_mapped(self, oid: str, plan: Plan) -> bool:
        obj = self.bundle.latest(oid)
        if obj is None or obj["type"] not in READ_SCO_TYPES:
            return False
        pairs = stix_map.accepted(stix_map.sco_observables(obj))
        return bool(pairs) and pairs[0] in plan.mapped and stix_map.is_plain(obj, pairs)

    def _source_identity(self, report: dict[str, Any]) -> str | None:
        ext = (report.get("extensions") or {}).get(REPORT_EXTENSION) or {}
        if ext.get("source_identity"):
            return str(ext["source_identity"])[:SOURCE_MAX]
        creator = report.get("created_by_ref")
        organization = (ext.get("originator") or {}).get("organization")
        return self._identity_name(creator) or organization or self._name_of(creator)

    def _identity_name(self, creator: Any) -> str | None:
        identity = self.bundle.latest(str(creator)) if creator else None
        if identity is not None and identity.get("name"):
            return str(identity["name"])[:SOURCE_MAX]
        return None

    def _name_of(self, creator: Any) -> str | None:
        """An identity's name (as long as RSN keeps one), else its id, else None."""
        return self._identity_name(creator) or (str(creator)[:SOURCE_MAX] if creator else None)

    # ---- what is kept ---------------------------------------------------------

    def _reach(self, start: list[str], extra: list[str]) -> list[str]:
        """`start` and what its objects reference one step on, present and not consumed."""
        found: dict[str, None] = {}
        for oid in start:
            obj = self.bundle.latest(oid)
            if obj is None or oid in self.consumed or obj["type"] == "report":
                continue
            found[oid] = None
            for ref in _refs(obj):
                if ref not in self.consumed and self._kind(ref) not in (None, "report"):
                    found.setdefault(ref)
        found.update(dict.fromkeys(extra))
        return list(found)

    def _attach_relationships(self, plans: list[Plan]) -> None:
        """Relationships and sightings no report references go with a report holding an end."""
        holder: dict[str, Plan] = {}
        for plan in plans:
            for ref in plan.refs:
                holder.setdefault(ref, plan)
        referenced = set(holder)
        for oid, versions in self.bundle.versions.items():
            obj = versions[-1][1]
            ends = SRO_ENDS.get(obj["type"])
            if not ends or oid in referenced:
                continue
            owner = next((holder[e] for e in (obj.get(k) for k in ends) if e in holder), None)
            if owner is not None:
                owner.extra.append(oid)

    def _kind(self, oid: str) -> str | None:
        found = self.bundle.versions.get(oid)
        return str(found[0][1]["type"]) if found else None

    def _objects(self, ids: list[str]) -> list[dict[str, Any]]:
        return [obj for oid in ids for _, obj in self.bundle.versions.get(oid, [])]

    # ---- loose objects --------------------------------------------------------

    def _loose(self) -> list[Incoming]:
        """Objects no report holds, one report per (creator, TLP).

        An identity that created loose objects travels with them rather than
        forming a group of its own.
        """
        loose = [oid for oid in self.bundle.versions if oid not in self.held]
        keys = {oid: self._group_key(oid) for oid in loose}
        creator_key: dict[str, tuple[str | None, str]] = {}
        for key in keys.values():
            if key[0]:
                creator_key.setdefault(key[0], key)
        groups: dict[tuple[str | None, str], list[str]] = {}
        for oid in loose:
            groups.setdefault(creator_key.get(oid, keys[oid]), []).append(oid)
        return [self._group(key, ids) for key, ids in groups.items()]

    def _group_key(self, oid: str) -> tuple[str | None, str]:
        obj = self.bundle.versions[oid][-1][1]
        creator = obj.get("created_by_ref")
        tlp = tlp_of(obj, self.bundle.latest) or UNMARKED
        return (str(creator) if creator else None, tlp)

    def _group(self, key: tuple[str | None, str], ids: list[str]) -> Incoming:
        creator, tlp = key
        objs = [self.bundle.versions[oid][-1][1] for oid in ids]
        where = self.bundle.at(ids[0])
        name = self._name_of(creator)
        created = sorted(t for t in (when(o.get("created")) for o in objs) if t)
        changed = sorted(t for t in (when(o.get("modified")) for o in objs) if t)
        counts = Counter(o["type"] for o in objs)
        payload: dict[str, Any] = {
            "title": f"Imported STIX objects from {name or 'an unattributed source'}"[:300],
            "description": "Objects no report of the imported file referenced: "
            + ", ".join(f"{n} {t}" for t, n in sorted(counts.items()))
            + ".",
            "category": stix_map.category(where, [], self.context),
            "occurred_at": created[0] if created else clock.now(),
            "severity": "medium",
            "confidence": stix_map.DEFAULT_CONFIDENCE,
            "tlp": tlp,
            **stix_map.place(f"{where}.type", [], self.context),
        }
        observables = stix_map.observables_of(objs)
        payload["observables"] = [{"type": t, "value": v} for t, v in observables]
        plan = Plan("", [], mapped=set(observables))
        source = creator or UNATTRIBUTED
        first = created[0] if created else None
        return Incoming(
            source=source,
            external_id=rsn_id("loose-objects", source, tlp),
            where=where,
            versions=[
                IncomingVersion(
                    report_data(where, payload),
                    created=first,
                    modified=changed[-1] if changed else first,
                )
            ],
            source_identity=name,
            kept=self._objects([oid for oid in ids if not self._plain_mapped(oid, plan)]),
        )


@dataclass
class Plan:
    """One report id as read: its distinct versions, what it references, what maps."""

    rid: str
    versions: list[tuple[int, dict[str, Any]]]
    ours: bool = False
    refs: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    mapped: set[tuple[str, str]] = field(default_factory=set)
