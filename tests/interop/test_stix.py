"""STIX 2.1 export and import, judged by OASIS's tools: stix2-validator, stix2-patterns, stix2."""

from __future__ import annotations

import io
import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import stix2
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from stix2.canonicalization.Canonicalize import canonicalize
from stix2patterns.validator import run_validator
from stix2validator import ValidationOptions, validate_string

from rsn import clock
from rsn.errors import ValidationError
from rsn.interop import ingest, outbound, stix
from rsn.interop.model import (
    ExportContext,
    ExportItem,
    ImportContext,
    Incoming,
    Originator,
    VersionOut,
)
from rsn.interop.models import KeptObject
from rsn.interop.stix import ext as stix_ext
from rsn.registry import catalog
from rsn.reports import service
from rsn.reports.models import Report
from rsn.reports.schemas import ReportCreate, ReportUpdate
from rsn.store import Database
from tests.factories import World, bimstec_world, report_payload
from tests.interop.stix_support import EVERY_OBSERVABLE

DATA = Path(__file__).parents[1] / "data" / "stix"
CONTEXT = ExportContext("rsn-test", "https://rsn.example.org")
# STANDARDS.md, "TLP 2.0 in STIX 2.1": the official marking-definition ids.
OFFICIAL_TLP = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
DISTRIBUTIONS = {
    "clear": {},
    "green": {},
    "amber": {"member_states": ["IN"], "organizations": ["mm-cert"]},
    "amber+strict": {"organizations": ["in-cert"]},
    "red": {"users": ["in.analyst"]},
}


def observables(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"type": t, "value": v} for t, v in pairs]


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


def file_reports(world: World) -> list[str]:
    """One report per TLP, one with every observable type, one edited, one revoked."""
    author = world.people["bd.analyst"].principal
    ids = []
    with world.db.session(write=True) as s:
        for tlp, dist in DISTRIBUTIONS.items():
            body = report_payload(tlp=tlp, distribution=dist, title=f"Report {tlp}")
            ids.append(service.create(s, principal=author, data=ReportCreate(**body)))
        every = report_payload(
            observables=observables(EVERY_OBSERVABLE), location=None, sea_area="Bay of Bengal"
        )
        ids.append(service.create(s, principal=author, data=ReportCreate(**every)))
        edit = ReportUpdate(title="Edited", observables=observables(EVERY_OBSERVABLE[:3]))
        service.update_report(s, principal=author, report_id=ids[0], data=edit)
        service.revoke(s, principal=author, report_id=ids[5], reason="Entered by mistake.")
    return ids


def export_as(world: World, username: str, **kwargs: Any) -> dict[str, Any]:
    out = io.BytesIO()
    with world.db.session() as s:
        items = outbound.items(s, principal=world.people[username].principal, **kwargs)
        assert stix.export(items, out, CONTEXT) == len(items)
    bundle: dict[str, Any] = json.loads(out.getvalue())
    return bundle


def assert_valid(bundle: dict[str, Any]) -> None:
    result = validate_string(json.dumps(bundle), ValidationOptions(version="2.1"))
    assert result.is_valid, [str(e) for e in result.errors]


def test_every_export_passes_the_oasis_validator_and_pattern_checker(world: World) -> None:
    file_reports(world)
    bundle = export_as(world, "bd.analyst")
    assert_valid(bundle)
    objects = bundle["objects"]
    kinds = Counter(o["type"] for o in objects)
    assert kinds["report"] == 8  # six reports, two of them with two versions
    patterns = [o["pattern"] for o in objects if o["type"] == "indicator"]
    assert patterns and all(run_validator(p, stix_version="2.1") == [] for p in patterns)
    revoked = [o for o in objects if o.get("revoked")]
    assert {o["type"] for o in revoked} == {"report", "indicator", "relationship", "location"}
    stix_types = {o["type"] for o in objects}
    assert {stix_ext.SCO_OF[t][0] for t, _ in EVERY_OBSERVABLE} <= stix_types


