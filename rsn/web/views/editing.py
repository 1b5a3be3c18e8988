"""Report pages that change a report: edit it, add an update, revoke it after a confirmation.

They call the update and revoke services the API's PATCH and revoke call, so the
same people may do it: a reader who may not change the report gets 403, anyone
else 404, exactly as for a report that does not exist. After a change the browser
goes back to the report with one of the fixed notices of `reports.NOTICES`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from rsn import sharing
from rsn.errors import Forbidden, ValidationError
from rsn.node import Node
from rsn.reports import held, service
from rsn.reports.models import Report
from rsn.sharing import Principal
from rsn.store import utcnow
from rsn.web import forms
from rsn.web.deps import FormDep, FormViewerDep, NodeDep, Viewer, ViewerDep
from rsn.web.templating import page
from rsn.web.views import reports as pages

router = APIRouter(include_in_schema=False)
NOT_YOURS = "Only analysts and duty officers of the originating organization may change it."
REVOKED = "A revoked report cannot be edited."
CONFIRMED = "yes"


def _changeable(session: Session, principal: Principal, report_id: str) -> Report:
    """The report if this viewer may change it: 404 when hidden, 403 when only readable."""
    report = service.get(session, principal=principal, report_id=pages._checked_id(report_id))
    if not sharing.may_change(principal, originator_org_id=report.originator_org_id):
        raise Forbidden(NOT_YOURS)
    return report


def _editable(session: Session, principal: Principal, report_id: str) -> Report:
    report = _changeable(session, principal, report_id)
    if report.revoked:
        raise Forbidden(REVOKED)
    return report


def _done(node: Node, report_id: str, notice: str) -> Response:
    return RedirectResponse(f"/reports/{report_id}?notice={notice}", status_code=303)


# --- edit ----------------------------------------------------------------------------


@router.get("/reports/{report_id}/edit", response_class=HTMLResponse)
def edit_report(request: Request, report_id: str, node: NodeDep, viewer: ViewerDep) -> Response:
    """The report form, filled with the current version."""
    with node.db.session() as s:
        report = _editable(s, viewer.principal, report_id)
        observables = service.observables_of(s, [report.id])[report.id]
        typed, editing = forms.form_of(report, observables), forms.editing_of(report)
    return pages._form_page(request, node, viewer, typed, {}, editing=editing)


@router.post("/reports/{report_id}/edit", response_class=HTMLResponse)
def save_report(
    request: Request, report_id: str, node: NodeDep, viewer: FormViewerDep, form: FormDep
) -> Response:
    """Save the form as a new version; on any problem it comes back as typed, nothing stored."""
    typed = forms.read_report_form(form)
    with node.db.session() as s:
        editing = forms.editing_of(_editable(s, viewer.principal, report_id))
    try:
        if forms.text_of(form.get("version")) != str(editing.version):
            # The form comes back standing on the newer version: saving again replaces it.
            raise forms.FormErrors({forms.GENERAL: [_newer(editing.version)]})
        notice = _update(node, viewer.principal, editing, typed)
    except forms.FormErrors as exc:
        return pages._form_page(request, node, viewer, typed, exc.errors, 422, editing)
    return _done(node, editing.report_id, notice)


def _update(
    node: Node, principal: Principal, editing: forms.Editing, typed: forms.ReportForm
) -> str:
    """Check as filing does, then update in one transaction; the notice to show after."""
    try:
        data = forms.to_update(typed)
    except forms.FormErrors as exc:
        with node.db.session() as s:
            exc.add(pages._registry_problems(s, typed))
        raise
    try:
        with node.db.session(write=True) as s:
            before = _editable(s, principal, editing.report_id).version
            if before != editing.version:
                raise forms.FormErrors({forms.GENERAL: [_newer(before)]})
            waiting = _held_state(s, principal, editing.report_id)
            report = service.update_report(
                s, principal=principal, report_id=editing.report_id, data=data
            )
            if report.version > before:
                return "saved"
            held_now = _held_state(s, principal, editing.report_id)
            return "held" if held_now is not None and held_now != waiting else "unchanged"
    except ValidationError as exc:
        raise forms.service_errors(exc, typed) from exc


def _held_state(session: Session, principal: Principal, report_id: str) -> object:
    """What waits for release for this report, to tell a held widening from no change."""
    pending = held.get(session, principal=principal, report_id=report_id)
    return None if pending is None else (pending.submitted_at, pending.filing)


def _newer(version: int) -> str:
    return (
        f"Someone saved version {version} of this report while you were editing it. "
        "Open the report in another tab to see it; saving this form again replaces it."
    )


@router.post("/reports/{report_id}/_audience", response_class=HTMLResponse)
def edit_audience(
    request: Request, report_id: str, node: NodeDep, viewer: FormViewerDep, form: FormDep
) -> Response:
    """The "who will see this" panel of the edit form, counted with the report's own filer."""
    tlp, names = forms.distribution_names(form)
    with node.db.session() as s:
        report = _editable(s, viewer.principal, report_id)
        filer = forms.editing_of(report).filer(viewer.principal)
        who = pages._who_will_see(s, filer, tlp, names, report)
    return page(request, "reports/_audience.html", viewer, **who)


