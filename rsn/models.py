"""Every feature's tables, imported in one place for migrations and test fixtures."""

from __future__ import annotations

from rsn.audit.models import AuditRecord
from rsn.fusion.models import CorrelationEntry
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
from rsn.reports.models import Counter, IdempotencyKey, Report, ReportObservable, ReportVersion
from rsn.sharing.models import SharingGrant
from rsn.web.models import SignInFailure, WebSession

__all__ = [
    "ApiToken",
    "AuditRecord",
    "CorrelationEntry",
    "Counter",
    "Enrolment",
    "IdempotencyKey",
    "MemberState",
    "NodeSetting",
    "Organization",
    "RegionPackRecord",
    "Report",
    "ReportObservable",
    "ReportVersion",
    "SharingGrant",
    "SharingGroup",
    "SharingGroupMember",
    "SignInFailure",
    "User",
    "WebSession",
]
