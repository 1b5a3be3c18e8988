"""CSV of reports and of observables, read back with the `csv` module; CSV import."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rsn.errors import ValidationError
from rsn.interop import csvfmt, flows, ingest, outbound
from rsn.interop.model import (
    ExportContext,
    ExportItem,
    ImportContext,
    Incoming,
    Originator,
    VersionOut,
    report_data,
)
from rsn.registry import catalog
from rsn.reports import rows, service
from rsn.store import Database
from tests.factories import bimstec_world, days_ago, millis, report_payload, stamp

T0 = days_ago(4, hour=9) + timedelta(minutes=30)
T1 = days_ago(3, hour=12)
EXPORT = ExportContext("rsn-dhaka")
CATEGORIES = frozenset({"organized-crime.human-trafficking", "cyber.attack"})
IMPORT = ImportContext("in-cert", "IN", CATEGORIES)
FORMULA_CHARS = ("=", "+", "-", "@", "\t", "\r")
HOSTILE = ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "\tx", "\rx", "'=x", "''"]
RID = "00000000-0000-4000-8000-000000000001"


def item(report_id: str = RID, *, revoked: bool = False, **fields: Any) -> ExportItem:
    data = report_data("test", report_payload(**fields))
    values = data.model_dump()
    values.update(lat=None, lon=None, source_identity=None, created=T0, modified=T1)
    values.update(revoked=revoked, revoked_reason=None, revoked_at=T1 if revoked else None)
    snapshot = rows.snapshot(values, [(o.type, o.value) for o in data.observables])
    originator = Originator("bd.analyst", "bd-cert", "BD CERT", "BD")
    return ExportItem(report_id, originator, [VersionOut(2, 2, T1, snapshot)])


def exported(items: list[ExportItem], writer: Any = csvfmt.export) -> tuple[bytes, int]:
    out = io.BytesIO()
    written = writer(items, out, EXPORT)
    return out.getvalue(), written


def read(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode(), newline="")))


def parse(body: bytes | str, context: ImportContext = IMPORT) -> list[Incoming]:
    raw = body.encode() if isinstance(body, str) else body
    return list(csvfmt.parse(io.BytesIO(raw), context))


def error(body: str) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        parse(body)
    return [p.field for p in caught.value.problems]


def no_formula_cells(body: bytes) -> None:
    """Independently of our guard: no cell a spreadsheet would take for a formula."""
    for record in csv.reader(io.StringIO(body.decode(), newline="")):
        for cell in record:
            assert not cell.startswith(FORMULA_CHARS), cell


def test_reports_csv_has_one_row_per_report_with_its_columns() -> None:
    items = [
        item(distribution={"member_states": ["IN"], "organizations": ["in-cert"]}),
        item("00000000-0000-4000-8000-000000000002", revoked=True, tlp="clear", distribution={}),
    ]
    body, written = exported(items)
    assert written == 2 and body.endswith(b"\r\n") and not body.startswith(b"\xef\xbb\xbf")
    first, second = read(body)
    assert tuple(first) == csvfmt.REPORT_COLUMNS
    assert first["id"] == RID and first["title"] == "Trafficking ring using a Bangladeshi number"
    assert (first["grading"], first["tlp"], first["confidence"]) == ("B2", "amber", "70")
    assert first["distribution"] == "state:IN;org:in-cert"
    assert (first["observable_count"], first["observables"]) == (
        "1",
        "phone-number:+8801712345678",
    )
    assert (first["occurred_at"], first["created"]) == (millis(days_ago(5)), millis(T0))
    assert (first["revoked"], second["revoked"], first["originator"]) == (
        "false",
        "true",
        "bd-cert",
    )


def test_observables_csv_has_one_row_per_observable_of_live_reports_values_plain() -> None:
    """Machines read this list: values go as they are, with no spreadsheet guard."""
    observables = [
        {"type": "ipv4-addr", "value": "192.0.2.1"},
        {"type": "phone-number", "value": "+8801712345678"},
        {"type": "person-name", "value": "-Ali @Khan"},
    ]
    items = [
        item(observables=observables),
        item("00000000-0000-4000-8000-000000000002", revoked=True, observables=observables),
    ]
    body, written = exported(items, csvfmt.export_observables)
    assert written == 1
    got = read(body)
    assert tuple(got[0]) == csvfmt.OBSERVABLE_COLUMNS
    assert [(r["report_id"], r["type"], r["value"]) for r in got] == [
        (RID, "ipv4-addr", "192.0.2.1"),
        (RID, "phone-number", "+8801712345678"),
        (RID, "person-name", "-ali @khan"),
    ]
    assert got[0]["modified"] == millis(T1) and got[0]["country"] == "BD"
    assert b"'" not in body


@pytest.mark.parametrize("title", HOSTILE)
def test_no_cell_can_run_as_a_formula_and_the_guard_undoes_exactly(title: str) -> None:
    hostile = [{"type": "person-name", "value": "-Ali @Khan"}]
    body, _ = exported([item(title=f"{title} report", observables=hostile)])
    no_formula_cells(body)
    [back] = parse(body)
    data = back.versions[0].data
    assert data.title == f"{title} report".strip()
    assert [(o.type, o.value) for o in data.observables] == [("person-name", "-ali @khan")]


def test_reports_csv_reads_back_into_the_same_fields() -> None:
    source = item(
        tlp="amber",
        distribution={"member_states": ["IN", "MM"], "sharing_groups": ["bob"], "users": ["u.1"]},
        observables=[
            {"type": "url", "value": "http://x.example/a;b?c=1"},
            {"type": "domain-name", "value": "x.example"},
        ],
    )
    body, _ = exported([source])
    [back] = parse(body)
    assert (back.source, back.external_id, back.preferred_id) == ("csv:in-cert", RID, RID)
    assert (back.where, back.source_identity, back.kept) == ("rows[0]", "bd-cert", [])
    [version] = back.versions
    assert (version.created, version.modified, version.revoked) == (T0, T1, False)
    got = version.data.model_dump(mode="json")
    want = report_data("x", {**report_payload(**_fields(source)), "description": ""})
    assert got == want.model_dump(mode="json")


def test_a_cell_larger_than_the_csv_module_default_reads_back() -> None:
    urls = [{"type": "url", "value": f"http://x.example/{n}/{'a' * 1000}"} for n in range(200)]
    body, _ = exported([item(observables=urls)])
    assert len(body) > 200_000  # one cell, over the csv module's default 131,072
    [back] = parse(body)
    assert len(back.versions[0].data.observables) == 200


def _fields(source: ExportItem) -> dict[str, Any]:
    """What the reports CSV carries of a snapshot (it has no description nor location)."""
    s = source.current
    keep = ("title", "category", "occurred_at", "country", "severity", "confidence", "tlp")
    fields = {k: s[k] for k in keep}
    fields.update(distribution=s["distribution"], observables=s["observables"], location=None)
    fields.update(occurred_at=stamp(days_ago(5)))
    return fields


def test_a_simple_hand_written_csv() -> None:
    body = (
        "\ufeffTitle,Category,Country,Occurred_at,Severity,Confidence,TLP,Observables,Desk\r\n"
        "Phishing wave,cyber.attack,,2026-10-02T08:00:00+06:00,HIGH,55,,"
        '"ipv4-addr:192.0.2.9; domain-name:Evil.Example",Dhaka\r\n'
        "\r\n"
        'Second,cyber.attack,MM,2026-10-03T00:00:00Z,low,10,TLP:WHITE,"",\r\n'
    )
    assert csvfmt.sniff(body.encode()[:4096])
    first, second = parse(body)
    one = first.versions[0].data
    assert (one.country, one.severity, one.tlp, one.distribution.model_dump()) == (
        "IN",
        "high",
        "amber+strict",
        {"member_states": [], "organizations": [], "sharing_groups": [], "users": []},
    )
    assert one.occurred_at == datetime(2026, 10, 2, 2, 0, tzinfo=UTC)
    assert [o.value for o in one.observables] == ["192.0.2.9", "evil.example"]
    assert first.kept == [{"type": "csv-columns", "columns": {"desk": "Dhaka"}}]
    # Without an id column a record is keyed by its content: the same file twice adds nothing.
    assert first.external_id is not None and first.external_id.startswith("sha256:")
    assert first.external_id != second.external_id
    assert (second.where, second.versions[0].data.tlp, second.versions[0].data.country) == (
        "rows[2]",
        "clear",
        "MM",
    )


HEAD = "title,category,country,occurred_at,severity,confidence,tlp,observables\r\n"
GOOD = "T,cyber.attack,BD,2026-10-02T08:00:00Z,high,55,green,ipv4-addr:192.0.2.9\r\n"


@pytest.mark.parametrize(
    ("rows_", "fields"),
    [
        ("T,cyber.attack,BD,2026-10-02T08:00:00Z,high,lots,green,\r\n", ["rows[1].confidence"]),
        ("T,cyber.attack,BD,2026-10-02T08:00:00Z,high,101,green,\r\n", ["rows[1].confidence"]),
        (
            "T,cyber.attack,BD,2026-10-02T08:00:00Z,high,5,green,ip:1.2.3.4\r\n",
            ["rows[1].observables[0]"],
        ),
        (
            "T,cyber.attack,BD,2026-10-02T08:00:00Z,high,5,green,ipv4-addr:1.2.3\r\n",
            ["rows[1].observables.0.value"],
        ),
        ("T,no.such,BD,2026-10-02T08:00:00Z,high,5,green,\r\n", ["rows[1].category"]),
        ("T,cyber.attack,BD,2026-10-02T08:00:00Z,high,5,purple,\r\n", ["rows[1].tlp"]),
        ("T,cyber.attack,BD,2026-10-02 08:00,high,5,green,\r\n", ["rows[1].occurred_at"]),
        (",cyber.attack,BD,2026-10-02T08:00:00Z,high,5,green,\r\n", ["rows[1].title"]),
        ("T,cyber.attack,BD,2026-10-02T08:00:00Z,high,5,green,,extra\r\n", ["rows[1]"]),
    ],
)
def test_row_errors_name_the_row_and_column(rows_: str, fields: list[str]) -> None:
    assert error(HEAD + GOOD + rows_) == fields


def test_file_level_errors() -> None:
    assert error("title,country\r\nT,BD\r\n") == ["header"]
    assert error("title,title,category,occurred_at,severity,confidence\r\n") == ["header"]
    assert parse(HEAD + GOOD.replace(",BD,", ",,"))[0].versions[0].data.country == "IN"
    no_country = ImportContext("in-cert", None, CATEGORIES)
    with pytest.raises(ValidationError) as caught:
        parse(HEAD + GOOD.replace(",BD,", ",,"), no_country)
    assert caught.value.problems[0].field == "rows[0].country"
    with pytest.raises(ValidationError) as caught:
        parse((HEAD + GOOD).encode() + b"caf\xe9,x\r\n")
    assert caught.value.problems[0].field == "file"
    assert "line 3" in caught.value.message
    bad_time = HEAD.replace("observables", "modified") + GOOD.replace(
        "ipv4-addr:192.0.2.9", "yesterday"
    )
    assert error(bad_time) == ["rows[0].modified"]


def test_a_revoked_row_comes_in_revoked() -> None:
    head = HEAD.replace("observables", "modified,revoked")
    row = GOOD.replace("ipv4-addr:192.0.2.9", stamp(T1) + ",{}")
    [back] = parse(head + row.format("TRUE"))
    assert (back.versions[0].revoked, back.versions[0].revoked_at) == (True, T1)
    assert "no reason" in str(back.versions[0].revoked_reason)
    assert parse(head + row.format(""))[0].versions[0].revoked is False
    assert error(head + row.format("maybe")) == ["rows[0].revoked"]


def test_sniff_knows_its_own_and_nothing_else() -> None:
    body, _ = exported([item()])
    assert csvfmt.sniff(body[:4096]) and csvfmt.sniff(HEAD.encode())
    observables, _ = exported([item()], csvfmt.export_observables)
    for other in (
        observables,
        b'{"type": "bundle"}',
        b"<?xml version='1.0'?><alert/>",
        b"",
        b"\x00\xff",
    ):
        assert not csvfmt.sniff(other)


def test_round_trip_through_the_node(db: Database) -> None:
    """bd.analyst's export, imported by in.analyst, reads back the same through the service."""
    world = bimstec_world(db)
    payload = report_payload(
        title="=cmd|' /C calc'!A0",
        observables=[{"type": "phone-number", "value": "+8801712345678"}],
    )
    with db.session(write=True) as s:
        original = service.create(
            s, principal=world.people["bd.analyst"].principal, data=report_data("r", payload)
        )
        items = outbound.items(s, principal=world.people["bd.analyst"].principal)
    body, _ = exported(items)
    no_formula_cells(body)
    importer = world.people["in.analyst"].principal
    for times in (1, 2):
        with db.session(write=True) as s:
            context = ImportContext("in-cert", "IN", catalog.category_ids(s))
            summary = ingest.store(s, principal=importer, items=parse(body, context))
        assert (summary.created, summary.unchanged) == ((1, 0) if times == 1 else (0, 1))
    with db.session() as s:
        mine = service.get(s, principal=importer, report_id=summary.report_ids[0])
        theirs = service.get(s, principal=importer, report_id=original)
        assert mine.id != original and mine.source_identity == "bd-cert"
        for name in (
            "title",
            "category",
            "country",
            "occurred_at",
            "severity",
            "confidence",
            "source_reliability",
            "information_credibility",
            "tlp",
            "distribution",
            "created",
            "modified",
        ):
            assert getattr(mine, name) == getattr(theirs, name), name
        assert service.observables_of(s, [mine.id])[mine.id] == [("phone-number", "+8801712345678")]


def test_through_the_import_and_export_flows(db: Database) -> None:
    """The path `rsn import`/`rsn export` and the REST API take, with format csv."""
    world = bimstec_world(db)
    analyst = world.people["bd.analyst"].principal
    body = HEAD + GOOD + GOOD.replace("T,", "U,").replace(",green,", ",,")
    with db.session(write=True) as s:
        result = flows.import_stream(
            s, principal=analyst, stream=io.BytesIO(body.encode()), format="csv"
        )
    assert (result.format, result.summary.created) == ("csv", 2)
    for who, titles in (("bd.analyst", ["T", "U"]), ("in.analyst", ["T"])):
        out = io.BytesIO()
        with db.session(write=True) as s:
            principal = world.people[who].principal
            assert flows.export_stream(s, principal=principal, out=out, format="csv") == len(titles)
        got = read(out.getvalue())
        assert [r["title"] for r in got] == titles
        assert {r["tlp"] for r in got} <= {"green", "amber+strict"}
