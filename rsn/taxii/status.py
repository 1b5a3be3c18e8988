"""Status resources: what became of each object a client POSTed, readable by its poster only.

An envelope is stored all or nothing, so a status is complete the moment it is
written: every object succeeded, or every object failed, the one at fault with
the reason and the rest with a pointer to it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from rsn.errors import NotFound, ValidationError
from rsn.interop.ingest import Summary
from rsn.interop.taxii_state import TaxiiStatus
from rsn.sharing import Principal
from rsn.store import new_id
from rsn.taxii.schemas import Status, StatusDetail, taxii_time

INDEX = re.compile(r"^objects\[(\d+)\]")


def _detail(obj: object, position: int, requested: datetime, message: str | None) -> StatusDetail:
    """An object's id and version as it gave them (or its place, when it gave none)."""
    body = obj if isinstance(obj, dict) else {}
    ident = body.get("id") if isinstance(body.get("id"), str) else f"objects[{position}]"
    version = body.get("modified") or body.get("created") or taxii_time(requested)
    return StatusDetail(id=str(ident), version=str(version), message=message)


def succeeded(objects: Sequence[object], summary: Summary, requested: datetime) -> Status:
    """Every object stored; an import warning goes with the object it names."""
    notes: dict[int, list[str]] = {}
    for warning in summary.warnings:
        found = INDEX.match(warning)
        if found:
            notes.setdefault(int(found.group(1)), []).append(warning)
    details = [
        _detail(obj, i, requested, " ".join(notes[i]) if i in notes else None)
        for i, obj in enumerate(objects)
    ]
    return _status(requested, successes=details, failures=[])


def failed(objects: Sequence[object], error: ValidationError, requested: datetime) -> Status:
    """Nothing stored: the objects at fault say why, the others point at them."""
    blamed: dict[int, list[str]] = {}
    for p in error.problems:
        found = INDEX.match(p.field)
        if found:
            blamed.setdefault(int(found.group(1)), []).append(f"{p.field}: {p.message}")
    summary = error.message if not blamed else "; ".join(m for ms in blamed.values() for m in ms)
    others = f"Not stored: the envelope is stored all or nothing, and it failed ({summary})."
    details = [
        _detail(obj, i, requested, " ".join(blamed[i]) if i in blamed else others)
        for i, obj in enumerate(objects)
    ]
    return _status(requested, successes=[], failures=details)


def _status(
    requested: datetime, *, successes: list[StatusDetail], failures: list[StatusDetail]
) -> Status:
    return Status(
        id=new_id(),
        status="complete",
        request_timestamp=taxii_time(requested),
        total_count=len(successes) + len(failures),
        success_count=len(successes),
        successes=successes,
        failure_count=len(failures),
        failures=failures,
        pending_count=0,
        pendings=[],
    )


def save(session: Session, *, principal: Principal, collection_id: str, status: Status) -> None:
    session.add(
        TaxiiStatus(
            id=status.id,
            user_id=principal.user_id,
            collection_id=collection_id,
            status=status.status,
            request_timestamp=datetime.fromisoformat(status.request_timestamp),
            total_count=status.total_count,
            success_count=status.success_count,
            failure_count=status.failure_count,
            pending_count=status.pending_count,
            details={
                "successes": [d.model_dump(exclude_none=True) for d in status.successes],
                "failures": [d.model_dump(exclude_none=True) for d in status.failures],
                "pendings": [],
            },
        )
    )


def get(session: Session, *, principal: Principal, status_id: str) -> Status:
    """A status its poster asks for; anyone else's is not found, like one that never was."""
    row = session.get(TaxiiStatus, status_id[:36])
    if row is None or row.user_id != principal.user_id:
        raise NotFound("status", status_id[:64])
    return Status(
        id=row.id,
        status="complete" if row.status == "complete" else "pending",
        request_timestamp=taxii_time(row.request_timestamp),
        total_count=row.total_count,
        success_count=row.success_count,
        successes=[StatusDetail(**d) for d in row.details.get("successes", [])],
        failure_count=row.failure_count,
        failures=[StatusDetail(**d) for d in row.details.get("failures", [])],
        pending_count=row.pending_count,
        pendings=[StatusDetail(**d) for d in row.details.get("pendings", [])],
    )