# --- add an update -------------------------------------------------------------------


@router.post("/reports/{report_id}/updates", response_class=HTMLResponse)
def add_update(
    request: Request, report_id: str, node: NodeDep, viewer: FormViewerDep, form: FormDep
) -> Response:
    """A short note appended to the description, stamped, as a new version."""
    principal = viewer.principal
    with node.db.session() as s:
        _editable(s, principal, report_id)
    try:
        note = forms.to_note(form)
        with node.db.session(write=True) as s:
            report = _editable(s, principal, report_id)
            data = forms.with_note(
                report.description, note, when=utcnow(), author=principal.username
            )
            service.update_report(s, principal=principal, report_id=report.id, data=data)
    except forms.FormErrors as exc:
        typed = forms.text_of(form.get("note"))
        return pages._report_page(request, node, viewer, report_id, exc.errors, 422, note=typed)
    return _done(node, report_id, "noted")


# --- revoke --------------------------------------------------------------------------


@router.get("/reports/{report_id}/revoke", response_class=HTMLResponse)
def confirm_revoke(request: Request, report_id: str, node: NodeDep, viewer: ViewerDep) -> Response:
    """What revoking does, and the reason, before anything is revoked."""
    with node.db.session() as s:
        report = _changeable(s, viewer.principal, report_id)
        if report.revoked:
            return RedirectResponse(f"/reports/{report.id}", status_code=303)
    return _confirm_page(request, node, viewer, report_id)


@router.post("/reports/{report_id}/revoke", response_class=HTMLResponse)
def revoke_report(
    request: Request, report_id: str, node: NodeDep, viewer: FormViewerDep, form: FormDep
) -> Response:
    """Revoke with a reason, once confirmed; an unconfirmed post only asks again."""
    with node.db.session() as s:
        _changeable(s, viewer.principal, report_id)
    reason = forms.text_of(form.get("reason"))
    if form.get("confirmed") != CONFIRMED:
        return _confirm_page(request, node, viewer, report_id, reason=reason)
    try:
        data = forms.to_revocation(form)
    except forms.FormErrors as exc:
        return _confirm_page(request, node, viewer, report_id, exc.errors, 422, reason)
    with node.db.session(write=True) as s:
        service.revoke(s, principal=viewer.principal, report_id=report_id, reason=data.reason)
    return _done(node, report_id, "revoked")


def _confirm_page(
    request: Request,
    node: Node,
    viewer: Viewer,
    report_id: str,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
    reason: str = "",
) -> Response:
    with node.db.session() as s:
        report = _changeable(s, viewer.principal, report_id)
    return page(
        request,
        "reports/revoke.html",
        viewer,
        status_code=status,
        r=report,
        meaning=pages.FOR_READERS.get(report.tlp, ""),
        errors=errors or {},
        reason=reason,
    )
