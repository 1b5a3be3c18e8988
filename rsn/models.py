"""Every feature's tables, imported in one place for migrations and test fixtures."""

from __future__ import annotations

from rsn.audit.models import AuditCheckpoint, AuditRecord
from rsn.fusion.models import CorrelationEntry
from rsn.interop.models import KeptObject, ReportLink
from rsn.registry.models import (
    ApiToken,
    Enrolment,
    MemberState,
    NodeSetting,
    Organization,
    RegionPackRecord,
    SharingGroup,
    SharingGroupMember,
    User,
)
from rsn.reports.models import (
    Counter,
    IdempotencyKey,
    PendingVersion,
    Report,
    ReportObservable,
    ReportVersion,
)
from rsn.sharing.models import SharingGrant
from rsn.taxii.models import PullCursor, TaxiiStatus
from rsn.web.models import SignInFailure, WebSession

__all__ = [
    "ApiToken",
    "AuditCheckpoint",
    "AuditRecord",
    "CorrelationEntry",
    "Counter",
    "Enrolment",
    "IdempotencyKey",
    "KeptObject",
    "MemberState",
    "NodeSetting",
    "Organization",
    "PendingVersion",
    "PullCursor",
    "RegionPackRecord",
    "Report",
    "ReportLink",
    "ReportObservable",
    "ReportVersion",
    "SharingGrant",
    "SharingGroup",
    "SharingGroupMember",
    "SignInFailure",
    "TaxiiStatus",
    "User",
    "WebSession",
]
