"""Reading the report pages' query strings and forms into what the services take.

A browser sends strings; the services take `listing.Filters` and a `ReportCreate`.
This is the only translation between the two, so a page rejects exactly what the API
rejects, in the API's words, and each message can be put beside the input it is about.
Errors are keyed by input id (`obs-2-value`, `organizations`, `lat`), the ids the
templates give their inputs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError as PydanticError
from starlette.datastructures import FormData

from rsn.api.errors import describe
from rsn.errors import FieldProblem
from rsn.errors import ValidationError as RSNValidationError
from rsn.reports.listing import Filters
from rsn.reports.models import Report
from rsn.reports.schemas import CONTROL, ReportCreate, ReportUpdate, Revocation, in_utc_range
from rsn.sharing import TLP_LEVELS, Principal

FILTER_LIMITS = {
    "q": 500,
    "category": 120,
    "country": 2,
    "tlp": 20,
    "since": 40,
    "until": 40,
    "observable": 2048,
}
DISTRIBUTION_KEYS = ("member_states", "organizations", "sharing_groups", "users")
SCALARS = (
    "title",
    "category",
    "description",
    "occurred_at",
    "country",
    "lat",
    "lon",
    "sea_area",
    "severity",
    "confidence",
    "source_reliability",
    "information_credibility",
    "tlp",
)
INPUTS = frozenset({*SCALARS, "reason", "note"})
MIN_ROWS = 3
OBS_NAME = re.compile(r"obs-(\d{1,3})-(type|value)")
OBS_PATH = re.compile(r"observables\[(\d+)\]\.(type|value)")
COUNTRY = re.compile(r"[A-Za-z]{2}")
GENERAL = "form"
UNTYPED = "Choose the type of this observable."
LABELS = {
    "title": "Title",
    "category": "Category",
    "description": "Description",
    "occurred_at": "When it happened",
    "country": "Country",
    "lat": "Latitude",
    "lon": "Longitude",
    "sea_area": "Sea area",
    "severity": "Severity",
    "confidence": "Confidence",
    "source_reliability": "Source reliability",
    "information_credibility": "Information credibility",
    "tlp": "TLP marking",
    "member_states": "Member states",
    "organizations": "Organizations",
    "sharing_groups": "Sharing groups",
    "users": "People",
    "observables": "Observables",
    "reason": "Reason",
    "note": "Update",
}
NOTE_LIMITS = (3, 2000)
DESCRIPTION_LIMIT = 50_000
SHORT_REASON = "Say why you revoke it (at least 3 characters)."


# --- the list's filters -------------------------------------------------------------


@dataclass(frozen=True)
class FilterForm:
    """The list's filters as typed (for the inputs and links) and as the listing takes them."""

    values: dict[str, str]
    errors: dict[str, str]
    filters: Filters
    cursor: str | None

    def url(self, **extra: str) -> str:
        """/reports with these filters (and `extra`), so a link keeps what was asked."""
        query = urlencode({**self.values, **extra})
        return f"/reports?{query}" if query else "/reports"


def read_filters(params: Mapping[str, str]) -> FilterForm:
    """Checked as strictly as the API's query, but every problem lands beside its filter."""
    values = {k: params[k].strip() for k in FILTER_LIMITS if params.get(k, "").strip()}
    errors: dict[str, str] = {}
    for name, value in values.items():
        problem = _filter_problem(name, value)
        if problem:
            errors[name] = problem
    since = _day(values.get("since"), errors, "since")
    until = _day(values.get("until"), errors, "until", days_after=1)
    if since and until and until <= since:
        errors.setdefault("until", "The end date must be on or after the start date.")
    cursor = params.get("cursor") or None
    if cursor and (len(cursor) > 400 or CONTROL.search(cursor)):
        errors["cursor"], cursor = "This page link was not made by this node.", None
    ok = {k: v for k, v in values.items() if k not in errors}
    filters = Filters(
        q=ok.get("q"),
        category=ok.get("category"),
        country=ok.get("country", "").upper() or None,
        tlp=ok.get("tlp"),
        since=since,
        until=until,
        observable=ok.get("observable"),
    )
    return FilterForm(values=values, errors=errors, filters=filters, cursor=cursor)


