"""Every feature's tables, imported in one place for migrations and test fixtures."""

from __future__ import annotations

from rsn.audit.models import AuditCheckpoint, AuditRecord
from rsn.fusion.models import CorrelationEntry
from rsn.interop.models import KeptObject, ReportLink, StagedImport, StagedReport
from rsn.interop.taxii_state import PullCursor, TaxiiStatus
from rsn.jobs.models import JobError, JobStep, QueuedJob
from rsn.notify.models import Notification, Subscription
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
from rsn.registry.sessions import SignInFailure, WebSession
from rsn.reports.models import (
    Counter,
    IdempotencyKey,
    PendingVersion,
    Report,
    ReportObservable,
    ReportVersion,
)
from rsn.reports.tallies import Counted, Tally, Term
from rsn.sharing.keysets import KeySet, KeySetKey
from rsn.sharing.models import SharingGrant, StagedGrant
from rsn.warning.models import Alert, AlertEvent, AlertReport

__all__ = [
    "Alert",
    "AlertEvent",
    "AlertReport",
    "ApiToken",
    "AuditCheckpoint",
    "AuditRecord",
    "CorrelationEntry",
    "Counted",
    "Counter",
    "Enrolment",
    "IdempotencyKey",
    "JobError",
    "JobStep",
    "KeptObject",
    "KeySet",
    "KeySetKey",
    "MemberState",
    "NodeSetting",
    "Notification",
    "Organization",
    "PendingVersion",
    "PullCursor",
    "QueuedJob",
    "RegionPackRecord",
    "Report",
    "ReportLink",
    "ReportObservable",
    "ReportVersion",
    "SharingGrant",
    "SharingGroup",
    "SharingGroupMember",
    "SignInFailure",
    "StagedGrant",
    "StagedImport",
    "StagedReport",
    "Subscription",
    "Tally",
    "TaxiiStatus",
    "Term",
    "User",
    "WebSession",
]
