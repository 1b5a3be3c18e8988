"""Report pages: the list, the two-minute form and one report, over the report services.

Views stay thin: `rsn.web.forms` reads what the browser sent, `rsn.reports` answers
(through `rsn.sharing`, so a page never shows what the API would hide), and every
page that hands non-public fields to someone other than their originator leaves one
disclosure record, as the API's answers do.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pycountry
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError as PydanticError
from sqlalchemy.orm import Session

from rsn import fusion, sharing
from rsn.api.errors import describe
from rsn.errors import FieldProblem, Forbidden, NotFound, ValidationError
from rsn.node import Node
from rsn.observables import OBSERVABLE_LABELS, OBSERVABLE_TYPES
from rsn.registry import Taxonomy, catalog
from rsn.registry import service as registry
from rsn.reports import listing, present, service
from rsn.reports.models import Report, ReportVersion
from rsn.reports.schemas import CONTROL, Observable
from rsn.reports.service import Loaded
from rsn.sharing import Principal
from rsn.store import utcnow
from rsn.web import forms
from rsn.web.deps import FormDep, FormViewerDep, NodeDep, Viewer, ViewerDep
from rsn.web.templating import page, when
from rsn.web.views import releases

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
RELIABILITY = {
    "A": "Completely reliable",
    "B": "Usually reliable",
    "C": "Fairly reliable",
    "D": "Not usually reliable",
    "E": "Unreliable",
    "F": "Reliability cannot be judged",
}
CREDIBILITY = {
    "1": "Confirmed by other sources",
    "2": "Probably true",
    "3": "Possibly true",
    "4": "Doubtful",
    "5": "Improbable",
    "6": "Truth cannot be judged",
}
GRADING = {"reliability": RELIABILITY, "credibility": CREDIBILITY}
# templating.TLP speaks to the person marking a report; a reader needs it the other way round.
FOR_READERS = {
    "clear": "Anyone may see it, including the public.",
    "green": "For the members of this node; not for observers or the public.",
    "amber": "For the originator's organization and the states, organizations and groups named.",
    "amber+strict": "For the originator's organization and the organizations named only.",
    "red": "For the originator and the people named, by name, only.",
}
NOT_IN_DIFF = frozenset({"created", "modified"})
TIMES = frozenset({"occurred_at", "revoked_at"})
# What the report page says after a change; the URL names one, it never carries the text.
NOTICES = {
    "filed": "Report filed. It is shared as its marking and distribution allow.",
    "saved": "Saved. Your changes are a new version; the history below shows what changed.",
    "unchanged": "Nothing was changed, so no new version was made.",
    "noted": "Saved. Your update is added to the description as a new version.",
    "revoked": "Report revoked.",
    "drafted": (
        "Saved as a draft: only you and your organization's liaison and duty officers can "
        "read it. Submit it for release when it is ready."
    ),
    "pending": (
        "Filed. Your organization requires release: it waits for one of its liaison or duty "
        "officers before anyone outside your organization can read it."
    ),
    "held": (
        "Saved. This change widens who may read the report, so it waits for release; "
        "until then everyone else keeps reading the published version."
    ),
}
# What a filed report's status says on the page it lands on.
FILED_NOTICE = {"draft": "drafted", "pending": "pending"}


# --- the list ----------------------------------------------------------------------


@router.get("/reports", response_class=HTMLResponse)
def list_reports(request: Request, node: NodeDep, viewer: ViewerDep) -> Response:
    """Reports the viewer may read; an HTMX request gets only the results region."""
    asked = forms.read_filters(request.query_params)
    fragment = _is_fragment(request)
    with node.db.session() as s:
        items, next_cursor, errors = _listed(s, viewer.principal, asked)
        choices = _filter_choices(s)
    node.disclose(viewer.principal, present.disclosed(viewer.principal, items), "report.list")
    response = page(
        request,
        "reports/_results.html" if fragment else "reports/list.html",
        viewer,
        status_code=422 if errors else 200,
        asked=asked,
        errors=errors,
        items=items,
        fragment=fragment,
        next_url=asked.url(cursor=next_cursor) if next_cursor else None,
        **choices,
    )
    response.headers["Vary"] = "HX-Request"
    if fragment:  # the address bar shows the filters without the form's empty fields
        extra = {"cursor": asked.cursor} if asked.cursor else {}
        response.headers["HX-Push-Url"] = asked.url(**extra)
    return response


def _is_fragment(request: Request) -> bool:
    """HTMX asked for the results only; a history restore needs the whole page."""
    headers = request.headers
    return headers.get("HX-Request") == "true" and "HX-History-Restore-Request" not in headers


def _listed(
    session: Session, principal: Principal, asked: forms.FilterForm
) -> tuple[list[Loaded], str | None, dict[str, str]]:
    """A page of visible reports, or the filter problems that stop the query."""
    if asked.errors:
        return [], None, dict(asked.errors)
    try:
        rows, next_cursor = listing.get_all(
            session,
            principal=principal,
            filters=asked.filters,
            limit=PAGE_SIZE,
            cursor=asked.cursor,
        )
    except ValidationError as exc:
        return [], None, {p.field: p.message for p in exc.problems}
    items = service.load(session, principal=principal, reports=rows)
    return items, next_cursor, {}


def _filter_choices(session: Session) -> dict[str, Any]:
    categories = _categories(catalog.node_taxonomy(session))
    return {
        "categories": categories,
        "category_names": dict(categories),
        "countries": _countries(session),
    }


# --- the new-report form -----------------------------------------------------------


@router.get("/reports/new", response_class=HTMLResponse)
def new_report(request: Request, node: NodeDep, viewer: ViewerDep) -> Response:
    _may_file(viewer.principal)
    return _form_page(request, node, viewer, forms.blank_form(utcnow()), {})


@router.post("/reports/new", response_class=HTMLResponse)
def file_report(request: Request, node: NodeDep, viewer: FormViewerDep, form: FormDep) -> Response:
    """File the report; on any problem the form comes back as typed and nothing is stored."""
    _may_file(viewer.principal)
    typed = forms.read_report_form(form)
    try:
        report_id, status = _create(node, viewer.principal, typed, draft=form.get("draft") == "1")
    except forms.FormErrors as exc:
        return _form_page(request, node, viewer, typed, exc.errors, status=422)
    notice = FILED_NOTICE.get(status, "filed")
    return RedirectResponse(f"/reports/{report_id}?notice={notice}", status_code=303)


def _may_file(principal: Principal) -> None:
    if not sharing.may_file(principal):
        raise Forbidden(
            f"Analysts and duty officers file reports; a {principal.role} may read them only."
        )


def _create(
    node: Node, principal: Principal, typed: forms.ReportForm, *, draft: bool
) -> tuple[str, str]:
    """Check with the API's schema, then file through the service, in one transaction.

    Returns the report's id and its status (published, draft or pending release).
    """
    try:
        data = forms.to_create(typed)
    except forms.FormErrors as exc:
        with node.db.session() as s:
            exc.add(_registry_problems(s, typed))
        raise
    try:
        with node.db.session(write=True) as s:
            report_id = service.create(s, principal=principal, data=data, draft=draft)
            return report_id, service.get(s, principal=principal, report_id=report_id).status
    except ValidationError as exc:
        raise forms.service_errors(exc, typed) from exc


def _registry_problems(session: Session, typed: forms.ReportForm) -> dict[str, list[str]]:
    """What the service would also refuse, so one round trip shows every problem.

    The schema stops at its own problems before the service looks at the category,
    the country or the distribution; these are the service's checks, asked early.
    """
    values, problems = typed.values, []
    category, country = values.get("category", "").strip(), values.get("country", "").strip()
    if category and category not in catalog.category_ids(session):
        message = f"'{category}' is not a category of this node's taxonomy."
        problems.append(FieldProblem("category", message))
    if country and registry.country_name(country.upper()) is None:
        message = f"'{country}' is not an ISO 3166 alpha-2 country code."
        problems.append(FieldProblem("country", message))
    tlp = values.get("tlp", "")
    if tlp in sharing.TLP_LEVELS and not forms.forged(typed.chosen):
        try:
            sharing.resolve_distribution(session, tlp, typed.chosen)
        except ValidationError as exc:
            problems.extend(exc.problems)
    return forms.by_input(problems, typed.row_of())


def _form_page(
    request: Request,
    node: Node,
    viewer: Viewer,
    typed: forms.ReportForm,
    errors: dict[str, list[str]],
    status: int = 200,
    editing: forms.Editing | None = None,
) -> Response:
    """The report form, blank or typed for a new report, or filled to edit one."""
    filer = editing.filer(viewer.principal) if editing else viewer.principal
    with node.db.session() as s:
        choices = _form_choices(s)
        report = (
            service.get(s, principal=viewer.principal, report_id=editing.report_id)
            if editing
            else None
        )
        who = _who_will_see(s, filer, typed.values.get("tlp", ""), typed.chosen, report)
    return page(
        request,
        "reports/new.html",
        viewer,
        status_code=status,
        editing=editing,
        v=typed.values,
        chosen=typed.chosen,
        rows=typed.padded_rows(),
        errors=errors,
        types=OBSERVABLE_TYPES,
        grading=GRADING,
        label_of=forms.label_of,
        **choices,
        **who,
    )


def _form_choices(session: Session) -> dict[str, Any]:
    orgs = registry.get_organizations(session)
    return {
        **_filter_choices(session),
        "member_states": registry.get_member_states(session),
        "organizations": orgs,
        "org_slugs": {o.id: o.slug for o in orgs},
        "sharing_groups": registry.get_sharing_groups(session),
        "users": registry.get_users(session, include_disabled=False),
        "sea_areas": _sea_areas(session),
    }


@router.post("/reports/_observable", response_class=HTMLResponse)
def check_observable(request: Request, viewer: FormViewerDep, form: FormDep) -> Response:
    """One observable row checked as it is typed, by the schema the API uses."""
    row, kind, value = forms.observable_row(form)
    normal, problem = None, None
    if value.strip() and not kind:
        problem = forms.UNTYPED
    elif value.strip():
        normal, problem = _observable_in(kind, value, forms.text_of(form.get("country")))
    return page(
        request, "reports/_observable.html", viewer, row=row, normal=normal, problem=problem
    )


def _observable_in(kind: str, value: str, country: str) -> tuple[str | None, str | None]:
    """(normal form, None) or (None, problem): read in the form's country, as filing does."""
    region = country.strip().upper()[:2] or None
    try:
        observable = Observable.model_validate(
            {"type": kind, "value": value}, context={"region": region}
        )
    except PydanticError as exc:
        return None, " ".join(describe(dict(e)).message for e in exc.errors(include_url=False))
    return observable.value, None


