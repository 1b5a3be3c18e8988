"""The checks every STIX object read must pass, fast enough for 100,000-object bundles.

`stix2.parse` builds a full Python object per STIX object and runs the pattern
grammar on every indicator (about 1,700 objects/s here), so a large import
checks what RSN relies on itself: a type name, an id `type--UUID`,
`spec_version` 2.1, the required properties of the known types, timestamps,
identifiers in `*_ref(s)`, confidence, and indicator patterns (with
`stix2patterns`, except the one-comparison form `stix_ext.is_plainly_valid`
proves valid on its own). Errors name `objects[i].<property>`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from stix2patterns.validator import run_validator

from rsn.interop.model import problem
from rsn.interop.stix.ext import is_plainly_valid

TYPE = re.compile(r"[a-z0-9][a-z0-9-]{1,248}[a-z0-9]")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
LOWER_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
IDENTIFIER = re.compile(rf"[a-z0-9][a-z0-9-]{{1,248}}[a-z0-9]--{UUID.pattern}")
TIMESTAMP = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z")

SCO_KINDS = frozenset(
    {
        "artifact", "autonomous-system", "directory", "domain-name", "email-addr",
        "email-message", "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex",
        "network-traffic", "process", "software", "url", "user-account",
        "windows-registry-key", "x509-certificate", "rsn-phone-number", "rsn-vessel",
        "rsn-vehicle-plate", "rsn-crypto-wallet", "rsn-bank-account", "rsn-person-name",
        "rsn-group-name", "phone-number", "cryptocurrency-wallet", "bank-account", "persona",
    }
)  # fmt: skip
_VALUE = ("value",)
REQUIRED: dict[str, tuple[str, ...]] = {
    "attack-pattern": ("name",),
    "campaign": ("name",),
    "course-of-action": ("name",),
    "grouping": ("context", "object_refs"),
    "identity": ("name",),
    "incident": ("name",),
    "indicator": ("pattern", "pattern_type", "valid_from"),
    "infrastructure": ("name",),
    "intrusion-set": ("name",),
    "location": (),
    "malware": ("is_family",),
    "malware-analysis": ("product",),
    "note": ("content", "object_refs"),
    "observed-data": ("first_observed", "last_observed", "number_observed"),
    "opinion": ("opinion", "object_refs"),
    "report": ("name", "published", "object_refs"),
    "threat-actor": ("name",),
    "tool": ("name",),
    "vulnerability": ("name",),
    "relationship": ("relationship_type", "source_ref", "target_ref"),
    "sighting": ("sighting_of_ref",),
    "marking-definition": (),
    "extension-definition": ("name", "schema", "version", "extension_types"),
    "language-content": ("object_ref", "object_modified", "contents"),
    **{kind: _VALUE for kind in ("ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr")},
    "mac-addr": _VALUE,
    **{f"rsn-{k}": _VALUE for k in ("phone-number", "vehicle-plate", "crypto-wallet")},
    **{f"rsn-{k}": _VALUE for k in ("bank-account", "person-name", "group-name")},
    # OpenCTI's (pycti); its bank-account may carry only bic or account_number.
    "phone-number": _VALUE,
    "cryptocurrency-wallet": _VALUE,
    "persona": ("persona_name",),
}
TIMESTAMPS = frozenset(
    {
        "created", "modified", "published", "valid_from", "valid_until", "first_seen",
        "last_seen", "first_observed", "last_observed", "object_modified",
    }
)  # fmt: skip


@lru_cache(maxsize=65536)
def when(text: str) -> datetime | None:
    """A STIX timestamp as an aware datetime to the millisecond, or None if it is not one."""
    match = TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    millis = int((fraction or "0")[:3].ljust(3, "0"))
    try:
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second),
            millis * 1000, tzinfo=UTC,
        )  # fmt: skip
    except ValueError:
        return None


@lru_cache(maxsize=65536)
def pattern_problem(pattern: str) -> str | None:
    if is_plainly_valid(pattern):
        return None
    errors = run_validator(pattern, stix_version="2.1")
    return str(errors[0]).removeprefix("FAIL: ") if errors else None


def is_uuid(text: str) -> bool:
    return LOWER_UUID.fullmatch(text) is not None


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def check(obj: Any, at: str) -> None:
    """Raise a ValidationError naming `at.<property>` for the first thing wrong with `obj`."""
    if not isinstance(obj, dict):
        raise problem(at, "is not a JSON object.")
    kind = _type(obj, at)
    sdo_like = kind not in SCO_KINDS and (kind in REQUIRED or "created" in obj)
    _spec_version(obj, at, sdo_like)
    needed = REQUIRED.get(kind, ())
    if sdo_like:
        needed = (
            (*needed, "created")
            if kind == "marking-definition"
            else (*needed, "created", "modified")
        )
    for name in needed:
        if obj.get(name) in (None, "", []):
            raise problem(f"{at}.{name}", f"is required on a STIX 2.1 {kind}.")
    _times(obj, at)
    for name, value in obj.items():
        if name.endswith("_ref") or name.endswith("_refs"):
            _identifiers(value, f"{at}.{name}", name.endswith("_refs"))
    _common(obj, at)
    if kind == "indicator" and obj.get("pattern_type") == "stix":
        pattern = obj["pattern"]
        trouble = pattern_problem(pattern) if isinstance(pattern, str) else "it is not a string"
        if trouble:
            raise problem(
                f"{at}.pattern", f"{_show(pattern)} is not a valid STIX pattern: {trouble}"
            )


def _type(obj: dict[str, Any], at: str) -> str:
    kind = obj.get("type")
    if not isinstance(kind, str) or TYPE.fullmatch(kind) is None or "--" in kind:
        raise problem(f"{at}.type", f"{_show(kind)} is not a STIX type name.")
    oid = obj.get("id")
    if not (
        isinstance(oid, str)
        and oid.startswith(kind)
        and oid[len(kind) : len(kind) + 2] == "--"
        and UUID.fullmatch(oid, len(kind) + 2)
    ):
        raise problem(
            f"{at}.id", f"{_show(oid)} is not an identifier of the form '{kind}--<UUID>'."
        )
    return kind


def _spec_version(obj: dict[str, Any], at: str, required: bool) -> None:
    spec = obj.get("spec_version")
    if spec is None and required:
        raise problem(f"{at}.spec_version", "is required; only STIX 2.1 objects are read.")
    if spec is not None and spec != "2.1":
        raise problem(f"{at}.spec_version", f"{_show(spec)} is not 2.1; only STIX 2.1 is read.")


def _times(obj: dict[str, Any], at: str) -> None:
    for name in TIMESTAMPS.intersection(obj):
        value = obj[name]
        if not isinstance(value, str) or when(value) is None:
            raise problem(
                f"{at}.{name}",
                f"{_show(value)} is not a STIX timestamp (YYYY-MM-DDTHH:MM:SS[.sss]Z in UTC).",
            )
    created, modified = when(str(obj.get("created"))), when(str(obj.get("modified")))
    if created and modified and modified < created:
        modified, created = obj["modified"], obj["created"]
        raise problem(f"{at}.modified", f"'{modified}' is earlier than created ('{created}').")


def _identifiers(value: Any, at: str, many: bool) -> None:
    values = value if many and isinstance(value, list) else [value]
    if many and not isinstance(value, list):
        raise problem(at, f"{_show(value)} is not a list of identifiers.")
    for i, ref in enumerate(values):
        if not isinstance(ref, str) or IDENTIFIER.fullmatch(ref) is None:
            name = f"{at}[{i}]" if many else at
            raise problem(name, f"{_show(ref)} is not a STIX identifier ('type--UUID').")


def _common(obj: dict[str, Any], at: str) -> None:
    confidence = obj.get("confidence")
    if confidence is not None and (type(confidence) is not int or not 0 <= confidence <= 100):
        raise problem(f"{at}.confidence", f"{_show(confidence)} is not an integer from 0 to 100.")
    if "revoked" in obj and not isinstance(obj["revoked"], bool):
        raise problem(f"{at}.revoked", f"{_show(obj['revoked'])} is not true or false.")
    labels = obj.get("labels")
    if labels is not None and not (
        isinstance(labels, list) and all(isinstance(x, str) for x in labels)
    ):
        raise problem(f"{at}.labels", "is not a list of strings.")
    if obj.get("type") in ("report", "indicator", "identity") and not isinstance(
        obj.get("name", ""), str
    ):
        raise problem(f"{at}.name", f"{_show(obj['name'])} is not a string.")


def refs_of(obj: dict[str, Any], skip: tuple[str, ...] = ()) -> Iterator[str]:
    """Every identifier an object names in its top-level `*_ref` and `*_refs` properties."""
    for name, value in obj.items():
        if name in skip:
            continue
        if name.endswith("_ref") and isinstance(value, str):
            yield value
        elif name.endswith("_refs") and isinstance(value, list):
            yield from (v for v in value if isinstance(v, str))