def test_markings_are_the_official_tlp_2_objects_and_only_those_used(world: World) -> None:
    assert {tlp: m["id"] for tlp, m in stix.MARKINGS.items()} == OFFICIAL_TLP
    assert {
        "clear": stix2.TLP_WHITE.id,
        "green": stix2.TLP_GREEN.id,
        "amber": stix2.TLP_AMBER.id,
        "red": stix2.TLP_RED.id,
    } == stix_ext.TLP1_IDS
    file_reports(world)
    bundle = export_as(world, "mm.analyst")  # reads clear, green and amber (to mm-cert)
    markings = [o for o in bundle["objects"] if o["type"] == "marking-definition"]
    assert {m["id"] for m in markings} == {OFFICIAL_TLP[t] for t in ("clear", "green", "amber")}
    for m in markings:
        ext = m["extensions"]["extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"]
        assert (
            OFFICIAL_TLP[ext["tlp_2_0"]] == m["id"] and m["name"] == f"TLP:{ext['tlp_2_0'].upper()}"
        )
    for report in (o for o in bundle["objects"] if o["type"] == "report"):
        tlp = report["extensions"][stix_ext.REPORT_EXTENSION]["tlp"]
        assert report["object_marking_refs"] == [OFFICIAL_TLP[tlp]]


@stix2.v21.CustomObservable(
    "rsn-vessel",
    [("imo", stix2.properties.StringProperty()), ("mmsi", stix2.properties.StringProperty())],
    id_contrib_props=["imo", "mmsi"],
)
class Vessel:
    pass


@stix2.v21.CustomObservable(
    "persona",  # OpenCTI's: a name (persona_name) and what kind of name it is (persona_type)
    [
        ("persona_name", stix2.properties.StringProperty()),
        ("persona_type", stix2.properties.StringProperty()),
    ],
    id_contrib_props=["persona_name", "persona_type"],
)
class Persona:
    pass


def stix2_id(kind: str, value: str) -> str:
    """The id the `stix2` library gives the SCO of an RSN observable."""
    stix_type, prop, _ = stix_ext.SCO_OF[kind]
    if stix_type == "file":
        return str(stix2.File(hashes={prop: value}).id)
    if stix_type == "rsn-vessel":
        return str(Vessel(**{prop: value}).id)
    if stix_type == "persona":  # a reported name: RSN cannot say which kind of name it is
        return str(Persona(persona_name=value, persona_type="unknown").id)
    builtin = stix2.parse({"type": stix_type, prop: value}, allow_custom=True, version="2.1")
    if isinstance(builtin, dict):  # an RSN type stix2 does not know: the spec's rule by hand
        digest = uuid.uuid5(stix_ext.STIX_NAMESPACE, canonicalize({prop: value}, utf8=False))
        return f"{stix_type}--{digest}"
    return str(builtin.id)


@pytest.mark.parametrize(("kind", "value"), EVERY_OBSERVABLE)
def test_sco_ids_are_the_ones_stix2_computes(kind: str, value: str) -> None:
    assert stix_ext.sco(kind, value)["id"] == stix2_id(kind, value)


@given(st.dictionaries(st.sampled_from(["value", "imo", "MD5"]), st.text(), min_size=1))
def test_canonical_json_is_rfc_8785_for_string_maps(props: dict[str, str]) -> None:
    assert stix_ext.canonical(props) == canonicalize(props, utf8=False)


@given(st.sampled_from(sorted(stix_ext.SCO_OF)), st.text(min_size=1))
def test_written_patterns_are_valid_and_read_back(kind: str, text: str) -> None:
    value = "a" * {"file-md5": 32, "file-sha1": 40, "file-sha256": 64}.get(kind, 0) or text
    pattern = stix_ext.pattern_for(kind, value)
    assert run_validator(pattern, stix_version="2.1") == []
    assert stix_ext.is_plainly_valid(pattern)
    assert stix_ext.observables_in_pattern(pattern) == [(kind, value)]