@router.post("/reports/_audience", response_class=HTMLResponse)
def audience(request: Request, node: NodeDep, viewer: FormViewerDep, form: FormDep) -> Response:
    """The "who will see this" panel for the marking and distribution chosen so far."""
    if not sharing.may_read_directory(viewer.principal):
        raise Forbidden("Observers have no use for the user directory and may not read it.")
    tlp, names = forms.distribution_names(form)
    with node.db.session() as s:
        who = _who_will_see(s, viewer.principal, tlp, names)
    return page(request, "reports/_audience.html", viewer, **who)


def _who_will_see(
    session: Session,
    principal: Principal,
    tlp: str,
    names: dict[str, Sequence[str]],
    report: Report | None = None,
) -> dict[str, Any]:
    """The computation of POST /api/v1/sharing/audience, for the panel beside the form.

    `report` is the one being edited: saving it may wait for release where filing would not.
    """
    found: dict[str, Any] = {"audience": None, "audience_error": None, "tlp": tlp}
    if tlp not in sharing.TLP_LEVELS:
        found["audience_error"] = "Choose a TLP marking to see who will be able to read it."
        return found
    if forms.forged(names):
        found["audience_error"] = "The distribution names something this node does not know."
        return found
    try:
        found["audience"] = sharing.audience_for(session, principal, tlp, names)
    except ValidationError as exc:
        found["audience_error"] = " ".join(p.message for p in exc.problems)
        return found
    return found | releases.form_note(session, principal, tlp, names, report)


