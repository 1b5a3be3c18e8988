"""Reports as readers receive them, and the disclosure record each answer leaves."""

from __future__ import annotations

from collections.abc import Sequence

from rsn import sharing
from rsn.reports.schemas import (
    CommonObservable,
    Correlation,
    HeldVersionRead,
    Location,
    ObservableRead,
    Originator,
    ReportRead,
)
from rsn.reports.service import Loaded
from rsn.sharing import Principal


def to_read(item: Loaded) -> ReportRead:
    r = item.report
    corr = item.correlations
    return ReportRead(
        id=r.id,
        version=r.version,
        title=r.title,
        category=r.category,
        description=r.description,
        occurred_at=r.occurred_at,
        country=r.country,
        location=None if r.lat is None or r.lon is None else Location(lat=r.lat, lon=r.lon),
        sea_area=r.sea_area,
        severity=r.severity,
        confidence=r.confidence,
        source_reliability=r.source_reliability,
        information_credibility=r.information_credibility,
        tlp=r.tlp,
        distribution={k: list(v) for k, v in r.distribution.items()},
        observables=[ObservableRead(type=t, value=v) for t, v in item.observables],
        originator=Originator(
            user=item.originator_username,
            organization=item.originator_org_slug,
            member_state=r.originator_state,
        ),
        source_identity=r.source_identity,
        created=r.created,
        modified=r.modified,
        revoked=r.revoked,
        revoked_reason=r.revoked_reason,
        revoked_at=r.revoked_at,
        correlations=[
            Correlation(report_id=m.report_id, observable_type=m.observable_type, value=m.value)
            for m in (corr.matches if corr else [])
        ],
        common_observables=[
            CommonObservable(observable_type=t, value=v) for t, v in (corr.common if corr else [])
        ],
        status=r.status,
        refusal_reason=r.refusal_reason,
        next_version=_next_version(item),
    )


def _next_version(item: Loaded) -> HeldVersionRead | None:
    kept = item.next_version
    if kept is None:
        return None
    return HeldVersionRead(
        status=kept.status,
        refusal_reason=kept.refusal_reason,
        submitted_by=item.next_version_by,
        submitted_at=kept.submitted_at,
        fields=kept.filing["data"],
    )


def disclosed(principal: Principal, items: Sequence[Loaded]) -> list[str]:
    """Ids whose non-public fields this answer carries to someone not their originator."""
    ids: list[str] = []
    for item in items:
        r = item.report
        if sharing.discloses(principal, tlp=r.tlp, originator_user_id=r.originator_user_id):
            ids.append(r.id)
        ids.extend(item.disclosed_matches)
    return list(dict.fromkeys(ids))
