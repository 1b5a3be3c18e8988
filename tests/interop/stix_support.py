"""What the STIX tests share: a report with every kind of selector, and its export."""

from __future__ import annotations

import io
import json
from typing import Any

from stix2validator import ValidationOptions, validate_string

from rsn.interop import outbound, stix
from rsn.interop.model import ExportContext
from rsn.observables import normalize
from rsn.reports import service
from rsn.reports.schemas import ReportCreate
from tests.factories import World, report_payload

EVERY_OBSERVABLE = [
    ("ipv4-addr", "203.0.113.7"),
    ("ipv6-addr", "2001:db8::1"),
    ("domain-name", "example.org"),
    ("url", "https://example.org/a?b=c'd"),
    ("email-addr", "ops@example.org"),
    ("file-md5", "d41d8cd98f00b204e9800998ecf8427e"),
    ("file-sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
    ("file-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("phone-number", "+8801712345678"),
    ("vessel-imo", "IMO9074729"),
    ("vessel-mmsi", "538004753"),
    ("vehicle-plate", "ঢাকা মেট্রো-গ ১১-২৩৪৫"),
    ("person-name", "Abdul Karim"),
    ("group-name", "Harbour Crew Seven"),
    ("crypto-wallet", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
    ("crypto-wallet", "0x52908400098527886E0F7030069857D2E4169EE7"),
    ("bank-account", "GB82WEST12345698765432"),
    ("bank-account", "BD:1234567890123"),
]
# The same, as RSN stores them.
EVERY_NORMALISED = [(kind, normalize(kind, value)) for kind, value in EVERY_OBSERVABLE]
CONTEXT = ExportContext("rsn-test", "https://rsn.example.org")


def assert_valid(bundle: dict[str, Any]) -> None:
    result = validate_string(json.dumps(bundle), ValidationOptions(version="2.1"))
    assert result.is_valid, [str(e) for e in result.errors]


def export_every_kind(world: World) -> dict[str, Any]:
    """bd.analyst files one report with every kind of selector and exports it."""
    author = world.people["bd.analyst"].principal
    body = report_payload(observables=[{"type": t, "value": v} for t, v in EVERY_OBSERVABLE])
    with world.db.session(write=True) as s:
        rid = service.create(s, principal=author, data=ReportCreate(**body))
    return export_as(world, "bd.analyst", [rid])


def export_as(world: World, username: str, report_ids: list[str] | None = None) -> dict[str, Any]:
    out = io.BytesIO()
    with world.db.session() as s:
        items = outbound.items(s, principal=world.people[username].principal, report_ids=report_ids)
        stix.export(items, out, CONTEXT)
    bundle: dict[str, Any] = json.loads(out.getvalue())
    return bundle
