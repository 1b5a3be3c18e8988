"""Plain value lists: one value a line, deduplicated, sorted, a `# type` line per section."""

from __future__ import annotations

import io
import ipaddress
from datetime import UTC, datetime
from typing import Any

import pytest

from rsn.errors import ValidationError
from rsn.interop import outbound, plain
from rsn.interop.model import ExportContext, ExportItem, Originator, VersionOut, report_data
from rsn.reports import rows, service
from rsn.store import Database
from tests.factories import bimstec_world, report_payload

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
CONTEXT = ExportContext("rsn-dhaka")


def item(report_id: str, observables: list[dict[str, str]], *, revoked: bool = False) -> ExportItem:
    data = report_data("test", report_payload(observables=observables))
    values = data.model_dump()
    values.update(lat=None, lon=None, source_identity=None, created=T0, modified=T0)
    values.update(revoked=revoked, revoked_reason=None, revoked_at=T0 if revoked else None)
    snapshot = rows.snapshot(values, [(o.type, o.value) for o in data.observables])
    originator = Originator("bd.analyst", "bd-cert", "BD CERT", "BD")
    return ExportItem(report_id, originator, [VersionOut(1, 1, T0, snapshot)])


def obs(kind: str, *values: str) -> list[dict[str, str]]:
    return [{"type": kind, "value": v} for v in values]


ITEMS = [
    item("r1", obs("ipv4-addr", "203.0.113.9", "192.0.2.1") + obs("domain-name", "B.example")),
    item("r2", obs("ipv4-addr", "192.0.2.1", "198.51.100.20") + obs("url", "http://x.example")),
    item("r3", obs("ipv4-addr", "10.9.9.9") + obs("phone-number", "+8801712345678"), revoked=True),
    item("r4", obs("vessel-imo", "IMO9074729")),
]


def export(items: list[ExportItem], **kwargs: Any) -> tuple[list[str], int]:
    out = io.BytesIO()
    written = plain.export(items, out, CONTEXT, **kwargs)
    return out.getvalue().decode().splitlines(), written


def test_one_kind_is_a_bare_sorted_deduplicated_list() -> None:
    lines, written = export(ITEMS, kind="ipv4-addr")
    assert lines == ["192.0.2.1", "198.51.100.20", "203.0.113.9"]
    assert written == 2  # r3 is revoked, r4 has no address
    assert all(ipaddress.ip_address(line) for line in lines)


def test_all_kinds_in_sections_under_their_type() -> None:
    lines, written = export(ITEMS)
    assert written == 3
    assert lines == [
        "# ipv4-addr",
        "192.0.2.1",
        "198.51.100.20",
        "203.0.113.9",
        "",
        "# domain-name",
        "b.example",
        "",
        "# url",
        "http://x.example/",
        "",
        "# vessel-imo",
        "IMO9074729",
    ]
    assert "+8801712345678" not in lines and "10.9.9.9" not in lines


def test_a_kind_nobody_has_is_empty_and_an_unknown_kind_is_refused() -> None:
    assert export(ITEMS, kind="bank-account") == ([], 0)
    with pytest.raises(ValidationError) as caught:
        export(ITEMS, kind="ip")
    assert caught.value.problems[0].field == "kind"
    assert "'ip' is not an observable type" in caught.value.message


def test_lists_only_what_the_reader_may_read(db: Database) -> None:
    world = bimstec_world(db)
    author = world.people["bd.analyst"].principal
    with db.session(write=True) as s:
        for tlp, address in (("amber", "192.0.2.50"), ("red", "192.0.2.66")):
            payload = report_payload(
                tlp=tlp, distribution={"member_states": ["IN"]} if tlp == "amber" else {}
            )
            payload["observables"] = obs("ipv4-addr", address)
            service.create(s, principal=author, data=report_data("r", payload))
    with db.session() as s:
        for who, seen in (
            ("in.analyst", ["192.0.2.50"]),
            ("bd.analyst", ["192.0.2.50", "192.0.2.66"]),
        ):
            items = outbound.items(s, principal=world.people[who].principal)
            assert export(items, kind="ipv4-addr")[0] == seen
