"""The words RSN and MISP share: attribute types, tags, and the scales they map between.

Both directions of the MISP format read from these tables, so an export and its
import cannot drift apart. MISP's own vocabulary (attribute types, categories,
object templates) is read from the copy PyMISP ships, never restated here.
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from rsn.sharing.models import TLP_LEVELS

# uuid5 namespace for the ids RSN derives (organizations, attributes, objects):
# the same organization or value gets the same MISP uuid on every export.
NAMESPACE = uuid.UUID("01420683-bb2c-4a21-8b79-578bbf64c880")

# What an import keeps of an event, as STIX custom objects of this type (see misp_event).
KEPT_TYPE = "x-misp-part"
KEPT_KEYS = ("Tag", "Attribute", "Object", "Galaxy", "EventReport")
SEAL_PREDICATE = "node-mac"  # rsn:node-mac="<version>:<MAC>", see rsn.interop.provenance

TLP_TAG = {
    "clear": "tlp:clear",
    "green": "tlp:green",
    "amber": "tlp:amber",
    "amber+strict": "tlp:amber+strict",
    "red": "tlp:red",
}
TLP_FROM_TAG = {tag: tlp for tlp, tag in TLP_TAG.items()} | {"tlp:white": "clear"}
TLP_STRICTNESS = TLP_LEVELS

# MISP distribution: 0 your organisation only, 1 this community only,
# 2 connected communities, 3 all communities (4 is a sharing group).
DISTRIBUTION = {"clear": 3, "green": 2, "amber": 1, "amber+strict": 0, "red": 0}

# MISP threat levels: 1 high, 2 medium, 3 low, 4 undefined.
THREAT_LEVEL = {"critical": 1, "high": 1, "medium": 2, "low": 3}
SEVERITY = {1: "high", 2: "medium", 3: "low", 4: "medium"}

# The MISP taxonomy `misp:confidence-level`, with the numbers it gives its values.
CONFIDENCE_LEVEL = {
    "completely-confident": 100,
    "usually-confident": 75,
    "fairly-confident": 50,
    "rarely-confident": 25,
    "unconfident": 0,
    "confidence-cannot-be-evaluated": 50,
}
DEFAULT_CONFIDENCE = 50

# RSN observable -> MISP attribute type, where one MISP type says it all.
ATTRIBUTE_TYPE = {
    "ipv4-addr": "ip-dst",
    "ipv6-addr": "ip-dst",
    "domain-name": "domain",
    "url": "url",
    "email-addr": "email",
    "file-md5": "md5",
    "file-sha1": "sha1",
    "file-sha256": "sha256",
    "phone-number": "phone-number",
    "person-name": "full-name",
    "group-name": "threat-actor",
}
# Observables MISP has no type for: a `text` attribute named by an `rsn:observable` tag.
TEXT_OBSERVABLES = {
    "vessel-imo": "RSN observable: vessel IMO number",
    "vessel-mmsi": "RSN observable: vessel MMSI",
    "vehicle-plate": "RSN observable: vehicle registration plate",
    "crypto-wallet": "RSN observable: Ethereum wallet address",
    "bank-account": "RSN observable: national bank account (country code:account)",
}

# MISP attribute type -> RSN observable, for import. IPs are told apart by family.
OBSERVABLE_TYPE = {
    "ip-src": "ip",
    "ip-dst": "ip",
    "domain": "domain-name",
    "hostname": "domain-name",
    "url": "url",
    "email": "email-addr",
    "email-src": "email-addr",
    "email-dst": "email-addr",
    "md5": "file-md5",
    "sha1": "file-sha1",
    "sha256": "file-sha256",
    "phone-number": "phone-number",
    "iban": "bank-account",
    "btc": "crypto-wallet",
    "full-name": "person-name",
    "threat-actor": "group-name",
}
# A part of a composite type ("domain|ip") read as this simple type.
COMPOSITE_PART = {"ip": "ip-dst"}
# Text attributes of MISP object templates that name an RSN observable.
OBJECT_TEXT = {
    ("vehicle", "license-plate-number"): "vehicle-plate",
    ("ftm-Vessel", "imoNumber"): "vessel-imo",
    ("ftm-Vessel", "mmsi"): "vessel-mmsi",
}

# Report fields that ride in attributes (too long, or too unique, for a tag).
FIELD_ATTRIBUTES = {
    "description": ("text", "Other", "RSN report description"),
    "occurred-at": ("datetime", "Other", "RSN report: when the event occurred"),
    "revoked-reason": ("text", "Other", "RSN report: why it was revoked"),
    "revoked-at": ("datetime", "Other", "RSN report: when it was revoked"),
}
DISTRIBUTION_TAGS = {
    "member_states": "distribution-member-state",
    "organizations": "distribution-organization",
    "sharing_groups": "distribution-sharing-group",
    "users": "distribution-user",
}

_MACHINE_TAG = re.compile(r'^([^:="]+):([^="]+?)(?:="(.*)")?$', re.DOTALL)


def machine_tag(name: str) -> tuple[str, str, str | None] | None:
    """`ns:predicate="value"` split in three; None for a tag outside that grammar."""
    match = _MACHINE_TAG.match(name.strip())
    if match is None:
        return None
    return match.group(1), match.group(2), match.group(3)


def tag(namespace: str, predicate: str, value: object | None = None) -> dict[str, str]:
    name = f"{namespace}:{predicate}" if value is None else f'{namespace}:{predicate}="{value}"'
    return {"name": name}


def rsn_tag(predicate: str, value: object) -> dict[str, str]:
    return tag("rsn", predicate, value)


def stable_uuid(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(parts)))


def organization_uuid(slug: str) -> str:
    """The MISP uuid of an RSN organization: the same on every node that knows its slug."""
    return stable_uuid("organization", slug)


def attribute_type(kind: str, value: str) -> str:
    """The MISP type an RSN observable is written as (see the module docstring of `misp`)."""
    if kind == "bank-account":
        return "text" if ":" in value else "iban"
    if kind == "crypto-wallet" and not value.startswith("0x"):
        return "btc"
    return ATTRIBUTE_TYPE.get(kind, "text")


def observable_type(misp_type: str, value: str) -> str | None:
    """The RSN observable a MISP attribute value is, or None when RSN has no place for it.

    A CIDR network and a bank-account-nr (digits, without the country RSN needs)
    are valid MISP values that no RSN observable can hold: they are kept, not refused.
    """
    kind = OBSERVABLE_TYPE.get(misp_type)
    if kind == "ip":
        if "/" in value:
            return None
        return "ipv6-addr" if _is_ipv6(value) else "ipv4-addr"
    return kind


def _is_ipv6(value: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(value.strip()), ipaddress.IPv6Address)
    except ValueError:
        return ":" in value


@cache
def _pymisp_data() -> Path:
    """PyMISP's data folder, found without importing PyMISP (which pulls in HTTP clients)."""
    spec = find_spec("pymisp")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("PyMISP is not installed; it ships MISP's type list RSN reads.")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@cache
def describe_types() -> dict[str, Any]:
    """MISP's attribute types, categories and defaults (describeTypes.json)."""
    text = (_pymisp_data() / "describeTypes.json").read_text(encoding="utf-8")
    result: dict[str, Any] = json.loads(text)["result"]
    return result


@cache
def known_types() -> frozenset[str]:
    return frozenset(describe_types()["types"])


def default_category(misp_type: str) -> str:
    return str(describe_types()["sane_defaults"][misp_type]["default_category"])


def to_ids(misp_type: str) -> bool:
    return bool(int(describe_types()["sane_defaults"][misp_type]["to_ids"]))


@cache
def object_template(name: str) -> dict[str, Any]:
    """A MISP object template (uuid, version, meta-category) as PyMISP ships it."""
    path = _pymisp_data() / "misp-objects" / "objects" / name / "definition.json"
    template: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return template
