"""Suricata rules: every line read by an independent parser (idstools) and, where the
`suricata` binary is installed, loaded by Suricata itself (`suricata -T`)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from idstools import rule as idsrule

from rsn.interop import flows, suricata
from rsn.interop.model import ExportContext, ExportItem, Originator, VersionOut, report_data
from rsn.reports import rows, service
from rsn.store import Database
from tests.factories import bimstec_world, report_payload

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
CONTEXT = ExportContext("rsn-dhaka")
SURICATA = shutil.which("suricata")
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
NETWORK = [
    {"type": "ipv4-addr", "value": "192.0.2.7"},
    {"type": "ipv6-addr", "value": "2001:db8::7"},
    {"type": "domain-name", "value": "bad.example.com"},
    {"type": "url", "value": "http://bad.example.com:8080/drop/a.php?id=1"},
    {"type": "url", "value": "https://198.51.100.3/x"},
    {"type": "url", "value": "ftp://files.example.net/x"},
    {"type": "file-sha256", "value": SHA256},
    {"type": "file-md5", "value": MD5},
    {"type": "phone-number", "value": "+8801712345678"},
]
HOSTILE_TITLE = 'Bad"; sid:1; rev:9;) alert ip any any -> any any (msg:"x\\ |7C| ; \n\tend ভারত'
HOSTILE_URL = 'http://evil.example.org/a;b"c|d\\e/%22?q=";sid:2;'


def item(report_id: str, *, version: int = 1, revoked: bool = False, **fields: Any) -> ExportItem:
    """An export item whose snapshot is written by the node's own snapshot code."""
    data = report_data("test", report_payload(**fields))
    values = data.model_dump()
    values.update(
        lat=None,
        lon=None,
        source_identity=None,
        created=T0,
        modified=T0,
        revoked=revoked,
        revoked_reason="wrong" if revoked else None,
        revoked_at=T0 if revoked else None,
    )
    snapshot = rows.snapshot(values, [(o.type, o.value) for o in data.observables])
    originator = Originator("bd.analyst", "bd-cert", "BD CERT", "BD")
    return ExportItem(report_id, originator, [VersionOut(version, version, T0, snapshot)])


def rid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def export(items: list[ExportItem], **kwargs: Any) -> tuple[str, int]:
    out = io.BytesIO()
    written = suricata.export(items, out, CONTEXT, **kwargs)
    return out.getvalue().decode(), written


def parsed(text: str) -> list[Any]:
    """Every rule line through idstools; a line it cannot read fails the test."""
    found = []
    for line in text.splitlines():
        if not line.strip() or (line.startswith("#") and not line.startswith("# alert ")):
            continue
        rule = idsrule.parse(line)
        assert rule is not None, f"idstools could not read: {line}"
        found.append(rule)
    return found


def contents(rule: Any) -> list[bytes]:
    """The bytes each content string stands for, decoded here from Suricata's notation."""
    out = []
    for option in rule["options"]:
        if option["name"] == "content":
            raw = option["value"][1:-1]
            parts = re.split(r"\|([0-9A-Fa-f ]*)\|", raw)
            out.append(
                b"".join(bytes.fromhex(p) if i % 2 else p.encode() for i, p in enumerate(parts))
            )
    return out


