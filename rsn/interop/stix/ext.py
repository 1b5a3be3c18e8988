"""The fixed vocabulary RSN speaks in STIX 2.1: markings, extensions, SCOs, ids, patterns.

Everything here is a constant or a pure function, shared by the writer
(`rsn.interop.stix`) and the reader (`rsn.interop.stix.reading`), so that what one
writes the other recognises bit for bit.

Ids. Standard SCOs, OpenCTI's and RSN's new SCOs get the deterministic ids STIX 2.1
prescribes (section 2.9): UUIDv5 in the STIX namespace over the canonical JSON
(RFC 8785) of the type's id-contributing properties, so every producer that
follows the spec names the same value the same way. Objects RSN derives from a
report (its location, indicators and relationships) and the originator identity
get ids made the same way in RSN's own namespace (over the report id and the
observable), given the UUIDv4 version bits SDO ids should carry, so the same
report always yields the same ids.

Markings. TLP 2.0 has no object in the `stix2` library: the five official
marking-definition objects (OASIS cti-stix-common-objects, property extension
`extension-definition--60a3c5c5-…`) are written out here. TLP 1.0 ids (the ones
`stix2.TLP_WHITE` etc. carry) are read as their TLP 2.0 counterparts, white as
clear.

Extensions. RSN publishes, with fixed ids that never change:
- a property extension on `report` carrying every RSN field STIX has no
  property for (see `rsn.interop.stix` for the list);
- one `new-sco` extension per selector that neither STIX nor OpenCTI has an
  SCO for: vessel (IMO and/or MMSI), vehicle plate and group name.

Selectors STIX lacks but OpenCTI has a custom observable for are written as
OpenCTI writes them, so OpenCTI (and tools that follow its `pycti` library)
import them natively: `phone-number` and `cryptocurrency-wallet` with `value`;
`bank-account` keyed by `iban` (OpenCTI's id property; a national account has
no IBAN, so RSN's `CC:number` form goes there) with the same text as `value`,
which pycti requires; a person's name as a `persona` with `persona_type`
"unknown" (a reported name may be a true name or an alias, and the reporter did
not say). Their ids are the spec's over OpenCTI's id properties, and they carry
OpenCTI's own new-sco marker (`OPENCTI_SCO_EXTENSION`, as OpenCTI's exports
do), whose definition OpenCTI publishes, not RSN. Exports from before used
`rsn-phone-number`, `rsn-crypto-wallet`, `rsn-bank-account` and
`rsn-person-name` (each with `value`); those are still read (`LEGACY_SCO_OF`).
Names are selectors (strings that correlate across reports), not claims about
who someone is, so they are SCOs rather than `identity` or `threat-actor`
objects, which carry a lifecycle and an assertion RSN's reporter never made.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from rsn.sharing.models import TLP_LEVELS

STIX_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
RSN_NAMESPACE = uuid.UUID("ac789174-c953-4760-9c4e-dbc0416ec2f3")
PUBLISHED = "2026-01-01T00:00:00.000Z"  # created/modified of RSN's fixed objects

RSN_IDENTITY_ID = "identity--d9630147-634e-47ee-a08c-d1148cd3dbf7"
REPORT_EXTENSION = "extension-definition--9bb2ecda-aa9a-49bc-98b1-e0c905eb8dbf"
TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
SEAL_PROPERTY = "node_mac"  # in the report extension: the exporting node's MAC (`provenance`)

TLP2_IDS = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP1_IDS = {  # the ids of stix2.TLP_WHITE, TLP_GREEN, TLP_AMBER, TLP_RED
    "clear": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    "green": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    "amber": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    "red": "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
}
TLP_OF_MARKING = {
    **{mid: tlp for tlp, mid in TLP1_IDS.items()},
    **{mid: tlp for tlp, mid in TLP2_IDS.items()},
}
# Most open first: when an object carries several TLP markings, the last wins.
TLP_ORDER = TLP_LEVELS

MARKINGS: dict[str, dict[str, Any]] = {
    tlp: {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": mid,
        "created": "2022-10-01T00:00:00.000Z",
        "name": f"TLP:{tlp.upper()}",
        "extensions": {TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": tlp}},
    }
    for tlp, mid in TLP2_IDS.items()
}

RSN_IDENTITY: dict[str, Any] = {
    "type": "identity",
    "spec_version": "2.1",
    "id": RSN_IDENTITY_ID,
    "created": PUBLISHED,
    "modified": PUBLISHED,
    "name": "RSN (Regional Security Network) node software",
    "description": "Publisher of the STIX extension definitions RSN nodes use.",
    "identity_class": "system",
}


OPENCTI_SCO_EXTENSION = "extension-definition--f93e2c80-4231-4f9a-af8b-95c9bd566a82"

# RSN observable type -> (STIX type, property holding the value, extension id or None for
# standard SCOs). file-* values live under `hashes`, keyed by the STIX hash algorithm name.
SCO_OF: dict[str, tuple[str, str, str | None]] = {
    "ipv4-addr": ("ipv4-addr", "value", None),
    "ipv6-addr": ("ipv6-addr", "value", None),
    "domain-name": ("domain-name", "value", None),
    "url": ("url", "value", None),
    "email-addr": ("email-addr", "value", None),
    "file-md5": ("file", "MD5", None),
    "file-sha1": ("file", "SHA-1", None),
    "file-sha256": ("file", "SHA-256", None),
    "phone-number": ("phone-number", "value", OPENCTI_SCO_EXTENSION),
    "vessel-imo": (
        "rsn-vessel",
        "imo",
        "extension-definition--648acff4-8602-410b-9f9b-9b40b403c7f6",
    ),
    "vessel-mmsi": (
        "rsn-vessel",
        "mmsi",
        "extension-definition--648acff4-8602-410b-9f9b-9b40b403c7f6",
    ),
    "vehicle-plate": (
        "rsn-vehicle-plate",
        "value",
        "extension-definition--b364e081-fa35-41fe-9bef-bffb30e76ef9",
    ),
    "crypto-wallet": ("cryptocurrency-wallet", "value", OPENCTI_SCO_EXTENSION),
    "bank-account": ("bank-account", "iban", OPENCTI_SCO_EXTENSION),
    "person-name": ("persona", "persona_name", OPENCTI_SCO_EXTENSION),
    "group-name": (
        "rsn-group-name",
        "value",
        "extension-definition--86c23616-9d67-41ff-bf4e-a81fb51e1fb1",
    ),
}
# Properties with a fixed value that contribute to the id (OpenCTI's persona id is over both).
FIXED = {"person-name": {"persona_type": "unknown"}}
# Types whose SCO also carries the value as `value`, which does not contribute to the id.
ECHOED = frozenset({"bank-account"})
# RSN type -> (STIX type, new-sco extension id) of exports before OpenCTI's types; `value`.
LEGACY_SCO_OF = {
    "phone-number": (
        "rsn-phone-number",
        "extension-definition--714d1aa6-520f-420b-8623-04e0a040cfb6",
    ),
    "crypto-wallet": (
        "rsn-crypto-wallet",
        "extension-definition--c1f0b36f-8648-4662-a74b-0397457130b3",
    ),
    "bank-account": (
        "rsn-bank-account",
        "extension-definition--fe5f6786-4b8e-4a3c-b7b1-7d9205785401",
    ),
    "person-name": (
        "rsn-person-name",
        "extension-definition--fbc2913f-cc2a-49b9-931c-af3bff3f3823",
    ),
}
HASHES = {"MD5": "file-md5", "SHA-1": "file-sha1", "SHA-256": "file-sha256"}
# Spellings of hash names other producers use in patterns and `hashes` keys.
HASH_ALIASES = {"MD5": "MD5", "SHA-1": "SHA-1", "SHA1": "SHA-1", "SHA-256": "SHA-256"}
HASH_ALIASES["SHA256"] = "SHA-256"
# RSN types that get an indicator: the network and file selectors IDSs match on.
INDICATED = frozenset(SCO_OF) - {t for t, (_, _, ext) in SCO_OF.items() if ext}
# (STIX type, property) -> RSN type, for reading SCOs and patterns back, old types too.
RSN_OF = {
    **{(stix, prop): rsn for rsn, (stix, prop, _) in SCO_OF.items()},
    **{(stix, "value"): rsn for rsn, (stix, _) in LEGACY_SCO_OF.items()},
}
SCO_TYPES = frozenset(stix for stix, _, _ in SCO_OF.values())  # the types RSN writes
READ_SCO_TYPES = SCO_TYPES | {stix for stix, _ in LEGACY_SCO_OF.values()}
# The new-sco extensions RSN defines (and writes the definitions of), and those it did.
NEW_SCO_EXTENSIONS = {
    stix: ext for stix, _, ext in SCO_OF.values() if ext and ext != OPENCTI_SCO_EXTENSION
}
LEGACY_SCO_EXTENSIONS = frozenset(ext for _, ext in LEGACY_SCO_OF.values())

SCO_SCHEMAS = {
    "rsn-vessel": "imo: 'IMO' and the 7-digit IMO ship number; mmsi: the 9-digit MMSI. "
    "At least one is present; both contribute to the id.",
    "rsn-vehicle-plate": "value: the registration plate, upper case, separators removed, "
    "digits of any script written as ASCII digits.",
    "rsn-group-name": "value: a group's name as reported, case-folded (NFKC), spaces "
    "collapsed. A selector for matching, not an identity.",
}
REPORT_SCHEMA = (
    "Property extension on `report` carrying the RSN fields STIX has no property for. "
    "category (taxonomy id of the publishing node), occurred_at (timestamp), country "
    "(ISO 3166 alpha-2), location {lat, lon}, sea_area, severity (low|medium|high|critical), "
    "source_reliability (A-F) and information_credibility (1-6) (the Admiralty grading), "
    "tlp (clear|green|amber|amber+strict|red), distribution {member_states, organizations, "
    "sharing_groups, users} (codes, slugs and usernames of the publishing node), version "
    "(RSN version number), revoked_reason, revoked_at (timestamp), originator {username, "
    "organization, member_state}, source_identity (who the report came from when it was "
    "itself imported), observable_refs (the report's selectors in order, as SCO ids), "
    "node_mac (the exporting node's HMAC-SHA256 over the report id, version and content, "
    "by which a node knows its own export again; meaningless to anyone else). "
    "Absent properties are empty."
)


def _definition(ext_id: str, name: str, schema: str, kind: str) -> dict[str, Any]:
    return {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": ext_id,
        "created_by_ref": RSN_IDENTITY_ID,
        "created": PUBLISHED,
        "modified": PUBLISHED,
        "name": name,
        "description": f"RSN {name}. {schema}",
        "schema": schema,
        "version": "1.0.0",
        "extension_types": [kind],
    }


def extension_definitions() -> list[dict[str, Any]]:
    """The extension-definition objects every RSN export relies on, report extension first."""
    found = [_definition(REPORT_EXTENSION, "report", REPORT_SCHEMA, "property-extension")]
    for stix_type, ext_id in NEW_SCO_EXTENSIONS.items():
        if all(d["id"] != ext_id for d in found):
            found.append(_definition(ext_id, stix_type, SCO_SCHEMAS[stix_type], "new-sco"))
    return found


def canonical(value: Mapping[str, Any]) -> str:
    """RFC 8785 form for the flat string maps SCO ids are made of.

    With only string keys and values (as every SCO id here has), JCS is
    sorted keys, no whitespace and no escaping beyond JSON's own; the tests
    check the ids against `stix2`'s JCS implementation.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _name_based(namespace: uuid.UUID, name: str, version: int) -> str:
    """RFC 4122 UUIDv5 (SHA-1 of namespace and name) with the given version bits.

    The same computation as `uuid.uuid5`, without building `UUID` objects: an
    import of a large bundle computes several per report.
    """
    digest = bytearray(hashlib.sha1(namespace.bytes + name.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | (version << 4)
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def sco_id(stix_type: str, contributing: Mapping[str, Any]) -> str:
    return f"{stix_type}--{_name_based(STIX_NAMESPACE, canonical(contributing), 5)}"


def rsn_id(stix_type: str, *parts: str) -> str:
    """A stable id for an object derived from `parts`, in the UUIDv4 form SDOs should have.

    The 122 free bits are a SHA-1 (as UUIDv5, in RSN's namespace) of the parts
    rather than random ones: pseudo-random all the same, and reproducible.
    """
    return f"{stix_type}--{_name_based(RSN_NAMESPACE, json.dumps(parts, ensure_ascii=False), 4)}"


def organization_id(slug: str) -> str:
    return rsn_id("identity", "organization", slug)


def location_id(report_uuid: str) -> str:
    return rsn_id("location", report_uuid)


def indicator_id(report_uuid: str, kind: str, value: str) -> str:
    return rsn_id("indicator", report_uuid, kind, value)


def relationship_id(report_uuid: str, kind: str, value: str) -> str:
    return rsn_id("relationship", report_uuid, kind, value)


def _contributing(kind: str, value: str) -> tuple[str, dict[str, Any]]:
    stix_type, prop, _ = SCO_OF[kind]
    if stix_type == "file":
        return stix_type, {"hashes": {prop: value}}
    return stix_type, {prop: value, **FIXED.get(kind, {})}


@lru_cache(maxsize=65536)
def observable_id(kind: str, value: str) -> str:
    """The SCO id of an RSN observable (remembered: reading and writing both ask often)."""
    return sco_id(*_contributing(kind, value))


def sco(kind: str, value: str) -> dict[str, Any]:
    """The SCO of one RSN observable, without markings: a new dict the caller may change."""
    stix_type, contributing = _contributing(kind, value)
    obj: dict[str, Any] = {
        "type": stix_type,
        "spec_version": "2.1",
        "id": observable_id(kind, value),
        **({"value": value} if kind in ECHOED else {}),
        **contributing,
    }
    ext = SCO_OF[kind][2]
    if ext:
        obj["extensions"] = {ext: {"extension_type": "new-sco"}}
    return obj


def legacy_sco(kind: str, value: str) -> dict[str, Any] | None:
    """The SCO exports before OpenCTI's types wrote for the observable, if it differed."""
    if kind not in LEGACY_SCO_OF:
        return None
    stix_type, ext = LEGACY_SCO_OF[kind]
    return {
        "type": stix_type,
        "spec_version": "2.1",
        "id": sco_id(stix_type, {"value": value}),
        "value": value,
        "extensions": {ext: {"extension_type": "new-sco"}},
    }


@lru_cache(maxsize=65536)
def observable_ids(kind: str, value: str) -> tuple[str, ...]:
    """Every id RSN has given the observable's SCO: the current one first."""
    current, old = observable_id(kind, value), legacy_sco(kind, value)
    return (current,) if old is None else (current, old["id"])


def derived_ids(report_uuid: str, observables: list[tuple[str, str]]) -> set[str]:
    """Ids of every object RSN writes for a report version, bar the report itself.

    SCOs count under their old ids too, so an older export's are not kept as foreign.
    """
    ids = {location_id(report_uuid)}
    for kind, value in observables:
        ids.update(observable_ids(kind, value))
        if kind in INDICATED:
            ids.add(indicator_id(report_uuid, kind, value))
            ids.add(relationship_id(report_uuid, kind, value))
    return ids


# ---- patterns -------------------------------------------------------------------

_STRING = r"'((?:[^'\\]|\\['\\])*)'"
_PATH = r"([a-z0-9-]+):(value|imo|mmsi|iban|persona_name|hashes\.(?:'[A-Za-z0-9-]+'|[A-Za-z0-9]+))"
COMPARISON = re.compile(rf"{_PATH}\s*=\s*{_STRING}")
# A pattern that is only `=` comparisons joined by OR, inside one or more brackets.
_JOINER = re.compile(r"(?:\s|\[|\]|\(|\)|\bOR\b)*")
_SIMPLE = re.compile(rf"\[{_PATH} = {_STRING}\]")
_HEX = {"MD5": 32, "SHA-1": 40, "SHA-256": 64}


def quote(value: str) -> str:
    """A STIX pattern string literal: only quote and backslash are escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _unquote(text: str) -> str:
    return re.sub(r"\\(['\\])", r"\1", text)


def pattern_for(kind: str, value: str) -> str:
    stix_type, prop, _ = SCO_OF[kind]
    path = f"hashes.{quote(prop)}" if stix_type == "file" else prop
    return f"[{stix_type}:{path} = {quote(value)}]"


def _rsn_kind(stix_type: str, path: str) -> str | None:
    if stix_type == "file" and path.startswith("hashes."):
        name = HASH_ALIASES.get(path[len("hashes.") :].strip("'").upper())
        return HASHES.get(name or "")
    return RSN_OF.get((stix_type, path))


def observables_in_pattern(pattern: str) -> list[tuple[str, str]]:
    """The (RSN type, value) pairs of a pattern made only of ORed equalities, else none.

    A pattern with AND, FOLLOWEDBY, qualifiers or other operators says more than
    "any of these values", so it maps to no observable (the indicator is kept).
    """
    found = [(m.group(1), m.group(2), m.group(3)) for m in COMPARISON.finditer(pattern)]
    if not found or _JOINER.fullmatch(COMPARISON.sub("", pattern)) is None:
        return []
    pairs = []
    for stix_type, path, literal in found:
        kind = _rsn_kind(stix_type, path)
        if kind is None:
            return []
        pairs.append((kind, _unquote(literal)))
    return pairs


def is_plainly_valid(pattern: str) -> bool:
    """True for the one-comparison form RSN writes, checked completely by this grammar.

    Such a pattern (`[type:path = 'text']` with a well-escaped literal and, for
    hashes, the right number of hex digits) is valid STIX patterning by
    construction, so reading a large bundle need not run the full ANTLR parser
    on each; the tests check this against `stix2patterns` on many patterns.
    """
    match = _SIMPLE.fullmatch(pattern)
    if match is None:
        return False
    stix_type, path, literal = match.groups()
    if stix_type == "file":
        name = path[len("hashes.") :].strip("'")
        length = _HEX.get(name)
        return length is not None and re.fullmatch(f"[0-9a-fA-F]{{{length}}}", literal) is not None
    return (stix_type, path) in RSN_OF