def _filter_problem(name: str, value: str) -> str | None:
    if len(value) > FILTER_LIMITS[name]:
        return f"Use at most {FILTER_LIMITS[name]} characters."
    if CONTROL.search(value):
        return "Remove the control character (such as NUL) from it."
    if name == "country" and not COUNTRY.fullmatch(value):
        return f"'{value}' is not a two-letter ISO 3166 country code."
    if name == "tlp" and value not in TLP_LEVELS:
        return f"'{value}' is not one of {', '.join(TLP_LEVELS)}."
    return None


def _day(
    value: str | None, errors: dict[str, str], name: str, days_after: int = 0
) -> datetime | None:
    """A date filter as the start of that UTC day (`until` counts its whole day).

    A time (YYYY-MM-DDTHH:MM, or with a space, as people type it) is read as UTC, and
    a full RFC 3339 time, as other pages' links may carry, is taken as it is.
    """
    if not value or name in errors:
        return None
    try:
        if len(value) > len("YYYY-MM-DD"):
            when = datetime.fromisoformat(value)
            return in_utc_range(when if when.tzinfo else when.replace(tzinfo=UTC))
        start = datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
        return start + timedelta(days=days_after)
    except ValueError:
        errors[name] = f"'{value}' is not a date (use YYYY-MM-DD, or YYYY-MM-DDTHH:MM in UTC)."
    except OverflowError:
        return None  # the last day there is: no upper bound at all
    return None


# --- the report form ----------------------------------------------------------------


@dataclass
class ReportForm:
    """The new-report form as typed, so a page with errors shows it back unchanged."""

    values: dict[str, str] = field(default_factory=dict)
    chosen: dict[str, Sequence[str]] = field(default_factory=dict)
    rows: list[tuple[str, str]] = field(default_factory=list)

    def padded_rows(self) -> list[tuple[str, str]]:
        """The observable rows to show: those typed, and blank ones up to the minimum."""
        blank = ("", "")
        return self.rows + [blank] * max(0, MIN_ROWS - len(self.rows))

    def row_of(self) -> list[int]:
        """For each observable sent to the service, the row it came from."""
        return [i for i, (_, value) in enumerate(self.rows) if value.strip()]


@dataclass(frozen=True)
class Editing:
    """The report an edit form changes: what the page, the panel and the save need of it."""

    report_id: str
    version: int
    title: str
    originator_user_id: str

    def filer(self, editor: Principal) -> Principal:
        """Who the panel counts as the report's originator: its filer, not whoever edits.

        Only analysts and duty officers of the same organization edit, so the
        organization (and its state) is the editor's; the user may differ.
        """
        return replace(editor, user_id=self.originator_user_id)


def editing_of(report: Report) -> Editing:
    return Editing(report.id, report.version, report.title, report.originator_user_id)


def form_of(report: Report, observables: Sequence[tuple[str, str]]) -> ReportForm:
    """The form filled with a report's current version, for editing it."""
    values = {
        name: "" if getattr(report, name) is None else str(getattr(report, name))
        for name in SCALARS
    }
    values["occurred_at"] = local_input(report.occurred_at)
    values["lat"] = "" if report.lat is None else repr(report.lat)
    values["lon"] = "" if report.lon is None else repr(report.lon)
    chosen: dict[str, Sequence[str]] = {
        key: [str(n) for n in report.distribution.get(key) or []] for key in DISTRIBUTION_KEYS
    }
    return ReportForm(values=values, chosen=chosen, rows=list(observables))


def local_input(when: datetime) -> str:
    """A UTC time as a datetime-local value, to the minute unless it is more precise."""
    if when.second == 0 and when.microsecond == 0:
        return when.strftime("%Y-%m-%dT%H:%M")
    spec = "milliseconds" if when.microsecond else "seconds"
    return when.replace(tzinfo=None).isoformat(timespec=spec)


def blank_form(now: datetime) -> ReportForm:
    """What a new form starts with: now, amber, a middling grading."""
    return ReportForm(
        values={
            "occurred_at": now.strftime("%Y-%m-%dT%H:%M"),
            "tlp": "amber",
            "severity": "medium",
            "confidence": "50",
            "source_reliability": "F",
            "information_credibility": "6",
        }
    )


def read_report_form(form: FormData) -> ReportForm:
    """Every field of the posted form as the strings the browser sent."""
    values = {name: text_of(form.get(name)) for name in SCALARS}
    chosen: dict[str, Sequence[str]] = {
        key: [v for v in form.getlist(key) if isinstance(v, str)] for key in DISTRIBUTION_KEYS
    }
    return ReportForm(values=values, chosen=chosen, rows=_rows(form))


