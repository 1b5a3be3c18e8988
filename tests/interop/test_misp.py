"""MISP event JSON: what RSN writes passes PyMISP (which replicates MISP's own attribute
validation) and converts with misp-stix; public MISP events import; RSN -> MISP -> RSN keeps
every report field; a bad file fails naming the event and attribute, storing nothing."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pymisp import MISPEvent
from pymisp.tools.attributevalidationtool import validate_event
from sqlalchemy import func, select
from stix2validator import ValidationOptions, validate_string

from rsn.errors import ValidationError
from rsn.interop import flows, misp, outbound
from rsn.interop.model import (
    ExportContext,
    ExportItem,
    ImportContext,
    Incoming,
    Originator,
    VersionOut,
)
from rsn.registry.taxonomy import load_base
from rsn.reports import service
from rsn.reports.models import Report
from rsn.reports.schemas import ReportCreate
from rsn.store import Database
from tests.factories import World, bimstec_world, report_payload

DATA = Path(__file__).parent.parent / "data" / "misp"
SAMPLES = sorted(DATA.glob("*.json"))
RID = "0b5e1f0c-7d4a-4e43-9d51-1f2a3b4c5d6e"
T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
CATEGORIES = load_base().ids()
FIELDS = (
    "title",
    "category",
    "description",
    "occurred_at",
    "country",
    "location",
    "sea_area",
    "severity",
    "confidence",
    "source_reliability",
    "information_credibility",
    "tlp",
    "distribution",
    "observables",
)

OBSERVABLES = [
    ("ipv4-addr", "203.0.113.7"),
    ("ipv6-addr", "2001:db8::1"),
    ("domain-name", "example.com"),
    ("url", "https://example.com/a?b=1"),
    ("email-addr", "recruiter@example.com"),
    ("file-md5", "0749bae92ca336a02c83d126e04ec628"),
    ("file-sha1", "77b0c41b7d340b8a3d903f21347bbf06aa766b5b"),
    ("file-sha256", "b3c4ae251f8094fa15b510051835c657eaef2a6cea46075d3aec964b14a99f68"),
    ("phone-number", "+8801712345678"),
    ("vessel-imo", "IMO9074729"),
    ("vessel-mmsi", "405000123"),
    ("vehicle-plate", "DHAKAGA123456"),
    ("person-name", "john doe"),
    ("group-name", "sea wolves"),
    ("crypto-wallet", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
    ("crypto-wallet", "0x52908400098527886e0f7030069857d2e4169ee7"),
    ("bank-account", "GB82WEST12345698765432"),
    ("bank-account", "BD:1234567890123"),
]


def snapshot(**overrides: Any) -> dict[str, Any]:
    """A stored version as `rsn.reports.rows.snapshot` writes it, every field filled."""
    body: dict[str, Any] = {
        "title": "Skiff approached a tanker off Chittagong",
        "category": "maritime.piracy",
        "description": "Six armed men in a skiff.\nThe crew mustered in the citadel.",
        "occurred_at": "2026-11-01T22:15:30.250Z",
        "country": "BD",
        "location": {"lat": 21.4, "lon": 91.9},
        "sea_area": "Bay of Bengal",
        "severity": "critical",
        "confidence": 85,
        "source_reliability": "B",
        "information_credibility": "2",
        "tlp": "amber",
        "distribution": {
            "member_states": ["IN", "MM"],
            "organizations": ["in-coastguard"],
            "sharing_groups": ["bay-patrol"],
            "users": [],
        },
        "observables": [{"type": t, "value": v} for t, v in OBSERVABLES],
        "source_identity": None,
        "created": "2026-11-01T23:00:00.000Z",
        "modified": "2026-11-02T09:30:00.000Z",
        "revoked": False,
        "revoked_reason": None,
        "revoked_at": None,
    }
    body.update(overrides)
    return body


def item(snap: dict[str, Any], kept: list[dict[str, Any]] | None = None) -> ExportItem:
    who = Originator("bd.analyst", "bd-cert", "Bangladesh Navy Operations", "BD")
    return ExportItem(RID, who, [VersionOut(1, 1, T0, snap)], kept or [])


def written(*items: ExportItem) -> bytes:
    out = io.BytesIO()
    assert misp.export(items, out, ExportContext("rsn-test")) == len(items)
    return out.getvalue()


def context(country: str | None = "IN") -> ImportContext:
    return ImportContext(importer_org="in-cert", default_country=country, categories=CATEGORIES)


def read(data: bytes, country: str | None = "IN") -> list[Incoming]:
    return list(misp.parse(io.BytesIO(data), context(country)))


def events(data: bytes) -> list[dict[str, Any]]:
    return [e["Event"] for e in json.loads(data)["response"]]


def good_event(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "info": "Phishing wave",
        "date": "2026-02-01",
        "Attribute": [{"type": "domain", "value": "phish.example"}],
    }
    event.update(changes)
    return {"Event": event}


MISP_STIX = """
import json, sys, warnings
warnings.simplefilter("ignore", ImportWarning)
from misp_stix_converter import MISPtoSTIX21Parser
parser = MISPtoSTIX21Parser()
parser.parse_json_content(sys.stdin.buffer.read())
bundle = json.loads(parser.bundle.serialize())
json.dump({"errors": parser.errors, "warnings": parser.warnings, "bundle": bundle}, sys.stdout)
"""


def misp_stix(data: bytes) -> dict[str, Any]:
    """misp-stix in a process of its own: importing it puts six's old importer on
    sys.meta_path, after which every new import in the process warns (an error here)."""
    done = subprocess.run(
        [sys.executable, "-c", MISP_STIX], input=data, capture_output=True, timeout=300
    )
    assert done.returncode == 0, done.stderr.decode()
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def as_snapshot(data: ReportCreate) -> dict[str, Any]:
    """The fields of an imported version in the form a snapshot holds them."""
    fields = data.model_dump(mode="json")
    fields["occurred_at"] = data.occurred_at.isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )
    return {key: fields[key] for key in FIELDS}


# --- export, checked by MISP's own tools -------------------------------------------


def test_export_passes_pymisp_strict_loading_and_misp_attribute_validation() -> None:
    data = written(item(snapshot()), item(snapshot(tlp="clear", distribution={})))
    for raw in events(data):
        event = MISPEvent(strict_validation=True)
        event.load({"Event": json.loads(json.dumps(raw))})
        assert event.info == "Skiff approached a tanker off Chittagong"
        assert str(event.uuid) == RID and event.threat_level_id == 1
        errors: dict[str, list[str]] = {}
        validate_event(json.loads(json.dumps(raw)), errors)
        assert errors == {}
    amber, clear = events(data)
    assert (amber["distribution"], clear["distribution"]) == ("1", "3")
    assert amber["Orgc"]["name"] == "Bangladesh Navy Operations"
    tags = {t["name"] for t in amber["Tag"]}
    assert {"tlp:amber", 'rsn:category="maritime.piracy"', 'rsn:country="BD"'} <= tags
    assert 'admiralty-scale:source-reliability="b"' in tags
    types = {(a["type"], a["value"]) for a in amber["Attribute"]}
    assert {("ip-dst", "203.0.113.7"), ("md5", OBSERVABLES[5][1]), ("btc", OBSERVABLES[14][1])} <= (
        types
    )
    assert [o["name"] for o in amber["Object"]] == ["geolocation"]


@pytest.mark.parametrize(
    ("tlp", "level"), [("clear", "3"), ("green", "2"), ("amber+strict", "0"), ("red", "0")]
)
def test_tlp_becomes_a_tlp_tag_and_a_distribution_level(tlp: str, level: str) -> None:
    [event] = events(written(item(snapshot(tlp=tlp, distribution={}))))
    assert event["distribution"] == level
    assert [t["name"] for t in event["Tag"] if t["name"].startswith("tlp:")] == [f"tlp:{tlp}"]


def test_export_converts_to_stix_21_with_misp_stix() -> None:
    second = item(snapshot(title="Second", tlp="green", distribution={}))
    result = misp_stix(written(item(snapshot()), second))
    assert result["errors"] == {}
    objects = result["bundle"]["objects"]
    reports = sorted(o["name"] for o in objects if o["type"] == "report")
    assert reports == ["Second", "Skiff approached a tanker off Chittagong"]
    patterns = " ".join(o["pattern"] for o in objects if o["type"] == "indicator")
    assert "203.0.113.7" in patterns and OBSERVABLES[7][1] in patterns
    assert any(o["type"] == "location" for o in objects)
    failed = [w for ws in result["warnings"].values() for w in ws if "Failed validation" in w]
    assert failed == []


# --- round trip --------------------------------------------------------------------


@pytest.mark.parametrize("tlp", ["clear", "green", "amber", "amber+strict", "red"])
def test_rsn_to_misp_to_rsn_keeps_every_field(tlp: str) -> None:
    users = ["bd.duty"] if tlp == "red" else []
    snap = snapshot(tlp=tlp, distribution={**snapshot()["distribution"], "users": users})
    [incoming] = read(written(item(snap)), country=None)
    [version] = incoming.versions
    assert as_snapshot(version.data) == {key: snap[key] for key in FIELDS}
    assert version.modified == T0 and not version.revoked
    assert (incoming.external_id, incoming.preferred_id) == (RID, RID)
    assert incoming.source_identity == "Bangladesh Navy Operations"
    assert incoming.kept == []


def test_round_trip_keeps_revocation_and_a_report_without_place_or_description() -> None:
    snap = snapshot(
        description="",
        location=None,
        sea_area=None,
        observables=[],
        revoked=True,
        revoked_reason="Duplicate of the coast guard's report.",
        revoked_at="2026-11-02T09:30:00.000Z",
    )
    [version] = read(written(item(snap)))[0].versions
    assert as_snapshot(version.data) == {key: snap[key] for key in FIELDS}
    assert version.revoked and version.revoked_reason == "Duplicate of the coast guard's report."
    assert version.revoked_at == T0


def test_parts_kept_from_misp_are_written_back_and_values_not_doubled() -> None:
    original = json.loads((DATA / "circl-osint-xorist.json").read_bytes())
    [incoming] = read(json.dumps(original).encode())
    snap = snapshot(
        observables=[dict(o) for o in incoming.versions[0].data.model_dump()["observables"]]
    )
    [event] = events(written(item(snap, kept=incoming.kept)))
    before = {(a["type"], a["value"]) for a in original["Event"]["Attribute"]}
    after = [(a["type"], a["value"]) for a in event["Attribute"]]
    assert before <= set(after) and len(after) == len(set(after))
    tags = {t["name"] for t in event["Tag"]}
    assert 'ms-caro-malware:malware-type="Ransom"' in tags


# --- import of public MISP events --------------------------------------------------


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_public_misp_events_are_sniffed_and_read(path: Path) -> None:
    raw = path.read_bytes()
    assert misp.sniff(raw[:4096])
    [incoming] = read(raw)
    source = json.loads(raw)
    event = source.get("Event", source)
    data = incoming.versions[0].data
    assert data.title == event["info"] and data.country == "IN"
    assert incoming.external_id == event["uuid"] and incoming.source == event["Orgc"]["uuid"]
    tlp_tags = {t["name"] for t in event.get("Tag", [])} & {"tlp:white", "tlp:clear"}
    assert data.tlp == ("clear" if tlp_tags else "amber+strict")
    values = {o.value for o in data.observables}
    kept = {json.dumps(k["x_misp"], sort_keys=True) for k in incoming.kept}
    for attr in event.get("Attribute", []):
        mapped = attr["value"].lower() in values
        assert mapped or json.dumps(attr, sort_keys=True) in kept, attr["value"]


def test_the_circl_event_maps_hashes_and_keeps_the_rest() -> None:
    [incoming] = read((DATA / "circl-osint-xorist.json").read_bytes())
    data = incoming.versions[0].data
    assert [o.type for o in data.observables] == ["file-md5", "file-sha1", "file-sha256"]
    assert (data.category, data.severity, data.confidence) == ("cyber.attack", "low", 50)
    assert data.occurred_at == datetime(2016, 8, 29, tzinfo=UTC)
    assert incoming.versions[0].modified == datetime.fromtimestamp(1472541011, UTC)
    kinds = sorted({k["x_misp_kind"] for k in incoming.kept})
    assert kinds == ["Attribute", "Tag"]


def test_objects_give_observables_and_are_kept_whole() -> None:
    [incoming] = read((DATA / "circl-osint-qakbot-emotet.json").read_bytes())
    ips = {o.value for o in incoming.versions[0].data.observables if o.type == "ipv4-addr"}
    objects = [k["x_misp"] for k in incoming.kept if k["x_misp_kind"] == "Object"]
    inside = {a["value"] for o in objects for a in o["Attribute"] if a["type"] == "ip-dst"}
    assert objects and inside <= ips


def test_kept_parts_are_valid_stix_objects_for_other_exports() -> None:
    [incoming] = read((DATA / "circl-osint-qakbot-emotet.json").read_bytes())
    [again] = read((DATA / "circl-osint-qakbot-emotet.json").read_bytes())
    assert [k["id"] for k in incoming.kept] == [k["id"] for k in again.kept]
    assert len({k["id"] for k in incoming.kept}) == len(incoming.kept)
    bundle = {"type": "bundle", "id": "bundle--" + RID, "objects": incoming.kept}
    result = validate_string(json.dumps(bundle), ValidationOptions(version="2.1"))
    assert result.is_valid, [str(e) for e in result.errors]


def foreign_event() -> dict[str, Any]:
    """An event as other MISP tools write it: no rsn tags, objects, composites."""
    return {
        "info": "Leak of a ministry mail archive",
        "date": "2026-03-04",
        "threat_level_id": "2",
        "Tag": [
            {"name": "tlp:amber+strict"},
            {"name": "tlp:green"},
            {"name": 'rsit:information-content-security="unauthorised-information-access"'},
            {"name": 'misp-galaxy:country="myanmar"'},
            {"name": 'misp:confidence-level="usually-confident"'},
            {"name": 'admiralty-scale:information-credibility="3"'},
        ],
        "Attribute": [
            {"type": "ip-src", "value": "198.51.100.0/24"},
            {"type": "hostname", "value": "Mail.Example.ORG"},
            {"type": "domain|ip", "value": "example.org|192.0.2.9"},
            {"type": "bank-account-nr", "value": "1234567890"},
            {"type": "threat-actor", "value": "Sea  Wolves", "deleted": True},
        ],
        "Object": [
            {
                "name": "geolocation",
                "Attribute": [
                    {"type": "float", "object_relation": "latitude", "value": "16.8"},
                    {"type": "float", "object_relation": "longitude", "value": "96.15"},
                    {"type": "text", "object_relation": "city", "value": "Yangon"},
                ],
            },
            {
                "name": "vehicle",
                "Attribute": [
                    {
                        "type": "text",
                        "object_relation": "license-plate-number",
                        "value": "YGN 1A-2345",
                    },
                ],
            },
        ],
    }


def test_tags_and_objects_from_other_tools_fill_report_fields() -> None:
    event = foreign_event()
    [incoming] = read(json.dumps([event]).encode())
    data = incoming.versions[0].data
    assert (data.category, data.country, data.tlp, data.severity) == (
        "cyber.breach",
        "MM",
        "amber+strict",
        "medium",
    )
    assert (data.confidence, data.information_credibility) == (75, "3")
    assert data.location is not None and (data.location.lat, data.location.lon) == (16.8, 96.15)
    assert [(o.type, o.value) for o in data.observables] == [
        ("domain-name", "mail.example.org"),
        ("domain-name", "example.org"),
        ("ipv4-addr", "192.0.2.9"),
        ("vehicle-plate", "YGN1A2345"),
    ]
    kept = [
        (k["x_misp_kind"], k["x_misp"].get("type") or k["x_misp"]["name"]) for k in incoming.kept
    ]
    assert kept == [
        ("Tag", 'rsit:information-content-security="unauthorised-information-access"'),
        ("Attribute", "ip-src"),
        ("Attribute", "domain|ip"),
        ("Attribute", "bank-account-nr"),
        ("Object", "geolocation"),
        ("Object", "vehicle"),
    ]


def test_what_came_with_kept_parts_is_not_written_twice() -> None:
    [incoming] = read(json.dumps(foreign_event()).encode())
    data = incoming.versions[0].data.model_dump(mode="json")
    snap = snapshot(location=data["location"], observables=data["observables"])
    [event] = events(written(item(snap, kept=incoming.kept)))
    assert [o["name"] for o in event["Object"]] == ["geolocation", "vehicle"]
    values = [a["value"] for a in event["Attribute"]]
    assert "mail.example.org" in values and "YGN1A2345" not in values
    assert "example.org" not in values and "example.org|192.0.2.9" in values
    moved = snapshot(location={"lat": 16.9, "lon": 96.15}, observables=[])
    [event] = events(written(item(moved, kept=incoming.kept)))
    assert [o["name"] for o in event["Object"]] == ["geolocation", "geolocation", "vehicle"]


def test_an_unknown_child_category_falls_back_to_its_parent() -> None:
    event = {
        "Event": {
            "info": "x",
            "date": "2026-01-01",
            "Tag": [{"name": 'rsn:category="cyber.ransomware"'}],
        }
    }
    [incoming] = read(json.dumps(event).encode())
    assert incoming.versions[0].data.category == "cyber"


def test_a_list_streams_one_event_at_a_time() -> None:
    note = {"type": "comment", "value": "padding " * 128}
    one = {"Event": {"info": "event", "date": "2026-01-01", "Attribute": [note]}}
    raw = json.dumps({"response": [one] * 2000}).encode()
    stream = io.BytesIO(raw)
    first = next(misp.parse(stream, context()))
    assert first.where == "Event[0]" and stream.tell() < len(raw) // 4
    assert len(read(raw)) == 2000


def test_values_beyond_what_a_report_holds_are_kept() -> None:
    hashes = [{"type": "md5", "value": f"{i:032x}"} for i in range(502)]
    [incoming] = read(json.dumps(good_event(Attribute=hashes)).encode())
    assert len(incoming.versions[0].data.observables) == 500
    assert [k["x_misp"]["value"] for k in incoming.kept] == [f"{i:032x}" for i in (500, 501)]


def test_copies_of_one_event_in_a_row_are_its_versions() -> None:
    def copy(stamp: int, title: str) -> dict[str, Any]:
        return good_event(info=title, timestamp=str(stamp), uuid=RID, Orgc={"name": "CERT-X"})

    raw = json.dumps([copy(200, "new"), copy(100, "old"), copy(200, "new"), good_event()])
    first, other = read(raw.encode())
    assert [v.data.title for v in first.versions] == ["old", "new"]
    assert [v.modified for v in first.versions] == [
        datetime.fromtimestamp(100, UTC),
        datetime.fromtimestamp(200, UTC),
    ]
    assert (first.source, first.source_identity) == ("CERT-X", "CERT-X")
    assert other.external_id is None and other.where == "Event[3]"


def test_sniff_tells_misp_from_other_json() -> None:
    assert misp.sniff(written(item(snapshot())))
    assert misp.sniff(b'[ {"Event": {"info": "x"}}]')
    assert not misp.sniff(b'{"type": "bundle", "id": "bundle--1", "objects": []}')
    assert not misp.sniff(b"title,category\nx,y\n")


# --- bad files ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "where", "says"),
    [
        (
            b'{"response": [' + json.dumps(good_event()).encode() + b', {"Event": {"info": }]}',
            "Event[1]",
            "is not valid JSON",
        ),
        (
            json.dumps(
                good_event(
                    Attribute=[
                        {"type": "domain", "value": "a.example"},
                        {"type": "ip-dst-ish", "value": "x"},
                    ]
                )
            ).encode(),
            "Event[0].Attribute[1].type",
            "'ip-dst-ish' is not a MISP attribute type",
        ),
        (
            json.dumps(
                [good_event(), good_event(Attribute=[{"type": "ip-dst", "value": "1.2.3"}])]
            ).encode(),
            "Event[1].Attribute[0].value",
            "not a valid IPv4 address",
        ),
        (
            json.dumps(
                good_event(
                    Object=[
                        {
                            "name": "file",
                            "Attribute": [
                                {"type": "md5", "object_relation": "md5", "value": "abc"}
                            ],
                        }
                    ]
                )
            ).encode(),
            "Event[0].Object[0].Attribute[0].value",
            "not a valid MD5 hash",
        ),
        (json.dumps(good_event(date="yesterday")).encode(), "Event[0].date", "is not a date"),
        (json.dumps({"Event": {"date": "2026-01-01"}}).encode(), "Event[0].info", "missing"),
        (b"", "file", "is empty"),
    ],
    ids=[
        "malformed",
        "unknown-type",
        "bad-value",
        "bad-object-value",
        "bad-date",
        "no-info",
        "empty",
    ],
)
def test_bad_files_name_the_place(body: bytes, where: str, says: str) -> None:
    with pytest.raises(ValidationError) as err:
        read(body)
    [problem] = err.value.problems
    assert problem.field == where and says in problem.message


def test_without_a_country_the_event_is_refused_by_name() -> None:
    with pytest.raises(ValidationError) as err:
        read(json.dumps([good_event(), good_event()]).encode(), country=None)
    assert err.value.problems[0].field == "Event[0]"
    assert "country" in err.value.problems[0].message


# --- end to end: the node's import and export --------------------------------------


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


def count_reports(world: World) -> int:
    with world.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Report)) or 0)


def test_stored_reports_export_for_misp_and_come_back_equal(world: World) -> None:
    payload = report_payload(
        observables=[{"type": t, "value": v} for t, v in OBSERVABLES],
        distribution={"member_states": ["IN"], "organizations": ["mm-cert"]},
        sea_area="Bay of Bengal",
    )
    bd = world.people["bd.analyst"].principal
    with world.db.session(write=True) as s:
        rid = service.create(s, principal=bd, data=ReportCreate.model_validate(payload))
    with world.db.session() as s:
        [exported] = outbound.items(s, principal=bd)
    data = written(exported)
    [raw] = events(data)
    MISPEvent(strict_validation=True).load({"Event": json.loads(json.dumps(raw))})
    assert raw["uuid"] == rid
    with world.db.session(write=True) as s:
        result = flows.import_stream(
            s, principal=world.people["in.analyst"].principal, stream=io.BytesIO(data)
        )
    assert result.format == "misp" and result.summary.created == 1
    [copy] = result.summary.report_ids
    with world.db.session() as s:
        reader = world.people["in.analyst"].principal
        back = {i.report_id: i.current for i in outbound.items(s, principal=reader)}
    assert copy != rid  # a foreign report always gets a local id of its own
    assert {k: back[copy][k] for k in FIELDS} == {k: exported.current[k] for k in FIELDS}


def test_public_events_import_through_the_node_and_export_again(world: World) -> None:
    analyst = world.people["in.analyst"].principal
    ids = []
    for path in SAMPLES:
        with world.db.session(write=True) as s, path.open("rb") as stream:
            result = flows.import_stream(s, principal=analyst, stream=stream)
        assert result.format == "misp"
        ids += result.summary.report_ids
    with world.db.session() as s:
        stored = service.get(
            s, principal=analyst, report_id=ids[SAMPLES.index(DATA / "circl-osint-xorist.json")]
        )
        assert (stored.title, stored.tlp, stored.country) == ("Ransomware - Xorist", "clear", "IN")
        assert stored.source_identity == "CIRCL"
        out = io.BytesIO()
        assert flows.export_stream(s, principal=analyst, out=out, format="misp") == len(SAMPLES)
    again = {e["uuid"]: e for e in events(out.getvalue())}
    for path, local_id in zip(SAMPLES, ids, strict=True):
        source = json.loads(path.read_bytes())
        before = source.get("Event", source)
        after = again[local_id]  # a foreign event gets a local id, never its own uuid
        assert after["uuid"] != before["uuid"]
        pairs = {(a["type"], a["value"]) for a in after["Attribute"]}
        assert {(a["type"], a["value"]) for a in before.get("Attribute", [])} <= pairs
        assert [o["uuid"] for o in before.get("Object", [])] == [o["uuid"] for o in after["Object"]]
        MISPEvent(strict_validation=True).load({"Event": after})


def test_a_bad_file_stores_nothing(world: World) -> None:
    body = json.dumps([good_event(), good_event(Attribute=[{"type": "nope", "value": "x"}])])
    with pytest.raises(ValidationError) as err, world.db.session(write=True) as s:
        flows.import_stream(
            s, principal=world.people["in.analyst"].principal, stream=io.BytesIO(body.encode())
        )
    assert "Event[1].Attribute[0].type" in str(err.value)
    assert count_reports(world) == 0


def test_misp_parts_survive_a_trip_through_stix(world: World) -> None:
    path = DATA / "circl-osint-xorist.json"
    with world.db.session(write=True) as s, path.open("rb") as stream:
        flows.import_stream(s, principal=world.people["in.analyst"].principal, stream=stream)
        stix = io.BytesIO()
        flows.export_stream(
            s, principal=world.people["in.analyst"].principal, out=stix, format="stix"
        )
    checked = validate_string(stix.getvalue().decode(), ValidationOptions(version="2.1"))
    assert checked.is_valid, [str(e) for e in checked.errors]
    reader = world.people["mm.analyst"].principal
    with world.db.session(write=True) as s:
        result = flows.import_stream(s, principal=reader, stream=io.BytesIO(stix.getvalue()))
        assert result.format == "stix"
        out = io.BytesIO()
        flows.export_stream(s, principal=reader, out=out, format="misp")
    original = json.loads(path.read_bytes())["Event"]
    for event in events(out.getvalue()):
        pairs = {(a["type"], a["value"]) for a in event["Attribute"]}
        assert {(a["type"], a["value"]) for a in original["Attribute"]} <= pairs
        tags = {t["name"] for t in event["Tag"]}
        assert {t["name"].replace("white", "clear") for t in original["Tag"]} <= tags