@given(st.text())
def test_the_fast_pattern_check_never_accepts_what_stix2_patterns_refuses(text: str) -> None:
    for pattern in (f"[ipv4-addr:value = '{text}']", f"[file:hashes.'MD5' = '{text}']"):
        if stix_ext.is_plainly_valid(pattern):
            assert run_validator(pattern, stix_version="2.1") == []


def test_objects_are_deterministic_and_last_is_a_subset_of_all(world: World) -> None:
    file_reports(world)
    with world.db.session() as s:
        items = outbound.items(s, principal=world.people["bd.analyst"].principal)
        again = outbound.items(s, principal=world.people["bd.analyst"].principal)
    for item, same in zip(items, again, strict=True):
        everything = stix.objects_for(item, CONTEXT)
        assert json.dumps(everything) == json.dumps(stix.objects_for(same, CONTEXT))
        keyed = {(o["id"], o.get("modified")): o for o in everything}
        last = stix.objects_for(item, CONTEXT, versions="last")
        assert all(keyed[(o["id"], o.get("modified"))] == o for o in last)
        reports = [o for o in last if o["type"] == "report"]
        assert len(reports) == 1 and reports[0]["modified"] == max(
            keyed[k]["modified"] for k in keyed if k[0].startswith("report--")
        )


def import_context(world: World, country: str | None = "IN") -> ImportContext:
    with world.db.session() as s:
        return ImportContext("in-cert", country, catalog.category_ids(s))


def read(world: World, name: str, country: str | None = "IN") -> list[Incoming]:
    with (DATA / name).open("rb") as f:
        return list(stix.parse(f, import_context(world, country)))


def test_a_third_party_report_imports_keeps_the_rest_and_exports_valid(world: World) -> None:
    [report] = read(world, "poisonivy.json")
    assert report.external_id == "report--f2b63e80-b523-4747-a069-35c002c690db"
    assert report.source == "identity--81cade27-7df8-4730-836b-62d880e6d9d3"
    assert report.source_identity == "FireEye, Inc."
    data = report.versions[0].data
    assert (data.tlp, data.distribution.organizations, data.country) == ("amber+strict", [], "IN")
    values = [(o.type, o.value) for o in data.observables]
    assert ("ipv4-addr", "219.76.208.163") in values and (
        "domain-name",
        "3q.wubangtu.info",
    ) in values
    kept = Counter(o["type"] for o in report.kept)
    assert kept["malware"] == 25 and kept["indicator"] == 25 and kept["relationship"] == 90
    importer = world.people["in.analyst"].principal
    with world.db.session(write=True) as s:
        summary = ingest.store(s, principal=importer, items=[report])
    assert summary.kept == len(report.kept)
    bundle = export_as(world, "in.analyst")
    assert_valid(bundle)
    assert {o["id"] for o in report.kept} <= {o["id"] for o in bundle["objects"]}
    [again] = stix.parse(io.BytesIO(json.dumps(bundle).encode()), import_context(world))
    assert [o["id"] for o in again.kept] == [o["id"] for o in report.kept]
    assert again.versions[0].data == data and again.source_identity == "FireEye, Inc."
    assert not any(o["type"] == "report" for o in export_as(world, "bd.analyst")["objects"])


def test_loose_objects_become_one_report_per_creator_and_marking(world: World) -> None:
    [group] = read(world, "indicators-for-C2-with-COA.json")
    assert group.source_identity == "The MITRE Corporation - DHS Support Team"
    data = group.versions[0].data
    assert data.title == "Imported STIX objects from The MITRE Corporation - DHS Support Team"
    assert [(o.type, o.value) for o in data.observables] == [
        ("ipv4-addr", "10.0.0.0"),
        ("file-sha256", "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c"),
    ]
    assert len(group.kept) == 8  # every object of the file, its creator identity first
    [bare] = read(world, "infrastructure.json")
    assert bare.source == "stix:unattributed" and len(bare.kept) == 10


