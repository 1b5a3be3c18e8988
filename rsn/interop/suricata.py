"""Suricata rules for the network and file observables of the reports a reader may read.

What each observable becomes (Suricata 6 and 7 syntax; checked with `suricata -T`):

- ipv4-addr, ipv6-addr: one `alert ip <addr> any <> any any` rule, both directions.
- domain-name: three rules, on `dns.query`, `tls.sni` and `http.host`, each matching
  the domain and its subdomains (`dotprefix; content:".example.com"; endswith;`).
  `http.host` is lower-cased by Suricata, which refuses `nocase` on it.
- url (http and https): `http.host` and `http.uri.raw`, each an exact match (`bsize`
  equal to the content's length); an IP host goes in the rule header instead, a port
  other than the scheme's default too. An https URL matches only where TLS is
  decrypted; ftp URLs have no rule. A proxy request (absolute URI) is not matched.
- file-md5, file-sha1, file-sha256: Suricata reads hashes only from list files, so
  each report gets one rule per hash type, `filesha256:rsn-<report id>-sha256.txt`,
  and the list file is written beside the rules: in `lists_dir`, or else in the
  folder of `out` when it is a file on disk (`rsn export -o FILE`). Suricata looks
  a relative list name up in its `default-rule-path`, then beside the rules file.
  Where no folder is known (standard output, an HTTP body), the hash rules are
  written commented out, so the file still loads.

Each rule's sid is stable: derived from the report id and the observable, in the
local range 1,000,000-1,999,999. Should two keys of one export fall on the same
sid, the keys are taken in sorted order and the later one moves to the next free
sid, so a collision is settled the same way whatever order the reports came in.
`rev` is the report's version; `msg` carries the marking and the title; `metadata`
the report id, marking and category. Revoked reports get no rule.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from rsn import clock
from rsn.errors import ValidationError
from rsn.interop.model import ExportContext, ExportItem
from rsn.sharing.models import TLP_LEVELS

SID_FIRST = 1_000_000
SID_LAST = 1_999_999
TLP_ORDER = TLP_LEVELS
HASHES = {"file-md5": "md5", "file-sha1": "sha1", "file-sha256": "sha256"}
LABEL_MAX = 100

# Bytes a content string may hold as they are; every other byte goes in |hex|.
_PLAIN = frozenset(range(0x20, 0x7F)) - {ord(c) for c in '";\\|'}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_META_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


@dataclass(frozen=True)
class Rule:
    """One rule before its sid is known; `key` is what the sid is derived from."""

    key: str
    header: str
    match: str
    label: str
    enabled: bool = True


@dataclass(frozen=True)
class _Report:
    report_id: str
    version: int
    title: str
    tlp: str
    category: str


def export(
    items: Iterable[ExportItem],
    out: IO[bytes],
    context: ExportContext,
    *,
    lists_dir: Path | None = None,
) -> int:
    """Write the rules (and the hash list files, where a folder is known); returns reports.

    Only the rules are held until the sids are known, not the items, so a large
    export streams its reports through.
    """
    folder = lists_dir if lists_dir is not None else _folder_of(out)
    built: list[tuple[_Report, list[Rule]]] = []
    lists: dict[str, str] = {}
    for item in items:
        if item.current.get("revoked"):
            continue
        rules = rules_for(item, lists=folder is not None)
        if rules:
            built.append((_report(item), rules))
        lists.update(hash_lists([item]))
    sids = assign_sids(rule.key for _, rules in built for rule in rules)
    out.write(_header(context, built, folder).encode())
    for report, rules in built:
        for rule in rules:
            out.write((_render(rule, report, sids[rule.key]) + "\n").encode())
    if folder is not None:
        write_lists(lists, folder)
    return len(built)


def hash_lists(items: Iterable[ExportItem]) -> dict[str, str]:
    """List file name -> its text (one hash a line, sorted), for each live report's hashes."""
    found: dict[str, str] = {}
    for item in items:
        if item.current.get("revoked"):
            continue
        for kind, values in _hashes(item.current).items():
            found[list_name(item.report_id, kind)] = "".join(f"{v}\n" for v in values)
    return found


