"""Drafts and release in the browser: the releaser's queue, the report page's actions, the setting.

Every action asks `rsn.reports.release`, which asks `rsn.sharing`: a page shows a
draft only to whom the API would, and a form changes only what the API would let
the same person change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError as PydanticError
from sqlalchemy.orm import Session

from rsn import audit, sharing
from rsn.api.errors import describe
from rsn.errors import FieldProblem, Forbidden, ValidationError
from rsn.registry import service as registry
from rsn.reports import release
from rsn.reports.models import Report
from rsn.reports.schemas import Refusal
from rsn.reports.service import Loaded
from rsn.sharing import Principal
from rsn.web.deps import FormDep, FormViewerDep, NodeDep, Viewer, ViewerDep
from rsn.web.templating import page

router = APIRouter(include_in_schema=False)


@router.get("/releases", response_class=HTMLResponse)
def queue(request: Request, node: NodeDep, viewer: ViewerDep) -> Response:
    """What waits for the viewer's organization to let it out, oldest first."""
    with node.db.session() as s:
        waiting = release.queue(s, principal=viewer.principal)
    return page(request, "releases/index.html", viewer, waiting=waiting)


@router.post("/reports/{report_id}/submit")
def submit(report_id: str, node: NodeDep, viewer: FormViewerDep) -> Response:
    with node.db.session(write=True) as s:
        release.submit(s, principal=viewer.principal, report_id=report_id)
    return _back(node, report_id)


@router.post("/reports/{report_id}/release")
def release_report(report_id: str, node: NodeDep, viewer: FormViewerDep) -> Response:
    with node.db.session(write=True) as s:
        release.release(s, principal=viewer.principal, report_id=report_id)
    return _back(node, report_id)


@router.post("/reports/{report_id}/refuse")
def refuse(report_id: str, node: NodeDep, viewer: FormViewerDep, form: FormDep) -> Response:
    """Send it back with a reason; a missing reason answers with a message naming the field."""
    try:
        data = Refusal.model_validate({"reason": str(form.get("reason") or "").strip()})
    except PydanticError as exc:
        problems = [describe(dict(e)) for e in exc.errors(include_url=False)]
        raise ValidationError([FieldProblem(p.field, p.message) for p in problems]) from exc
    with node.db.session(write=True) as s:
        release.refuse(s, principal=viewer.principal, report_id=report_id, reason=data.reason)
    return _back(node, report_id)


def _back(node: NodeDep, report_id: str) -> RedirectResponse:
    return RedirectResponse(f"/reports/{report_id}", status_code=303)


def report_context(principal: Principal, item: Loaded) -> dict[str, Any]:
    """What the report page's release banner needs: where the report stands, who may act."""
    r = item.report
    return {
        "release_status": r.status,
        "held": item.next_version,
        "held_by": item.next_version_by,
        "may_release": sharing.is_releaser(principal, organization_id=r.originator_org_id),
        "may_submit": sharing.may_change(principal, originator_org_id=r.originator_org_id),
    }


# After which step what the form files waits: a new report's filing, a draft's submission.
WAITS_AFTER = {sharing.DRAFT: "submitted", sharing.PENDING: "saved", sharing.PUBLISHED: "saved"}


def form_note(
    session: Session,
    principal: Principal,
    tlp: str,
    names: dict[str, Sequence[str]],
    report: Report | None = None,
) -> dict[str, Any]:
    """The "who will see this" panel's release note, when what the form files would wait."""
    if not release.would_wait(session, principal=principal, tlp=tlp, names=names, report=report):
        return {}
    org = registry.get_organization(session, slug=principal.organization_slug)
    step = "filed" if report is None else WAITS_AFTER[report.status]
    return {"release_org": org.name, "release_step": step}


# --- the organization's setting ---------------------------------------------------------


@router.post("/admin/organizations/{slug}/release")
def set_release(slug: str, node: NodeDep, viewer: FormViewerDep, form: FormDep) -> Response:
    """A node administrator, or the organization's own duty officer, turns the rule on or off."""
    required = form.get("release_required") == "on"
    with node.db.session(write=True) as s:
        org = registry.get_organization(s, slug=slug)
        p = viewer.principal
        if not registry.may_set_release(
            role=p.role, own_org_id=p.organization_id, organization=org
        ):
            raise Forbidden(
                "Only a node administrator or the organization's duty officer sets this."
            )
        registry.set_release_required(s, organization=org, required=required)
        audit.record(
            s,
            actor=p.username,
            action="org.settings",
            item_ids=[org.id],
            detail={"release_required": required},
        )
    return RedirectResponse("/admin/organizations?notice=release", status_code=303)


def own_organization(session: Session, viewer: Viewer) -> dict[str, Any]:
    """A duty officer's view of /admin/organizations: their own organization, for its setting."""
    if viewer.principal.role != "duty-officer":
        raise Forbidden("These pages are for node administrators.")
    org = registry.get_organization(session, slug=viewer.principal.organization_slug)
    return {"organizations": [org], "own_only": True}