def bundle_of(*objects: dict[str, Any]) -> bytes:
    return json.dumps(
        {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}
    ).encode()


INDICATOR = {
    "type": "indicator",
    "spec_version": "2.1",
    "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
    "created": "2026-01-01T00:00:00.000Z",
    "modified": "2026-01-01T00:00:00.000Z",
    "pattern": "[ipv4-addr:value = '198.51.100.1']",
    "pattern_type": "stix",
    "valid_from": "2026-01-01T00:00:00Z",
}
BAD_OBJECTS = [
    ({"created": "2022-101-27T13:49:54.326Z"}, "objects[1].created"),
    ({"modified": "2025-12-31T00:00:00.000Z"}, "objects[1].modified"),
    ({"pattern": "[ipv4-addr:value = '198.51.100.1'"}, "objects[1].pattern"),
    ({"pattern": "[file:hashes.MD5 = 'abc']"}, "objects[1].pattern"),
    ({"id": "indicator--not-a-uuid"}, "objects[1].id"),
    ({"id": "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}, "objects[1].id"),
    ({"spec_version": "2.0"}, "objects[1].spec_version"),
    ({"valid_from": None}, "objects[1].valid_from"),
    ({"created_by_ref": "FireEye"}, "objects[1].created_by_ref"),
    ({"object_marking_refs": ["tlp:red"]}, "objects[1].object_marking_refs[0]"),
    ({"confidence": 101}, "objects[1].confidence"),
]


@pytest.mark.parametrize(("change", "field"), BAD_OBJECTS)
def test_a_bad_property_names_the_object_and_stores_nothing(
    world: World, change: dict[str, Any], field: str
) -> None:
    bad = {k: v for k, v in {**INDICATOR, **change}.items() if v is not None}
    good = {**INDICATOR, "id": "indicator--0e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}
    raw = bundle_of(good, bad)
    with pytest.raises(ValidationError) as err, world.db.session(write=True) as s:
        items = stix.parse(io.BytesIO(raw), import_context(world))
        ingest.store(s, principal=world.people["in.analyst"].principal, items=items)
    assert err.value.problems[0].field == field
    with world.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Report)) == 0
        assert s.scalar(select(func.count()).select_from(KeptObject)) == 0


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"type": "bundle", "objects": [{"type": "indicator",', "objects[0]"),
        (bundle_of(INDICATOR, INDICATOR)[:-5], "objects[1]"),
        (b"not json", "file"),
        (b'{"type": "bundle", "objects": []}', "file"),
        (b'{"type": "bundle", "objects": [1]}', "objects[0]"),
    ],
)
def test_malformed_files_are_refused_with_where(world: World, raw: bytes, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        list(stix.parse(io.BytesIO(raw), import_context(world)))
    assert err.value.problems[0].field == field


REPORT = {
    "type": "report",
    "spec_version": "2.1",
    "id": "report--4b5b3e2a-8a1f-4d34-9a9f-0b6b2c4d5e6f",
    "created": "2026-02-01T00:00:00.000Z",
    "modified": "2026-02-01T00:00:00.000Z",
    "name": "Piracy off the coast",
    "published": "2026-01-31T12:00:00Z",
    "labels": ["piracy", "maritime.piracy"],
    "object_refs": [INDICATOR["id"]],
}


@pytest.mark.parametrize(
    ("marking", "tlp"),
    [
        ([stix2.TLP_WHITE.id], "clear"),
        ([stix2.TLP_AMBER.id], "amber"),
        ([OFFICIAL_TLP["green"], stix2.TLP_RED.id], "red"),
        (None, "amber+strict"),
    ],
)
def test_third_party_markings_labels_and_patterns_map(
    world: World, marking: list[str] | None, tlp: str
) -> None:
    report = {**REPORT, "object_marking_refs": marking} if marking else REPORT
    tlp1 = json.loads(stix2.TLP_WHITE.serialize())  # a TLP 1.0 definition, as stix2 writes it
    [item] = stix.parse(io.BytesIO(bundle_of(tlp1, report, INDICATOR)), import_context(world))
    data = item.versions[0].data
    assert (data.tlp, data.category, data.title) == (tlp, "maritime.piracy", REPORT["name"])
    assert [(o.type, o.value) for o in data.observables] == [("ipv4-addr", "198.51.100.1")]
    assert item.kept == [INDICATOR] and item.preferred_id == REPORT["id"].split("--")[1]


def test_without_a_country_the_report_is_named(world: World) -> None:
    with pytest.raises(ValidationError) as err:
        list(stix.parse(io.BytesIO(bundle_of(REPORT, INDICATOR)), import_context(world, None)))
    assert err.value.problems[0].field == "objects[0].object_refs"
    location = {
        "type": "location",
        "spec_version": "2.1",
        "id": "location--4b5b3e2a-8a1f-4d34-9a9f-0b6b2c4d5e60",
        "created": "2026-02-01T00:00:00.000Z",
        "modified": "2026-02-01T00:00:00.000Z",
        "country": "mm",
        "latitude": 16.8,
        "longitude": 96.1,
    }
    located = {**REPORT, "object_refs": [location["id"]]}
    raw = bundle_of(located, location)
    [item] = stix.parse(io.BytesIO(raw), import_context(world, None))
    assert item.versions[0].data.country == "MM" and item.versions[0].data.location is not None


def test_sniff_knows_bundles_and_envelopes_only() -> None:
    assert stix.sniff(bundle_of(INDICATOR)[:4096])
    assert stix.sniff((DATA / "infrastructure.json").read_bytes()[:4096])
    misp = Path(__file__).parents[1] / "data" / "misp"
    assert not any(stix.sniff(p.read_bytes()[:4096]) for p in misp.glob("*.json"))
    assert not stix.sniff(b"<?xml version='1.0'?><alert/>")


class ChunksOnly(io.BytesIO):
    """A stream that refuses to be read whole, as a 1 GB bundle should never be."""

    def read(self, size: int | None = -1) -> bytes:
        assert size is not None and 0 <= size <= 1 << 20, f"read({size}) of the whole file"
        return super().read(size)


def test_parse_streams_the_file_in_chunks(world: World) -> None:
    raw = bundle_of(REPORT, INDICATOR, *[{**INDICATOR, "id": f"indicator--{uuid.uuid4()}"}] * 50)
    [item, loose] = stix.parse(ChunksOnly(raw), import_context(world))
    assert item.external_id == REPORT["id"] and len(loose.kept) == 50


def test_kept_objects_win_over_derived_ones_with_the_same_id_or_pattern() -> None:
    kind, value = "ipv4-addr", "203.0.113.7"
    richer_sco = {**stix_ext.sco(kind, value), "resolves_to_refs": []}
    theirs = {**INDICATOR, "pattern": stix_ext.pattern_for(kind, value)}
    snapshot = {
        **report_payload(observables=observables([(kind, value)]), tlp="green", distribution={}),
        "occurred_at": "2026-11-01T10:00:00.000",
        "created": "2026-11-01T10:00:00.000",
        "modified": "2026-11-01T10:00:00.000",
        "source_identity": None,
        "revoked": False,
        "revoked_reason": None,
        "revoked_at": None,
    }
    who = Originator("bd.analyst", "bd-cert", "BD-CERT", "BD", "u-1")
    version = VersionOut(1, 1, clock.now(), snapshot)
    item = ExportItem("0b5e1f0c-7d4a-4e43-9d51-1f2a3b4c5d6e", who, [version], [richer_sco, theirs])
    objects = stix.objects_for(item, CONTEXT)
    assert [o for o in objects if o["id"] == richer_sco["id"]] == [richer_sco]
    assert [o["id"] for o in objects if o["type"] == "indicator"] == [theirs["id"]]
    [report] = [o for o in objects if o["type"] == "report"]
    assert {richer_sco["id"], theirs["id"]} <= set(report["object_refs"])