def text_of(value: object) -> str:
    """A form value as text; a file upload where text belongs reads as nothing."""
    return value if isinstance(value, str) else ""


def _rows(form: FormData) -> list[tuple[str, str]]:
    """Observable rows by the number in their names; blank rows are dropped."""
    found: dict[int, dict[str, str]] = {}
    for name, value in form.multi_items():
        match = OBS_NAME.fullmatch(name)
        if match and isinstance(value, str):
            found.setdefault(int(match[1]), {})[match[2]] = value
    rows = [(r.get("type", ""), r.get("value", "")) for _, r in sorted(found.items())]
    return [row for row in rows if row[1].strip()]


def payload(form: ReportForm) -> dict[str, Any]:
    """The JSON body the API would have received for this form."""
    v = form.values
    body: dict[str, Any] = {
        name: v[name]
        for name in ("title", "category", "country", "severity", "tlp")
        if name in v and v[name] != ""
    }
    body |= {k: v[k] for k in ("source_reliability", "information_credibility") if v.get(k)}
    body["description"] = v.get("description", "")
    body["sea_area"] = v.get("sea_area", "").strip() or None
    if v.get("confidence", "").strip():
        body["confidence"] = _int_or_text(v["confidence"])
    if v.get("occurred_at", "").strip():
        body["occurred_at"] = as_utc(v["occurred_at"])
    if v.get("lat", "").strip() or v.get("lon", "").strip():
        body["location"] = {k: v[k] for k in ("lat", "lon") if v.get(k, "").strip()}
    body["distribution"] = {k: list(form.chosen.get(k, [])) for k in DISTRIBUTION_KEYS}
    body["observables"] = [{"type": t, "value": val} for t, val in form.rows if val.strip()]
    return body


def _int_or_text(value: str) -> int | str:
    """An integer when it is one; otherwise the text, for the schema to name the problem."""
    text = value.strip()
    return int(text) if re.fullmatch(r"-?\d{1,6}", text) else text


def as_utc(value: str) -> datetime | str:
    """A typed ISO time, read as UTC unless it names an offset; the schema refuses the rest.

    The form asks for YYYY-MM-DDTHH:MM; a space for the T, or a date alone (00:00), pass too.
    """
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return value
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class FormErrors(Exception):
    """The form's problems, keyed by the id of the input each belongs beside."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(m for ms in errors.values() for m in ms))
        self.errors = errors

    def add(self, more: dict[str, list[str]]) -> None:
        """Problems found another way, for inputs that have none yet."""
        for key, messages in more.items():
            self.errors.setdefault(key, messages)


def to_create(form: ReportForm) -> ReportCreate:
    """The form as the API's own schema; FormErrors when the schema refuses it."""
    try:
        return ReportCreate.model_validate(payload(form))
    except PydanticError as exc:
        problems = [describe(dict(e)) for e in exc.errors(include_url=False)]
        errors = {**by_input(problems, form.row_of()), **_untyped(form), **_unreadable(form)}
        raise FormErrors(errors) from exc


def _unreadable(form: ReportForm) -> dict[str, list[str]]:
    """A time in another notation: name the one the form reads, not the parser's complaint."""
    typed = form.values.get("occurred_at", "").strip()
    if not typed or not isinstance(as_utc(typed), str):
        return {}
    label = LABELS["occurred_at"]
    return {
        "occurred_at": [f"{label} must be written YYYY-MM-DDTHH:MM in UTC, not '{typed[:40]}'."]
    }


def to_update(form: ReportForm) -> ReportUpdate:
    """The edit form as an update that replaces every field.

    It is checked as a new report is, so a field emptied on the form is refused
    rather than quietly kept; a point or sea area emptied is removed.
    """
    return ReportUpdate.model_validate(dict(to_create(form)))


def _untyped(form: ReportForm) -> dict[str, list[str]]:
    """A value without a type: say so plainly, not with the schema's list of every type."""
    return {
        f"obs-{i}-type": [UNTYPED]
        for i, (kind, value) in enumerate(form.rows)
        if value.strip() and not kind
    }