def write_lists(lists: Mapping[str, str], folder: Path) -> list[Path]:
    """The list files `hash_lists` gave, written into `folder` (replacing older ones)."""
    written = []
    for name, text in lists.items():
        path = folder / name
        path.write_text(text, encoding="ascii")
        written.append(path)
    return written


def list_name(report_id: str, observable_type: str) -> str:
    """Report ids are UUIDs; anything else is cut to characters safe in a file name."""
    return f"rsn-{_META_UNSAFE.sub('_', report_id)}-{HASHES[observable_type]}.txt"


def rules_for(item: ExportItem, *, lists: bool = True) -> list[Rule]:
    """The rules of one report, once each, in the order of its observables."""
    rules: dict[str, Rule] = {}
    snapshot = item.current
    for observable in snapshot.get("observables", []):
        kind, value = str(observable["type"]), str(observable["value"])
        for rule in _BUILDERS.get(kind, _none)(item.report_id, kind, value):
            rules.setdefault(rule.key, rule)
    for kind in _hashes(snapshot):
        rule = _hash_rule(item.report_id, kind, enabled=lists)
        rules.setdefault(rule.key, rule)
    return list(rules.values())


def assign_sids(keys: Iterable[str]) -> dict[str, int]:
    """A sid per key from its hash; collisions settled in sorted key order (see above)."""
    span = SID_LAST - SID_FIRST + 1
    ordered = sorted(set(keys))
    if len(ordered) > span:
        raise ValidationError.field(
            "export", f"needs {len(ordered)} rules, more than the {span} sids of the local range."
        )
    taken: set[int] = set()
    sids: dict[str, int] = {}
    for key in ordered:
        offset = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % span
        while SID_FIRST + offset in taken:
            offset = (offset + 1) % span
        taken.add(SID_FIRST + offset)
        sids[key] = SID_FIRST + offset
    return sids


def _render(rule: Rule, report: _Report, sid: int) -> str:
    msg = escape_msg(f"RSN TLP:{report.tlp.upper()} {report.title} | {rule.label}")
    meta = ", ".join(
        (
            f"rsn_report {_meta(report.report_id)}",
            f"tlp {_meta(report.tlp)}",
            f"rsn_category {_meta(report.category)}",
        )
    )
    body = f'msg:"{msg}"; {rule.match}metadata:{meta}; sid:{sid}; rev:{report.version};'
    return f"{'' if rule.enabled else '# '}{rule.header} ({body})"


def escape_msg(text: str) -> str:
    """Suricata reads `\\`, `"` and `;` in a msg only escaped; a line break ends the rule."""
    flat = _CONTROL.sub(" ", text)
    return flat.replace("\\", "\\\\").replace('"', '\\"').replace(";", "\\;")


def content(text: str) -> str:
    """A content string: printable ASCII as is, `"` `;` `\\` `|` and all else as |hex|."""
    parts: list[str] = []
    run: list[str] = []
    for byte in text.encode():
        if byte in _PLAIN:
            if run:
                parts.append("|" + " ".join(run) + "|")
                run = []
            parts.append(chr(byte))
        else:
            run.append(f"{byte:02X}")
    if run:
        parts.append("|" + " ".join(run) + "|")
    return "".join(parts)


def _meta(value: str) -> str:
    """Metadata values are split on `,` and spaces: keep them to one safe word."""
    return _META_UNSAFE.sub("_", value) or "_"


def _report(item: ExportItem) -> _Report:
    snapshot = item.current
    return _Report(
        report_id=item.report_id,
        version=item.versions[-1].version,
        title=str(snapshot.get("title", "")),
        tlp=str(snapshot.get("tlp", "")),
        category=str(snapshot.get("category", "")),
    )


def _label(kind: str, value: str) -> str:
    short = value if len(value) <= LABEL_MAX else value[: LABEL_MAX - 1] + "…"
    return f"{kind} {short}"


def _none(report_id: str, kind: str, value: str) -> list[Rule]:
    return []


