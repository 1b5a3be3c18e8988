"""The alerts pages: the triage list with counts per status, and an alert with its
series, its reports and its history, and the actions its viewer may take.

What is shown is decided as the API decides it (`rsn.warning.alerts`): only alerts
the viewer may read, and of their reports only those the viewer may read now.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError as PydanticError
from sqlalchemy import select

from rsn import clock
from rsn.api.errors import describe
from rsn.errors import Conflict, ValidationError
from rsn.registry.models import User
from rsn.reports.models import Report
from rsn.sharing import visible
from rsn.warning import alerts
from rsn.warning.models import CLOSE_REASONS, STATUSES
from rsn.warning.schemas import AlertAction, AlertMuteCreate, AlertNote
from rsn.web.deps import FormDep, FormViewerDep, NodeDep, Viewer, ViewerDep
from rsn.web.templating import page

router = APIRouter(include_in_schema=False)
REASONS = {
    "real": "Real: it happened and needed attention",
    "false-alarm": "False alarm",
    "duplicate": "Duplicate of another alert",
    "no-action": "Real, but no action needed",
}
assert set(REASONS) == set(CLOSE_REASONS)


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request,
    node: NodeDep,
    who: ViewerDep,
    status: str | None = None,
    cursor: str | None = None,
    muted: bool = False,
) -> Response:
    """Alerts the viewer may read, latest change first; those of series the viewer's
    organization muted only when asked."""
    wanted = status if status in STATUSES else None
    with node.db.session() as s:
        counts = alerts.counts_by_status(s, who.principal)
        rows, next_cursor = alerts.listing(
            s, who.principal, alerts.Filters(status=wanted, muted=muted), limit=50, cursor=cursor
        )
        held = alerts.muted_until(s, who.principal, rows)
        linked = alerts.report_ids_of(s, who.principal, [a.id for a in rows])
        disclosed = alerts.disclosed(s, who.principal, [a.id for a in rows])
        record = alerts.triage_record(s, who.principal)
    node.disclose(who.principal, disclosed, "alert.list")
    return page(
        request,
        "alerts/list.html",
        who,
        alerts=rows,
        linked=linked,
        counts=counts,
        status=wanted,
        statuses=STATUSES,
        next_cursor=next_cursor,
        record=record,
        reasons=REASONS,
        muted=muted,
        held=held,
    )


def _sparkline(counts: list[float], width: int = 240, height: int = 48) -> str:
    """The series' recent counts as SVG polyline points (empty when there are none)."""
    if len(counts) < 2:
        return ""
    top = max(counts) or 1.0
    step = width / (len(counts) - 1)
    return " ".join(
        f"{i * step:.1f},{height - 2 - (c / top) * (height - 4):.1f}" for i, c in enumerate(counts)
    )


