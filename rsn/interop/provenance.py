"""Knowing the node's own exports when they come back: a MAC of the node on each version.

A user downloads what they may read and uploads it again (to check a file, or by
mistake); without help the node would file every report a second time. The ids
in a file prove nothing, anyone can write them, so every version a STIX or MISP
export writes carries HMAC-SHA256, under a secret key of this node, over the
report id, the version number and a digest of the content as written. The
digest is over RFC 8785 canonical JSON, so the same JSON written again with
other spacing or key order keeps it, and any edit breaks it.

On import `ingest` counts a report as "already here, unchanged" only when every
version the file brings carries a MAC this key verifies and the importer may
read that report. No MAC, an edited file, another node's MAC or a report hidden
from the importer: the report is handled like any the node never saw.

The key is made once, on the first export, kept in `node_settings` (like the
token key), and never leaves the node. `rsn node rotate-keys` replaces it; the
keys it replaces are kept (`RETIRED_SETTING`) so exports made before still count
as the node's own, while new exports are sealed with the new key only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import rfc8785
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rsn.interop.model import Seal
from rsn.registry.models import NodeSetting

KEY_SETTING = "export_mac_key"
RETIRED_SETTING = "export_mac_key.retired"  # JSON list of hex keys, oldest first
PURPOSE = "rsn export v1"  # binds a MAC to this use of the key


@dataclass(frozen=True)
class NodeMac:
    """The node's MAC over exported versions, and the check of one read back."""

    key: bytes
    retired: tuple[bytes, ...] = ()

    def sign(self, report_id: str, version: int, digest: str) -> str:
        return _mac(self.key, report_id, version, digest)

    def proves(self, report_id: str, seal: Seal) -> bool:
        return any(
            hmac.compare_digest(_mac(key, report_id, seal.version, seal.digest), seal.mac)
            for key in (self.key, *self.retired)
        )


def _mac(key: bytes, report_id: str, version: int, digest: str) -> str:
    message: dict[str, Any] = {"purpose": PURPOSE, "report": report_id}
    message |= {"version": version, "digest": digest}
    return hmac.new(key, canonical(message), hashlib.sha256).hexdigest()


def node_mac(session: Session) -> NodeMac:
    """The node's key, made on first use (in the caller's transaction).

    Two first exports at once on PostgreSQL race to insert it: the loser's
    savepoint rolls back and it reads the winner's key.
    """
    found = existing_mac(session)
    if found is not None:
        return found
    try:
        with session.begin_nested():
            session.add(NodeSetting(key=KEY_SETTING, value=secrets.token_hex(32)))
    except IntegrityError:
        pass  # made by a concurrent export: read below
    made = existing_mac(session)
    assert made is not None
    return made


def existing_mac(session: Session) -> NodeMac | None:
    """The node's key if it has exported anything yet (an import never makes one)."""
    setting = session.get(NodeSetting, KEY_SETTING)
    if setting is None:
        return None
    retired = session.get(NodeSetting, RETIRED_SETTING)
    old = json.loads(retired.value) if retired else []
    return NodeMac(bytes.fromhex(setting.value), tuple(bytes.fromhex(k) for k in old))


def rotate(session: Session) -> bool:
    """A new export key, the present one retired; False when the node never exported."""
    current = session.get(NodeSetting, KEY_SETTING)
    if current is None:
        return False
    retired = session.get(NodeSetting, RETIRED_SETTING)
    if retired is None:
        retired = NodeSetting(key=RETIRED_SETTING, value="[]")
        session.add(retired)
    retired.value = json.dumps([*json.loads(retired.value), current.value])
    current.value = secrets.token_hex(32)
    return True


def digest(head: Mapping[str, Any], others: Iterable[Mapping[str, Any]] = ()) -> str | None:
    """SHA-256 of `head` and then `others` (in canonical order) as RFC 8785 JSON.

    None when the content has no canonical form (a lone surrogate, an integer
    beyond what JSON numbers hold exactly): such a version is never sealed, so
    never taken for the node's own.
    """
    try:
        parts = [canonical(head), *sorted(canonical(o) for o in others)]
    except rfc8785.CanonicalizationError:
        return None
    return hashlib.sha256(b"[" + b",".join(parts) + b"]").hexdigest()


# Outside strings: a float Python and RFC 8785 may spell differently (an exponent, a
# trailing .0) or an integer too long for JCS; anywhere: a character beyond the BMP,
# which sorts keys differently in UTF-16 than in code points.
_UNLIKE_JCS = re.compile(r"\d[eE]|\.0(?!\d)|\d{16}")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def canonical(value: Mapping[str, Any]) -> bytes:
    """RFC 8785 (JCS) bytes of a JSON object, the library's output exactly.

    `rfc8785` is pure Python, six times `json.dumps` on a report object: sealing
    with it alone made a STIX export of reports with five observables take 1.8
    times as long (CPU time, 1,000 reports), this way 1.35. For JSON without
    floats in exponent or integral form, long integers or characters beyond the
    BMP, JCS is what `json.dumps` writes with sorted keys, no spaces and no ASCII
    escaping; anything else, or text that is not UTF-8, goes to the library. A
    test holds the two equal over generated JSON.
    """
    try:
        text = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
        plain = text.encode()
    except (ValueError, TypeError):  # NaN, a surrogate (UnicodeEncodeError), mixed keys
        return rfc8785.dumps(dict(value))
    if _UNLIKE_JCS.search(_outside_strings(text)) or (not text.isascii() and _ASTRAL.search(text)):
        return rfc8785.dumps(dict(value))
    return plain


def _outside_strings(text: str) -> str:
    """JSON text without its strings: escapes gone, the quotes left alternate in and out."""
    return "".join(text.replace("\\\\", "").replace('\\"', "").split('"')[::2])


def read_seal(version: Any, digest: str | None, mac: Any) -> Seal | None:
    """A seal as a file states it, when its parts have the right shape."""
    if type(version) is not int or digest is None or not isinstance(mac, str):
        return None
    return Seal(version, digest, mac)