# --- one report ----------------------------------------------------------------------


@router.get("/reports/{report_id}", response_class=HTMLResponse)
def show_report(request: Request, report_id: str, node: NodeDep, viewer: ViewerDep) -> Response:
    notice = NOTICES.get(request.query_params.get("notice", ""))
    return _report_page(request, node, viewer, report_id, notice=notice)


def _checked_id(report_id: str) -> str:
    """An id no report could have answers 404 before it reaches the database."""
    if len(report_id) > 64 or CONTROL.search(report_id):
        raise NotFound("report", report_id[:64])
    return report_id


def _report_page(
    request: Request,
    node: Node,
    viewer: Viewer,
    report_id: str,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
    note: str = "",
    notice: str | None = None,
) -> Response:
    principal = viewer.principal
    with node.db.session() as s:
        report = service.get(s, principal=principal, report_id=_checked_id(report_id))
        [item] = service.load(s, principal=principal, reports=[report], with_next_version=True)
        fusion.attach(
            s, principal=principal, item=item, threshold=node.settings.correlation_threshold
        )
        context = _report_context(s, principal, item)
    node.disclose(principal, present.disclosed(principal, [item]), "report.read")
    return page(
        request,
        "reports/show.html",
        viewer,
        status_code=status,
        item=item,
        r=item.report,
        errors=errors or {},
        note=note,
        notice=notice,
        grading=GRADING,
        **context,
    )


