"""HTTP routes for alerts: the triage list, one alert, and acting on it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from rsn.api.deps import NodeDep, PrincipalDep
from rsn.api.jsonbody import JSONRoute
from rsn.api.reports import checked
from rsn.errors import ValidationError
from rsn.registry.models import User
from rsn.reports.schemas import in_utc_range, no_control
from rsn.sharing import Principal
from rsn.warning import alerts, maritime
from rsn.warning.models import STATUSES, Alert
from rsn.warning.schemas import (
    AlertAction,
    AlertMuteCreate,
    AlertNote,
    AlertPage,
    AlertRead,
    AlertStep,
    RuleRecordRead,
    SeaLevel,
    SeaReason,
)

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"], route_class=JSONRoute)

Status = Annotated[str | None, Query(max_length=20, description=f"one of {', '.join(STATUSES)}")]


def _read(alert: Alert, report_ids: list[str], muted_until: datetime | None = None) -> AlertRead:
    return AlertRead(
        id=alert.id,
        rule=alert.rule,
        status=alert.status,
        category=alert.category,
        country=alert.country,
        countries=alert.country_codes,
        severity=alert.severity,
        tlp=alert.tlp,
        period_start=alert.period_start,
        period_end=alert.period_end,
        score=alert.score,
        report_ids=report_ids,
        observable=alert.observable,
        owner_id=alert.owner_id,
        close_reason=alert.close_reason,
        detail=dict(alert.detail),
        created=alert.created,
        modified=alert.modified,
        muted_until=muted_until,
    )


def _filters(
    status: str | None,
    rule: str | None,
    category: str | None,
    country: str | None,
    since: datetime | None,
    muted: bool = False,
) -> alerts.Filters:
    for name, value in (("rule", rule), ("category", category), ("country", country)):
        checked(name, no_control, value)
    if since is not None:
        if since.tzinfo is None:
            raise ValidationError.field("since", f"'{since.isoformat()}' needs a UTC offset.")
        checked("since", in_utc_range, since)
    return alerts.Filters(
        status=status, rule=rule, category=category, country=country, since=since, muted=muted
    )


def _answer(node: NodeDep, principal: Principal, alert_id: str, action: str) -> AlertRead:
    """The alert as the caller may see it now, its disclosures recorded."""
    with node.db.session() as session:
        alert = alerts.get(session, principal, alert_id)
        ids = alerts.report_ids(session, principal, alert_id)
        disclosed = alerts.disclosed(session, principal, [alert_id])
        held = alerts.mute_of(session, principal, alert)
    node.disclose(principal, disclosed, action)
    return _read(alert, ids, held.until if held else None)


@router.get("", response_model=AlertPage)
def list_alerts(
    node: NodeDep,
    principal: PrincipalDep,
    status: Status = None,
    rule: Annotated[str | None, Query(max_length=60)] = None,
    category: Annotated[str | None, Query(max_length=120)] = None,
    country: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
    since: datetime | None = None,
    muted: Annotated[
        bool, Query(description="also the alerts of series your organization muted")
    ] = False,
    limit: Annotated[int, Query(ge=1, le=alerts.MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> AlertPage:
    """Alerts the caller may read, latest change first, a page at a time; those of series
    the caller's organization muted only when asked (`muted=true`)."""
    filters = _filters(status, rule, category, country, since, muted)
    with node.db.session() as session:
        rows, next_cursor = alerts.listing(session, principal, filters, limit=limit, cursor=cursor)
        linked = alerts.report_ids_of(session, principal, [a.id for a in rows])
        disclosed = alerts.disclosed(session, principal, [a.id for a in rows])
        held = alerts.muted_until(session, principal, rows) if muted else {}
    node.disclose(principal, disclosed, "alert.list")
    items = [_read(a, linked[a.id], held.get(a.id)) for a in rows]
    return AlertPage(items=items, next_cursor=next_cursor)


@router.get("/rules", response_model=list[RuleRecordRead])
def rule_records(node: NodeDep, principal: PrincipalDep) -> list[RuleRecordRead]:
    """Each rule's record in triage, over the alerts the caller may read: what tells a
    noisy rule from a useful one."""
    with node.db.session() as session:
        records = alerts.triage_record(session, principal)
    return [
        RuleRecordRead(
            rule=r.rule,
            raised=r.raised,
            open=r.still_open,
            closed=dict(r.closed),
            false_alarm_share=r.false_alarm_share,
            median_minutes_to_act=r.median_minutes_to_act,
        )
        for r in records
    ]


