"""Selectors STIX 2.1 has no SCO for: OpenCTI's observable types where OpenCTI has one.

OpenCTI (its `pycti` library, `pycti.utils.constants`, and the platform's id rules)
defines `phone-number` and `cryptocurrency-wallet` (value), `bank-account` (keyed by
`iban`) and `persona` (`persona_name` and `persona_type`), and writes them with the
new-sco marker under its own SCO extension. RSN writes these selectors so; vessels,
vehicle plates and group names, which OpenCTI has no type for, stay RSN's own. Exports
made before still import. tests/interop/test_opencti.py checks the same export with
pycti's own classes.
"""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from stix2.canonicalization.Canonicalize import canonicalize

from rsn.interop import ingest, stix
from rsn.interop.model import ImportContext, Incoming
from rsn.interop.stix import ext as stix_ext
from rsn.registry import catalog
from rsn.store import Database
from tests.factories import World, bimstec_world
from tests.interop.stix_support import (
    EVERY_NORMALISED,
    assert_valid,
    export_as,
    export_every_kind,
)

DATA = Path(__file__).parents[1] / "data" / "stix"
# Written by RSN before it used OpenCTI's types: rsn-phone-number, rsn-crypto-wallet, ...
BEFORE = DATA / "rsn-export-before-opencti-types.json"
OPENCTI_SCO_EXTENSION = "extension-definition--f93e2c80-4231-4f9a-af8b-95c9bd566a82"
# RSN type -> (OpenCTI's type, the property holding the value)
OPENCTI = {
    "phone-number": ("phone-number", "value"),
    "crypto-wallet": ("cryptocurrency-wallet", "value"),
    "bank-account": ("bank-account", "iban"),
    "person-name": ("persona", "persona_name"),
}
RSN_ONLY = {
    "vessel-imo": ("rsn-vessel", "imo"),
    "vessel-mmsi": ("rsn-vessel", "mmsi"),
    "vehicle-plate": ("rsn-vehicle-plate", "value"),
    "group-name": ("rsn-group-name", "value"),
}
OLD_TYPES = {"rsn-phone-number", "rsn-crypto-wallet", "rsn-bank-account", "rsn-person-name"}


@pytest.fixture
def world(db: Database) -> World:
    return bimstec_world(db)


def selectors(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's SCOs in its order (the RSN extension's observable_refs)."""
    by_id = {o["id"]: o for o in bundle["objects"]}
    [report] = [o for o in bundle["objects"] if o["type"] == "report"]
    refs = report["extensions"][stix_ext.REPORT_EXTENSION]["observable_refs"]
    return [by_id[ref] for ref in refs]


def test_opencti_types_where_opencti_has_one_rsn_types_where_not(world: World) -> None:
    bundle = export_every_kind(world)
    assert_valid(bundle)
    for (kind, value), obj in zip(EVERY_NORMALISED, selectors(bundle), strict=True):
        if kind in OPENCTI:
            stix_type, prop = OPENCTI[kind]
            assert (obj["type"], obj[prop]) == (stix_type, value)
            assert obj["extensions"] == {OPENCTI_SCO_EXTENSION: {"extension_type": "new-sco"}}
        elif kind in RSN_ONLY:
            stix_type, prop = RSN_ONLY[kind]
            assert (obj["type"], obj[prop]) == (stix_type, value)
            assert set(obj["extensions"]) == {stix_ext.SCO_OF[kind][2]}
        if kind == "bank-account":  # pycti requires a display value beside the iban
            assert obj["value"] == value
        if kind == "person-name":  # a name as reported: true name or alias, RSN cannot say
            assert obj["persona_type"] == "unknown"
    defined = {o["name"] for o in bundle["objects"] if o["type"] == "extension-definition"}
    assert defined == {"report", "rsn-vessel", "rsn-vehicle-plate", "rsn-group-name"}
    assert not OLD_TYPES & {o["type"] for o in bundle["objects"]}


def import_context(world: World) -> ImportContext:
    with world.db.session() as s:
        return ImportContext("in-cert", "IN", catalog.category_ids(s))


def parse(world: World, raw: bytes) -> list[Incoming]:
    return list(stix.parse(io.BytesIO(raw), import_context(world)))


def test_an_export_made_before_imports_and_goes_out_in_the_new_types(world: World) -> None:
    raw = BEFORE.read_bytes()
    assert {o["type"] for o in json.loads(raw)["objects"]} >= OLD_TYPES
    [old] = parse(world, raw)
    data = old.versions[0].data
    assert [(o.type, o.value) for o in data.observables] == EVERY_NORMALISED
    assert old.kept == []  # its SCOs and extension definitions are RSN's, not kept as foreign
    with world.db.session(write=True) as s:
        ingest.store(s, principal=world.people["in.analyst"].principal, items=[old])
    bundle = export_as(world, "in.analyst")
    assert_valid(bundle)
    assert not OLD_TYPES & {o["type"] for o in bundle["objects"]}
    [again] = parse(world, json.dumps(bundle).encode())
    assert again.versions[0].data == data and again.kept == []


def sco(stix_type: str, **props: str) -> dict[str, Any]:
    """An SCO as another producer would write it, with the id STIX 2.1 section 2.9 gives."""
    contributing = {k: v for k, v in props.items() if k != "value" or stix_type != "bank-account"}
    name = canonicalize(contributing, utf8=False)
    oid = f"{stix_type}--{uuid.uuid5(stix_ext.STIX_NAMESPACE, name)}"
    extension = {OPENCTI_SCO_EXTENSION: {"extension_type": "new-sco"}}
    return {"type": stix_type, "spec_version": "2.1", "id": oid, **props, "extensions": extension}


def test_opencti_observables_of_a_third_party_report_become_selectors(world: World) -> None:
    phone = sco("phone-number", value="+8801712345678")
    wallet = sco("cryptocurrency-wallet", value="1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2")
    account = sco("bank-account", iban="GB82WEST12345698765432")  # as OpenCTI's platform
    alias = sco("persona", persona_name="The Captain", persona_type="nickname")
    report = {
        "type": "report",
        "spec_version": "2.1",
        "id": "report--8d3c9a41-1f0e-4b6a-9c2d-5e7f8a9b0c1d",
        "created": "2026-02-01T00:00:00.000Z",
        "modified": "2026-02-01T00:00:00.000Z",
        "name": "Recruiters' contacts",
        "published": "2026-02-01T00:00:00Z",
        "object_refs": [phone["id"], wallet["id"], account["id"], alias["id"]],
    }
    objects = [report, phone, wallet, account, alias]
    raw = json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects})
    [item] = parse(world, raw.encode())
    assert [(o.type, o.value) for o in item.versions[0].data.observables] == [
        ("phone-number", "+8801712345678"),
        ("crypto-wallet", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
        ("bank-account", "GB82WEST12345698765432"),
        ("person-name", "the captain"),
    ]
    # What RSN would not write back as it came (no display value; a nickname) is kept.
    assert item.kept == [account, alias]