def _report_context(session: Session, principal: Principal, item: Loaded) -> dict[str, Any]:
    r = item.report
    versions = service.history(session, principal=principal, report_id=r.id)
    names = service.usernames(session, {v.submitted_by for v in versions})
    history = [
        (v, names.get(v.submitted_by, ""), *_against(versions[i - 1] if i else None, v))
        for i, v in enumerate(versions)
    ]
    matches = item.correlations.matches if item.correlations else []
    return {
        "category_names": dict(_categories(catalog.node_taxonomy(session))),
        "country_name": registry.country_name(r.country) or r.country,
        "meaning": FOR_READERS.get(r.tlp, ""),
        "others": _others(session, principal, [m.report_id for m in matches]),
        "matches": matches,
        "common": item.correlations.common if item.correlations else [],
        "history": list(reversed(history)),
        "may_change": sharing.may_change(principal, originator_org_id=r.originator_org_id),
        **releases.report_context(principal, item),
    }


def _others(session: Session, principal: Principal, ids: list[str]) -> dict[str, Report]:
    """The correlated reports themselves, each read as this viewer may read it."""
    found: dict[str, Report] = {}
    for report_id in dict.fromkeys(ids):
        try:
            found[report_id] = service.get(session, principal=principal, report_id=report_id)
        except NotFound:
            continue  # not (or no longer) visible: the link stays, the details do not
    return found


def _against(
    before: ReportVersion | None, version: ReportVersion
) -> tuple[list[tuple[str, str, str]], bool]:
    """What a version changed since the last one the reader may read, and whether one is hidden.

    A version the reader may not read gives none of its text to a diff: the
    change is shown from the last readable version, or not at all.
    """
    hidden = version.version > (before.version if before else 0) + 1
    return (changes(before.snapshot, version.snapshot) if before else []), hidden


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, str, str]]:
    """What one version changed, field by field, as (field, old, new) a reader can scan."""
    return [
        (name.replace("_", " "), _shown(before.get(name), name), _shown(value, name))
        for name, value in after.items()
        if name not in NOT_IN_DIFF and before.get(name) != value
    ]


def _shown(value: Any, name: str = "") -> str:
    if value is None or value == []:
        return "—"
    if name in TIMES and isinstance(value, str):
        return when(datetime.fromisoformat(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(_observable(o) if isinstance(o, dict) else str(o) for o in value)
    if isinstance(value, dict):
        if set(value) == {"lat", "lon"}:
            return f"{value['lat']}, {value['lon']}"
        parts = [f"{k.replace('_', ' ')}: {', '.join(map(str, v))}" for k, v in value.items() if v]
        return "; ".join(parts) or "none"
    return str(value)


def _observable(snapshot: dict[str, Any]) -> str:
    kind = str(snapshot.get("type"))
    return f"{OBSERVABLE_LABELS.get(kind, kind)}: {snapshot.get('value')}"


# --- shared helpers ------------------------------------------------------------------


def _categories(tax: Taxonomy) -> list[tuple[str, str]]:
    """(id, "Parent > Child") for every category, so a search matches either level."""
    return [(c.id, tax.path_label(c.id)) for c in tax]


def _countries(session: Session) -> dict[str, list[tuple[str, str]]]:
    """The node's member states first, then every other ISO 3166 country."""
    members = [(m.code, m.name) for m in registry.get_member_states(session)]
    known = {code for code, _ in members}
    return {"members": members, "others": [c for c in _all_countries() if c[0] not in known]}


@functools.cache
def _all_countries() -> tuple[tuple[str, str], ...]:
    found = ((str(c.alpha_2), str(c.name)) for c in pycountry.countries)
    return tuple(sorted(found, key=lambda pair: pair[1]))


def _sea_areas(session: Session) -> list[str]:
    """The sea areas of every region pack loaded on this node."""
    areas = {str(a) for p in catalog.packs(session) for a in p.content.get("sea_areas", [])}
    return sorted(areas)