def suricata_accepts(rules_file: Path, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    done = subprocess.run(
        [str(SURICATA), "-T", "-S", str(rules_file), "-l", str(logs)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "E:" not in done.stdout + done.stderr


def test_each_observable_kind_gives_rules_idstools_reads() -> None:
    text, written = export([item(rid(1), version=3, tlp="green", observables=NETWORK)])
    rules = parsed(text)
    assert written == 1
    by_proto: dict[str, int] = {}
    for r in rules:
        by_proto[r["proto"]] = by_proto.get(r["proto"], 0) + 1
        assert r["rev"] == 3 and r["gid"] == 1
        assert suricata.SID_FIRST <= r["sid"] <= suricata.SID_LAST
        assert f"rsn_report {rid(1)}" in r["metadata"] and "tlp green" in r["metadata"]
        assert "rsn_category organized-crime.human-trafficking" in r["metadata"]
        assert r["msg"].startswith("RSN TLP:GREEN Trafficking ring")
    # 2 addresses and 2 hash lists (ip), 1 domain on dns, tls, http, 2 urls (http)
    assert by_proto == {"ip": 4, "dns": 1, "tls": 1, "http": 3}
    assert len({r["sid"] for r in rules}) == len(rules)
    v6 = next(r for r in rules if r["source_addr"] == "[2001:db8::7]")
    assert (v6["direction"], v6["dest_addr"]) == ("<>", "any")


def test_url_rule_matches_host_and_uri_exactly() -> None:
    text, _ = export([item(rid(1), observables=NETWORK[3:5])])
    named, by_ip = parsed(text)
    assert (named["dest_addr"], named["dest_port"]) == ("any", "8080")
    assert contents(named) == [b"bad.example.com", b"/drop/a.php?id=1"]
    assert [o["value"] for o in named["options"] if o["name"] == "bsize"] == ["15", "16"]
    assert (by_ip["dest_addr"], contents(by_ip)) == ("198.51.100.3", [b"/x"])


def test_hostile_title_and_values_stay_inside_their_options() -> None:
    hostile = [
        {"type": "url", "value": HOSTILE_URL},
        {"type": "domain-name", "value": "xn--bcher-kva.example"},
    ]
    text, _ = export([item(rid(1), title=HOSTILE_TITLE, observables=hostile)])
    rules = parsed(text)
    assert len(rules) == 4 and len(text.strip().splitlines()) == 5 + 1 + 4  # header, blank
    flat = HOSTILE_TITLE.replace("\n", " ").replace("\t", " ")
    for r in rules:
        names = [o["name"] for o in r["options"]]
        assert names[0] == "msg" and names[-2:] == ["sid", "rev"]
        assert names.count("sid") == 1 and r["sid"] >= suricata.SID_FIRST
        unescaped = re.sub(r"\\(.)", r"\1", r["msg"])
        assert unescaped.startswith(f"RSN TLP:AMBER {flat} | ")
    url = next(r for r in rules if r["proto"] == "http" and len(contents(r)) == 2)
    # The URL is normalised to a URI first: quote, bar and backslash arrive percent-encoded.
    assert contents(url) == [b"evil.example.org", b"/a;b%22c%7Cd%5Ce/%22?q=%22;sid:2;"]
    raw = url["raw"]
    assert not re.search(r'content:"[^"]*[;\\][^"]*"', raw)  # ; and \ only as |hex|


def test_revoked_reports_give_no_rule_and_header_names_strictest_marking() -> None:
    items = [
        item(rid(1), tlp="clear", distribution={}, observables=NETWORK[:1]),
        item(rid(2), tlp="amber", observables=NETWORK[2:3]),
        item(rid(3), tlp="red", distribution={}, observables=NETWORK[:1], revoked=True),
        item(rid(4), tlp="red", distribution={}, observables=NETWORK[8:]),  # phone only
    ]
    text, written = export(items)
    assert written == 2
    assert rid(3) not in text and rid(4) not in text
    header = text.split("\n\n", 1)[0]
    assert "rsn-dhaka" in header and "TLP:AMBER." in header
    assert re.search(r"Generated \d{4}-\d\d-\d\dT", header)


def test_hash_rules_need_a_folder_for_their_lists(tmp_path: Path) -> None:
    only_hashes = item(rid(5), observables=NETWORK[6:8])
    text, _ = export([only_hashes])
    assert all(line.startswith("# ") for line in text.splitlines() if "filesha256" in line)
    assert not list(tmp_path.iterdir())
    text, _ = export([only_hashes], lists_dir=tmp_path)
    active = [r for r in parsed(text) if r["enabled"]]
    assert {r["options"][1]["name"] for r in active} == {"filemd5", "filesha256"}
    listed = (tmp_path / suricata.list_name(rid(5), "file-sha256")).read_text()
    assert listed == SHA256 + "\n"


def test_lists_go_beside_a_rules_file_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "rsn.rules"
    with path.open("wb") as out:
        suricata.export([item(rid(6), observables=NETWORK[7:8])], out, CONTEXT)
    assert (tmp_path / suricata.list_name(rid(6), "file-md5")).read_text() == MD5 + "\n"
    assert all(r["enabled"] for r in parsed(path.read_text()))


def test_sids_are_stable_across_exports_and_orders() -> None:
    a = item(rid(1), observables=NETWORK[:4])
    b = item(rid(2), observables=NETWORK[:4])
    first = {r["msg"] + r["header"] + str(contents(r)): r["sid"] for r in parsed(export([a])[0])}
    both = parsed(export([b, a])[0])
    again = {
        r["msg"] + r["header"] + str(contents(r)): r["sid"] for r in both if rid(1) in r["raw"]
    }
    assert first == again
    assert len({r["sid"] for r in both}) == len(both)


def test_colliding_keys_get_distinct_sids_whatever_the_order() -> None:
    seen: dict[int, str] = {}
    for n in range(200_000):
        key = f"key-{n}"
        sid = suricata.assign_sids([key])[key]
        if sid in seen:
            pair = [seen[sid], key]
            break
        seen[sid] = key
    else:
        pytest.fail("no collision found")
    one, two = suricata.assign_sids(pair), suricata.assign_sids(reversed(pair))
    assert one == two and len(set(one.values())) == 2
    assert suricata.SID_FIRST <= max(one.values()) <= suricata.SID_LAST


def test_content_escaping() -> None:
    assert suricata.content('a"b;c\\d|e') == "a|22|b|3B|c|5C|d|7C|e"
    assert suricata.content("é\x01") == "|C3 A9 01|"
    assert suricata.escape_msg('a;b"c\\d\ne') == 'a\\;b\\"c\\\\d e'


@pytest.mark.skipif(SURICATA is None, reason="suricata is not installed (not in Debian bookworm)")
def test_suricata_loads_every_rule(tmp_path: Path) -> None:
    hostile = [*NETWORK, {"type": "url", "value": HOSTILE_URL}]
    items = [
        item(rid(1), title=HOSTILE_TITLE, observables=hostile),
        item(rid(2), version=4, tlp="red", distribution={}, observables=NETWORK),
    ]
    path = tmp_path / "rsn.rules"
    with path.open("wb") as out:
        assert suricata.export(items, out, CONTEXT) == 2
    assert len(parsed(path.read_text())) == 10 + 9
    suricata_accepts(path, tmp_path)


def test_exports_what_the_reader_may_read(db: Database, tmp_path: Path) -> None:
    """Through the path `rsn export --format suricata -o FILE` takes."""
    world = bimstec_world(db)
    author = world.people["bd.analyst"].principal
    with db.session(write=True) as s:
        shared = service.create(
            s, principal=author, data=report_data("r", report_payload(observables=NETWORK[:4]))
        )
        hidden = service.create(
            s,
            principal=author,
            data=report_data(
                "r", report_payload(tlp="red", distribution={}, observables=NETWORK[2:3])
            ),
        )
    path = tmp_path / "in.rules"
    with db.session(write=True) as s, path.open("wb") as out:
        reader = world.people["in.analyst"].principal
        assert flows.export_stream(s, principal=reader, out=out, format="suricata") == 1
    text = path.read_text()
    assert shared in text and hidden not in text
    assert len(parsed(text)) == 2 + 3 + 1
    if SURICATA is not None:
        suricata_accepts(path, tmp_path)