def _address_rules(report_id: str, kind: str, value: str) -> list[Rule]:
    address = ipaddress.ip_address(value).compressed
    return [
        Rule(
            key=f"{report_id}|ip|{address}",
            header=f"alert ip {_header_address(address)} any <> any any",
            match="",
            label=_label(kind, address),
        )
    ]


def _header_address(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def _domain_rules(report_id: str, kind: str, value: str) -> list[Rule]:
    suffix = content("." + value.lower())
    label = _label(kind, value)
    return [
        Rule(
            key=f"{report_id}|{where}|{value}",
            header=f"alert {proto} any any -> any any",
            match=f'{where}; dotprefix; content:"{suffix}";{nocase} endswith; ',
            label=f"{label} ({where})",
        )
        for proto, where, nocase in (
            ("dns", "dns.query", " nocase;"),
            ("tls", "tls.sni", " nocase;"),
            ("http", "http.host", ""),
        )
    ]


def _url_rules(report_id: str, kind: str, value: str) -> list[Rule]:
    parts = urlsplit(value)
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        return []
    uri = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    dest, match = "any", ""
    if _is_ip(host):
        dest = _header_address(ipaddress.ip_address(host).compressed)
    else:
        match = f'http.host; content:"{content(host)}"; bsize:{len(host.encode())}; '
    match += f'http.uri.raw; content:"{content(uri)}"; bsize:{len(uri.encode())}; '
    port = parts.port if parts.port is not None else "any"
    return [
        Rule(
            key=f"{report_id}|url|{value}",
            header=f"alert http any any -> {dest} {port}",
            match=match,
            label=_label(kind, value),
        )
    ]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _hash_rule(report_id: str, kind: str, *, enabled: bool) -> Rule:
    algorithm = HASHES[kind]
    return Rule(
        key=f"{report_id}|{kind}|list",
        header="alert ip any any -> any any",
        match=f"file{algorithm}:{list_name(report_id, kind)}; ",
        label=f"{kind} list",
        enabled=enabled,
    )


def _hashes(snapshot: Mapping[str, Any]) -> dict[str, list[str]]:
    found: dict[str, set[str]] = {}
    for observable in snapshot.get("observables", []):
        kind = str(observable["type"])
        if kind in HASHES:
            found.setdefault(kind, set()).add(str(observable["value"]).lower())
    return {kind: sorted(found[kind]) for kind in HASHES if kind in found}


def _folder_of(out: IO[bytes]) -> Path | None:
    """The folder of `out` when it is a file on disk; None for stdout, pipes, buffers."""
    name = getattr(out, "name", None)
    if isinstance(name, str) and Path(name).is_file():
        return Path(name).resolve().parent
    return None


def _header(
    context: ExportContext, built: list[tuple[_Report, list[Rule]]], folder: Path | None
) -> str:
    levels = {report.tlp for report, _ in built}
    strictest = max(levels, key=_strictness) if levels else None
    marking = f"TLP:{strictest.upper()}" if strictest else "none (no rule)"
    count = sum(len(rules) for _, rules in built)
    lines = [
        f"Suricata rules from RSN node {_CONTROL.sub(' ', context.node_name)}",
        f"Generated {clock.now().isoformat(timespec='seconds')}",
        f"Most restrictive marking included: {marking}.",
        "These rules carry shared data: handle the whole file at that marking.",
        f"Reports: {len(built)}; rules: {count}; sids in {SID_FIRST}-{SID_LAST}.",
    ]
    if any(rule.key.endswith("|list") for _, rules in built for rule in rules):
        lines.append(
            "Hash rules read list files rsn-<report id>-<md5|sha1|sha256>.txt beside this file."
            if folder is not None
            else "Hash rules are commented out: their list files need a folder (-o FILE)."
        )
    return "".join(f"# {line}\n" for line in lines) + "\n"


def _strictness(tlp: str) -> int:
    return TLP_ORDER.index(tlp) if tlp in TLP_ORDER else len(TLP_ORDER)


_BUILDERS = {
    "ipv4-addr": _address_rules,
    "ipv6-addr": _address_rules,
    "domain-name": _domain_rules,
    "url": _url_rules,
}