@router.get("/{alert_id}", response_model=AlertRead)
def read_alert(alert_id: str, node: NodeDep, principal: PrincipalDep) -> AlertRead:
    """One alert; 404 for one the caller may not read, as for one that does not exist."""
    return _answer(node, principal, alert_id, "alert.read")


@router.get("/{alert_id}/history", response_model=list[AlertStep])
def alert_history(alert_id: str, node: NodeDep, principal: PrincipalDep) -> list[AlertStep]:
    """What happened to the alert, oldest first: raised, updated, acted on, noted."""
    with node.db.session() as session:
        alerts.get(session, principal, alert_id)
        steps = alerts.history(session, alert_id)
        names = {
            u.id: u.display_name
            for u in session.query(User).filter(
                User.id.in_({s.actor_id for s in steps if s.actor_id})
            )
        }
    return [
        AlertStep(
            at=s.at,
            actor=names.get(s.actor_id) if s.actor_id else None,
            action=s.action,
            status=s.status,
            text=s.text,
        )
        for s in steps
    ]


def _act(
    node: NodeDep, principal: Principal, alert_id: str, action: str, body: AlertAction
) -> AlertRead:
    with node.db.session(write=True) as session:
        alerts.act(session, principal, alert_id, action, reason=body.reason, note=body.note)
    return _answer(node, principal, alert_id, "alert.read")


@router.post("/{alert_id}/acknowledge", response_model=AlertRead)
def acknowledge_alert(
    alert_id: str, node: NodeDep, principal: PrincipalDep, body: AlertAction | None = None
) -> AlertRead:
    """Take the alert in hand (analysts and duty officers among its readers)."""
    return _act(node, principal, alert_id, "acknowledge", body or AlertAction())


@router.post("/{alert_id}/escalate", response_model=AlertRead)
def escalate_alert(
    alert_id: str, node: NodeDep, principal: PrincipalDep, body: AlertAction | None = None
) -> AlertRead:
    """Raise the alert to the duty officers' attention."""
    return _act(node, principal, alert_id, "escalate", body or AlertAction())


@router.post("/{alert_id}/close", response_model=AlertRead)
def close_alert(
    alert_id: str, node: NodeDep, principal: PrincipalDep, body: AlertAction
) -> AlertRead:
    """Close the alert with a reason: real, false-alarm, duplicate or no-action."""
    return _act(node, principal, alert_id, "close", body)


@router.post("/{alert_id}/notes", response_model=AlertRead, status_code=201)
def note_alert(alert_id: str, node: NodeDep, principal: PrincipalDep, body: AlertNote) -> AlertRead:
    """Add a note to the alert's history."""
    with node.db.session(write=True) as session:
        alerts.add_note(session, principal, alert_id, body.text)
    return _answer(node, principal, alert_id, "alert.read")


@router.post("/{alert_id}/mute", response_model=AlertRead)
def mute_alert(
    alert_id: str, node: NodeDep, principal: PrincipalDep, body: AlertMuteCreate
) -> AlertRead:
    """Mute the alert's series for your organization until a time: its alerts leave your
    organization's triage list and notifications, not anyone else's."""
    checked("until", in_utc_range, body.until)
    with node.db.session(write=True) as session:
        alerts.mute(session, principal, alert_id, until=body.until, reason=body.reason)
    return _answer(node, principal, alert_id, "alert.read")


@router.post("/{alert_id}/unmute", response_model=AlertRead)
def unmute_alert(alert_id: str, node: NodeDep, principal: PrincipalDep) -> AlertRead:
    """Lift your organization's mute of the alert's series."""
    with node.db.session(write=True) as session:
        alerts.unmute(session, principal, alert_id)
    return _answer(node, principal, alert_id, "alert.read")


seas_router = APIRouter(prefix="/api/v1/seas", tags=["alerts"], route_class=JSONRoute)


@seas_router.get("", response_model=list[SeaLevel])
def sea_levels(
    node: NodeDep,
    principal: PrincipalDep,
    days: Annotated[int, Query(ge=1, le=maritime.MAX_DAYS)] = 90,
) -> list[SeaLevel]:
    """Each sea area's maritime threat level over the last `days` days, from the maritime
    reports the caller may read, against the same period of the two years before."""
    with node.db.session() as session:
        grades = maritime.levels(session, principal, days=days)
    return [
        SeaLevel(
            sea_area=name,
            level=g.level,
            days=g.days,
            count=g.count,
            by_severity=dict(g.by_severity),
            expected=g.expected,
            change=g.change,
            reasons=[SeaReason(rule=r.rule, level=r.level, text=r.text) for r in g.reasons],
        )
        for name, g in grades.items()
    ]