def _alert_page(
    request: Request,
    node: NodeDep,
    who: Viewer,
    alert_id: str,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with node.db.session() as s:
        alert = alerts.get(s, who.principal, alert_id)
        ids = alerts.report_ids(s, who.principal, alert_id)
        reports = list(
            s.execute(
                select(Report.id, Report.title, Report.occurred_at, Report.country, Report.tlp)
                .where(Report.id.in_(ids), visible(who.principal, Report.id))
                .order_by(Report.occurred_at.desc())
            )
        )
        steps = alerts.history(s, alert_id)
        actor_ids = {e.actor_id for e in steps if e.actor_id}
        names = {
            u.id: u.display_name for u in s.scalars(select(User).where(User.id.in_(actor_ids)))
        }
        owner = s.get(User, alert.owner_id) if alert.owner_id else None
        held = alerts.mute_of(s, who.principal, alert)
        disclosed = alerts.disclosed(s, who.principal, [alert_id])
    node.disclose(who.principal, disclosed, "alert.read")
    counts = [float(c) for c in alert.detail.get("counts", []) if isinstance(c, int | float)]
    allowed = {a for a, (start, _, _) in alerts.TRANSITIONS.items() if alert.status in start}
    return page(
        request,
        "alerts/alert.html",
        who,
        status_code=status_code,
        alert=alert,
        reports=reports,
        steps=steps,
        names=names,
        owner=owner.display_name if owner else None,
        sparkline=_sparkline(counts),
        may_act=who.principal.role in alerts.ACTING_ROLES,
        allowed=allowed,
        reasons=REASONS,
        mute=held,
        mute_days=MUTE_DAYS,
        errors=errors or {},
    )


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(request: Request, alert_id: str, node: NodeDep, who: ViewerDep) -> Response:
    return _alert_page(request, node, who, alert_id)


def _problems(exc: PydanticError) -> dict[str, str]:
    found = [describe(dict(e)) for e in exc.errors(include_url=False)]
    return {p.field: p.message for p in found}


@router.post("/alerts/{alert_id}/act")
def act(
    request: Request, alert_id: str, node: NodeDep, who: FormViewerDep, form: FormDep
) -> Response:
    """Acknowledge, escalate or close from the alert page; a problem shows beside its field."""
    action = str(form.get("action") or "")
    body = {k: str(form.get(k) or "").strip() for k in ("note", "reason")}
    try:
        data = AlertAction.model_validate({k: v for k, v in body.items() if v})
    except PydanticError as exc:
        return _alert_page(request, node, who, alert_id, errors=_problems(exc), status_code=422)
    try:
        with node.db.session(write=True) as s:
            alerts.act(s, who.principal, alert_id, action, reason=data.reason, note=data.note)
    except ValidationError as exc:
        errors = {p.field: p.message for p in exc.problems}
        return _alert_page(request, node, who, alert_id, errors=errors, status_code=422)
    except Conflict as exc:
        return _alert_page(
            request, node, who, alert_id, errors={"action": str(exc)}, status_code=409
        )
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)


MUTE_DAYS = {1: "a day (snooze)", 7: "a week", 30: "30 days", 90: "90 days"}


@router.post("/alerts/{alert_id}/mute")
def mute(
    request: Request, alert_id: str, node: NodeDep, who: FormViewerDep, form: FormDep
) -> Response:
    """Mute the series for the viewer's organization, for one of a few spans, or lift it."""
    if form.get("lift"):
        try:
            with node.db.session(write=True) as s:
                alerts.unmute(s, who.principal, alert_id)
        except Conflict as exc:
            return _alert_page(
                request, node, who, alert_id, errors={"mute": str(exc)}, status_code=409
            )
        return RedirectResponse(f"/alerts/{alert_id}", status_code=303)
    days = str(form.get("days") or "")
    if not days.isdigit() or int(days) not in MUTE_DAYS:
        errors = {"days": f"Choose how long: {', '.join(MUTE_DAYS.values())}."}
        return _alert_page(request, node, who, alert_id, errors=errors, status_code=422)
    until = clock.now() + timedelta(days=int(days))
    try:
        data = AlertMuteCreate.model_validate(
            {"until": until, "reason": str(form.get("mute_reason") or "").strip()}
        )
    except PydanticError as exc:
        errors = {("mute_reason" if k == "reason" else k): v for k, v in _problems(exc).items()}
        return _alert_page(request, node, who, alert_id, errors=errors, status_code=422)
    with node.db.session(write=True) as s:
        alerts.mute(s, who.principal, alert_id, until=data.until, reason=data.reason)
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)


@router.post("/alerts/{alert_id}/notes")
def note(
    request: Request, alert_id: str, node: NodeDep, who: FormViewerDep, form: FormDep
) -> Response:
    try:
        data = AlertNote.model_validate({"text": str(form.get("text") or "")})
    except PydanticError as exc:
        return _alert_page(request, node, who, alert_id, errors=_problems(exc), status_code=422)
    with node.db.session(write=True) as s:
        alerts.add_note(s, who.principal, alert_id, data.text)
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)
