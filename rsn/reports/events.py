"""What happens to reports, for the features that react: the events `rsn.reports` publishes.

Two kinds. The index events (`ReportsChanging`, `ReportsWritten`) carry what a
report's derived rows are made from; the correlation index (`rsn.fusion`) and the
search index subscribe during the transaction, and a write with no subscriber
refuses unless both subscribe (`required`), so no entry point can file a report and
forget its indexes.
The domain events (`ReportFiled`, `ReportChanged`, `ReportRevoked`) say what a user
did; later features (early warning, notifications, federation) subscribe to them.
They carry ids only: what a subscriber may show, and to whom, `rsn.sharing` decides
when it acts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from rsn.events import Event


@dataclass(frozen=True)
class Written:
    """One report version as its indexes need it."""

    report_id: str
    doc_id: int  # the search document's number (its version's commit sequence)
    title: str
    description: str
    observables: Sequence[tuple[str, str]]
    keys: frozenset[str]  # the version's audience keys
    live: bool  # not revoked: a revoked report correlates with nothing, counts nowhere
    # What counts are kept by (`rsn.reports.tallies`).
    category: str = ""
    country: str = ""
    occurred_at: datetime | None = None
    severity: str = ""
    tlp: str = ""


@dataclass(frozen=True, eq=False)
class ReportsChanging(Event):
    """Existing reports are about to get a new version: their old derived rows still stand."""

    name = "reports.changing"
    required = frozenset({"rsn.fusion.correlate"})
    report_ids: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class ReportsWritten(Event):
    """Report versions were written (`fresh`: the reports are new)."""

    name = "reports.written"
    required = frozenset({"rsn.fusion.correlate", "rsn.reports.search", "rsn.reports.tallies"})
    items: tuple[Written, ...]
    fresh: bool


@dataclass(frozen=True, eq=False)
class ReportFiled(Event):
    """New reports (filed, imported or loaded), whatever their status (draft, pending, …)."""

    name = "report.filed"
    report_ids: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class ReportChanged(Event):
    """A report got a new version: `action` says how (report.update, report.import, …)."""

    name = "report.changed"
    report_ids: tuple[str, ...]
    action: str


@dataclass(frozen=True, eq=False)
class ReportRevoked(Event):
    name = "report.revoked"
    report_ids: tuple[str, ...]


__all__ = [
    "ReportChanged",
    "ReportFiled",
    "ReportRevoked",
    "ReportsChanging",
    "ReportsWritten",
    "Written",
]