def by_input(problems: Sequence[FieldProblem], row_of: Sequence[int]) -> dict[str, list[str]]:
    """Each problem under the input it is about, with the field path the API would name."""
    errors: dict[str, list[str]] = {}
    for problem in problems:
        key = input_for(problem.field, row_of)
        errors.setdefault(key, []).append(sentence(key, problem.message))
    return errors


def service_errors(exc: RSNValidationError, form: ReportForm) -> FormErrors:
    """A service's refusal (unknown category, a disallowed distribution) beside its input."""
    return FormErrors(by_input(exc.problems, form.row_of()))


def label_of(key: str) -> str:
    """What the page calls an input: `obs-1-value` is "Observable 2 value"."""
    match = OBS_NAME.fullmatch(key)
    if match:
        return f"Observable {int(match[1]) + 1} {match[2]}"
    return LABELS.get(key, "")


def sentence(key: str, message: str) -> str:
    """The API's "is required." beside an input reads better as "Longitude is required."."""
    label = label_of(key)
    return f"{label} {message}" if label and message[:1].islower() else message


def input_for(path: str, row_of: Sequence[int]) -> str:
    """`observables[1].value` -> `obs-<row>-value`, `distribution.users[0]` -> `users`."""
    match = OBS_PATH.match(path)
    if match:
        index = int(match[1])
        row = row_of[index] if index < len(row_of) else index
        return f"obs-{row}-{match[2]}"
    head, _, rest = path.partition(".")
    head = head.split("[")[0]
    if head == "observables":
        return "observables"
    if head == "distribution":
        key = rest.split("[")[0]
        return key if key in DISTRIBUTION_KEYS else "tlp"
    if head == "location":
        return "lon" if rest == "lon" else "lat"
    return head if head in INPUTS else GENERAL


def observable_row(form: FormData) -> tuple[str, str, str]:
    """The row an inline check is about: its number, type and value."""
    row = text_of(form.get("row"))
    row = row if row.isdigit() and len(row) <= 3 else "0"
    kind = text_of(form.get(f"obs-{row}-type"))
    return row, kind, text_of(form.get(f"obs-{row}-value"))


def distribution_names(form: FormData) -> tuple[str, dict[str, Sequence[str]]]:
    """The marking and distribution of a form, for "who will see this"."""
    chosen = read_report_form(form)
    return chosen.values.get("tlp", ""), chosen.chosen


def forged(names: Mapping[str, Sequence[str]]) -> bool:
    """Names no form offers (control characters, absurd lengths): not worth a lookup."""
    return any(len(n) > 200 or CONTROL.search(n) for ns in names.values() for n in ns)


def to_revocation(form: FormData) -> Revocation:
    """The revoke form's reason, checked by the API's schema.

    A missing or too short reason is the usual slip, so it gets a sentence that
    says what to do rather than the schema's count of characters.
    """
    reason = text_of(form.get("reason"))
    if len(reason.strip()) < 3:
        raise FormErrors({"reason": [SHORT_REASON]})
    try:
        return Revocation.model_validate({"reason": reason})
    except PydanticError as exc:
        problems = [describe(dict(e)) for e in exc.errors(include_url=False)]
        raise FormErrors(by_input(problems, [])) from exc


def to_note(form: FormData) -> str:
    """The text of an update, checked as strictly as any text the API takes."""
    note = text_of(form.get("note")).strip()
    least, most = NOTE_LIMITS
    if len(note) < least:
        problem = f"Write the update (at least {least} characters)."
    elif len(note) > most:
        problem = f"Keep the update to {most:,} characters; it has {len(note):,}."
    elif CONTROL.search(note):
        problem = "Remove the control character (such as NUL) from it."
    else:
        return note
    raise FormErrors({"note": [problem]})


def with_note(description: str, note: str, *, when: datetime, author: str) -> ReportUpdate:
    """The description with an update appended, stamped so readers see who added what, when."""
    stamp = f"Update, {when.strftime('%Y-%m-%d %H:%M')} UTC, by {author}:"
    longer = f"{description.rstrip()}\n\n{stamp}\n{note}".lstrip()
    if len(longer) > DESCRIPTION_LIMIT:
        room = max(0, DESCRIPTION_LIMIT - len(longer) + len(note))
        problem = (
            f"The description is nearly full: the update may have at most {room:,} characters."
        )
        raise FormErrors({"note": [problem]})
    return ReportUpdate(description=longer)
