"""CSV of reports (one row per report, current version) and of observables, and import.

Written with the `csv` module, UTF-8 without a byte-order mark, CRLF line ends (RFC
4180). The reports CSV is for people, who open it in a spreadsheet: a cell that a
spreadsheet would run as a formula, one starting with `=`, `+`, `-`, `@`, a tab or a
carriage return, is written with a single quote before it (the OWASP advice against
CSV injection); so is a cell that starts with a quote followed by one of those (or by
another quote), which makes the guard exact to undo. The importer removes that one
quote again, so a phone number `+8801712345678` leaves as `'+8801712345678` and comes
back as it was. The observables CSV is a feed for machines (blocklists, SIEM lookups),
which would take the quote for part of the value, so its cells are written as they are.

The reports CSV has the columns of `REPORT_COLUMNS`: `grading` is the source
reliability and information credibility together (`B2`); `distribution` is one
`;`-joined list of names, each with its kind (`state:IN;org:in-cert;group:bob;
user:in.analyst`); `observables` is `type:value;type:value` beside their count.

The importer reads that file back, and a simpler one a person writes by hand: title,
category, country, occurred_at, severity, confidence, tlp, observables (and, if
given, description, sea_area, grading, distribution). Errors name the row and the
column, `rows[0]` being the first record after the header. A row without `tlp`
becomes `amber+strict` for the importing organization alone; without `country`, the
importer's member state. Columns the importer does not know are kept with the report.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import IO, Any

from rsn import clock
from rsn.interop import limits
from rsn.interop.model import (
    ExportContext,
    ExportItem,
    ImportContext,
    Incoming,
    IncomingVersion,
    problem,
    report_data,
)
from rsn.observables import OBSERVABLE_TYPES
from rsn.reports.schemas import ReportCreate, rfc3339
from rsn.sharing.models import UNMARKED

REPORT_COLUMNS = (
    "id",
    "title",
    "category",
    "country",
    "occurred_at",
    "severity",
    "confidence",
    "grading",
    "tlp",
    "distribution",
    "observable_count",
    "observables",
    "created",
    "modified",
    "revoked",
    "originator",
)
OBSERVABLE_COLUMNS = ("report_id", "type", "value", "tlp", "category", "country", "modified")
REQUIRED = ("title", "category", "occurred_at", "severity", "confidence")
# Columns the importer reads or knows to be derived (observable_count); others are kept.
KNOWN = frozenset(REPORT_COLUMNS) | {"description", "sea_area", "revoked_reason"}
FORMULA = ("=", "+", "-", "@", "\t", "\r")
_QUOTED = (*FORMULA, "'")
KINDS = {
    "state": "member_states",
    "org": "organizations",
    "group": "sharing_groups",
    "user": "users",
}
REPORT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_SPLIT_OBSERVABLES = re.compile(
    r";\s*(?=(?:" + "|".join(re.escape(t) for t in OBSERVABLE_TYPES) + r"):)"
)
_YES = ("true", "yes", "1")
_NO = ("false", "no", "0", "")


# -- writing ----------------------------------------------------------------------


def export(items: Iterable[ExportItem], out: IO[bytes], context: ExportContext) -> int:
    """The reports CSV: what `--format csv` writes."""
    return export_reports(items, out, context)


def export_reports(items: Iterable[ExportItem], out: IO[bytes], context: ExportContext) -> int:
    """One row per report, its current version; revoked reports too, marked so."""
    out.write(line(REPORT_COLUMNS))
    written = 0
    for item in items:
        out.write(line(report_row(item)))
        written += 1
    return written


def export_observables(items: Iterable[ExportItem], out: IO[bytes], context: ExportContext) -> int:
    """One row per observable of a live report; returns how many reports gave rows."""
    out.write(line(OBSERVABLE_COLUMNS))
    reports = 0
    for item in items:
        s = item.current
        if s.get("revoked") or not s.get("observables"):
            continue
        reports += 1
        modified = _time(s.get("modified"))
        for o in s["observables"]:
            cells = (item.report_id, o["type"], o["value"], s["tlp"], s["category"], s["country"])
            out.write(line((*cells, modified), guarded=False))
    return reports


def line(cells: Iterable[object], *, guarded: bool = True) -> bytes:
    """One CSV record, every cell guarded against formula injection unless told not to."""
    text = ("" if c is None else str(c) for c in cells)
    buffer = io.StringIO()
    csv.writer(buffer).writerow([guard(t) for t in text] if guarded else list(text))
    return buffer.getvalue().encode()


def guard(value: str) -> str:
    if value.startswith(FORMULA) or (value.startswith("'") and value[1:].startswith(_QUOTED)):
        return "'" + value
    return value


def unguard(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(_QUOTED) else value


def report_row(item: ExportItem) -> list[str]:
    s = item.current
    observables = s.get("observables") or []
    return [
        item.report_id,
        s["title"],
        s["category"],
        s["country"],
        _time(s["occurred_at"]),
        s["severity"],
        str(s["confidence"]),
        f"{s['source_reliability']}{s['information_credibility']}",
        s["tlp"],
        distribution_text(s.get("distribution") or {}),
        str(len(observables)),
        ";".join(f"{o['type']}:{o['value']}" for o in observables),
        _time(s.get("created")),
        _time(s.get("modified")),
        "true" if s.get("revoked") else "false",
        item.originator.organization,
    ]


def distribution_text(distribution: Mapping[str, Sequence[str]]) -> str:
    return ";".join(
        f"{prefix}:{name}" for prefix, key in KINDS.items() for name in distribution.get(key, [])
    )


def _time(value: Any) -> str:
    """Snapshot times (ISO strings, UTC) as RFC 3339 with a Z, as every other export has them."""
    if not value:
        return ""
    when = datetime.fromisoformat(str(value))
    return rfc3339(when if when.tzinfo else when.replace(tzinfo=UTC))


# -- reading ----------------------------------------------------------------------


def sniff(head: bytes) -> bool:
    """A CSV of reports: its first line is a header naming at least title and category."""
    text = head.decode("utf-8", errors="replace").removeprefix("\ufeff")
    first = text.split("\n", 1)[0].strip()
    if not first or first[0] in "{[<":
        return False
    try:
        names = next(csv.reader([first]), [])
    except csv.Error:
        return False  # not CSV at all, so not ours
    return {"title", "category"} <= {n.strip().lower() for n in names}


def parse(stream: IO[bytes], context: ImportContext) -> Iterator[Incoming]:
    """Reports from a CSV, one per record, read as the file streams in."""
    # Our own export can hold 500 observables of 2,000 bytes in one cell; the csv
    # module's default cap (128 KiB) would refuse it. The cap is process-wide.
    csv.field_size_limit(max(csv.field_size_limit(), limits.MAX_STRING))
    records = _records(csv.reader(_lines(stream)))
    header = _header(next(records, (0, []))[1])
    for index, cells in records:
        if not any(c.strip() for c in cells):
            continue
        where = f"rows[{index - 1}]"
        limits.check_count(index - 1, "rows")
        if len(cells) > len(header):
            raise problem(where, f"has {len(cells)} cells; the header names {len(header)}.")
        row = {name: unguard(cell) for name, cell in zip(header, cells, strict=False)}
        yield incoming(where, row, context)


def _row_key(row: Mapping[str, str]) -> str:
    """A key for a record without an id: its content, so the same file twice adds nothing.

    Two records that differ in any cell are two reports; a record edited and
    imported again is a new report too, since without an id nothing says it is
    the same one.
    """
    canonical = json.dumps(sorted(row.items()), ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def incoming(where: str, row: Mapping[str, str], context: ImportContext) -> Incoming:
    """One report from one record, `row` keyed by lower-case column names."""

    def get(name: str) -> str:
        return cell(row, name)

    payload: dict[str, Any] = {
        "title": get("title"),
        "category": _category(where, get("category"), context),
        "description": row.get("description", ""),
        "occurred_at": get("occurred_at"),
        "country": get("country") or _default_country(where, context),
        "severity": get("severity").lower(),
        "confidence": _confidence(where, get("confidence")),
        **_grading(where, get("grading")),
        **_marking(where, get("tlp"), get("distribution")),
        "observables": observables(where, get("observables")),
    }
    if get("sea_area"):
        payload["sea_area"] = get("sea_area")
    ext = get("id") or _row_key(row)
    return Incoming(
        source=f"csv:{context.importer_org}",
        external_id=ext,
        where=where,
        versions=[_version(where, report_data(where, payload), row)],
        source_identity=get("originator") or None,
        preferred_id=ext if ext and REPORT_ID.fullmatch(ext) else None,
        kept=_kept(row),
    )


def cell(row: Mapping[str, str], name: str) -> str:
    return row.get(name, "").strip()


def observables(where: str, text: str) -> list[dict[str, str]]:
    """`type:value;type:value`; a `;` splits only where a known type follows it."""
    found = []
    for j, token in enumerate(t for t in _SPLIT_OBSERVABLES.split(text) if t.strip()):
        kind, colon, value = token.strip().partition(":")
        if not colon or kind not in OBSERVABLE_TYPES:
            raise problem(
                f"{where}.observables[{j}]",
                f"'{token.strip()[:80]}' is not type:value with a type RSN knows "
                f"({', '.join(OBSERVABLE_TYPES)}).",
            )
        found.append({"type": kind, "value": value})
    return found


def _lines(stream: IO[bytes]) -> Iterator[str]:
    for number, raw in enumerate(iter(lambda: stream.readline(limits.MAX_LINE + 1), b""), 1):
        if len(raw) > limits.MAX_LINE:
            raise problem("file", f"line {number} is longer than {limits.MAX_LINE:,} bytes.")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise problem("file", f"line {number} is not UTF-8 text ({exc.reason}).") from None
        yield text.removeprefix("\ufeff") if number == 1 else text


def _records(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """Records numbered from 0 (the header), CSV syntax errors named by record."""
    index = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            where = "header" if index == 0 else f"rows[{index - 1}]"
            raise problem(where, f"cannot be read as CSV ({exc}).") from None
        yield index, cells
        index += 1


def _header(cells: list[str]) -> list[str]:
    names = [c.strip().lower() for c in cells]
    twice = sorted({n for n in names if names.count(n) > 1 and n})
    if twice:
        raise problem("header", f"names the column '{twice[0]}' twice.")
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        raise problem(
            "header",
            f"lacks the column(s) {', '.join(missing)}; a CSV of reports needs "
            f"{', '.join(REQUIRED)} (and may give country, tlp, observables).",
        )
    return names


def _category(where: str, category: str, context: ImportContext) -> str:
    if category and context.categories and category not in context.categories:
        raise problem(f"{where}.category", f"'{category}' is not in this node's taxonomy.")
    return category


def _default_country(where: str, context: ImportContext) -> str:
    if context.default_country:
        return context.default_country
    raise problem(f"{where}.country", "is empty, and the importer has no member state to use.")


def _confidence(where: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise problem(
            f"{where}.confidence", f"'{text}' is not a whole number from 0 to 100."
        ) from None


def _grading(where: str, text: str) -> dict[str, str]:
    if not text:
        return {}
    if len(text) != 2:
        raise problem(
            f"{where}.grading",
            f"'{text[:20]}' is not a grading such as B2 "
            "(source reliability A-F, then information credibility 1-6).",
        )
    return {"source_reliability": text[0].upper(), "information_credibility": text[1]}


def _marking(where: str, tlp: str, distribution: str) -> dict[str, Any]:
    """No marking: amber+strict to the importer alone, whatever the row names."""
    level = tlp.lower().removeprefix("tlp:").strip()
    if not level:
        return {"tlp": UNMARKED, "distribution": {}}
    return {
        "tlp": "clear" if level == "white" else level,
        "distribution": _distribution(where, distribution),
    }


def _distribution(where: str, text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name in (n.strip() for n in text.split(";")):
        if not name:
            continue
        prefix, colon, rest = name.partition(":")
        if colon and prefix.lower() in KINDS:
            found.setdefault(KINDS[prefix.lower()], []).append(rest.strip())
        elif len(name) == 2 and name.isalpha():
            found.setdefault("member_states", []).append(name.upper())
        else:
            raise problem(
                f"{where}.distribution",
                f"'{name[:80]}' needs its kind: state:, org:, group: or user: before the name.",
            )
    return found


def _version(where: str, data: ReportCreate, row: Mapping[str, str]) -> IncomingVersion:
    created, modified = _when(where, "created", row), _when(where, "modified", row)
    flag = cell(row, "revoked").lower()
    if flag not in _YES + _NO:
        raise problem(f"{where}.revoked", f"'{flag[:20]}' is not true or false.")
    revoked = flag in _YES
    reason = cell(row, "revoked_reason") or "Revoked at its source (the CSV gives no reason)."
    return IncomingVersion(
        data=data,
        created=created,
        modified=modified,
        revoked=revoked,
        revoked_reason=reason if revoked else None,
        revoked_at=(modified or clock.now()) if revoked else None,
    )


def _when(where: str, column: str, row: Mapping[str, str]) -> datetime | None:
    text = cell(row, column)
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise problem(f"{where}.{column}", f"'{text[:40]}' is not an ISO 8601 time.") from None
    if when.tzinfo is None:
        raise problem(f"{where}.{column}", f"'{text}' has no time zone (add Z for UTC).")
    return when.astimezone(UTC)


def _kept(row: Mapping[str, str]) -> list[dict[str, Any]]:
    extra = {k: v for k, v in row.items() if k not in KNOWN and k and v.strip()}
    return [{"type": "csv-columns", "columns": extra}] if extra else []
