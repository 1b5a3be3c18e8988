"""Which subscribers hear of new reports: the `notify.match` job and what enqueues it.

Filing publishes `report.filed`; a draft's publication and a held report's release
publish `report.changed` (`report.publish`, `report.release`). Inside that transaction
one job is enqueued with the reports' ids, so a rolled-back filing queues nothing. The
job asks, for each subscription, the same question `GET /api/v1/reports` would
ask for its owner (`listing.conditions`), and writes one notification per subscription
and report: a re-run finds them written and adds nothing. Those of a webhook or e-mail
subscription go out in a delivery (`rsn.notify.delivery`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from rsn import events, jobs, sharing
from rsn.config import DIGEST_HOUR
from rsn.errors import RSNError
from rsn.notify import delivery
from rsn.notify.models import Notification, Subscription
from rsn.notify.subscriptions import filters_of
from rsn.registry.models import User
from rsn.reports import listing
from rsn.reports.events import ReportChanged, ReportFiled
from rsn.reports.models import Report
from rsn.store import new_id, utcnow

log = logging.getLogger("rsn.notify")

MATCH = "notify.match"
# A report changed this way is new to its readers: a draft published, a held one released.
FIRST_SEEN = frozenset({"report.publish", "report.release"})
CHUNK = 500  # report ids per query


def _routed() -> list[ColumnElement[bool]]:
    return [Subscription.kind == "reports"]


def enqueue_match(session: Session, report_ids: Sequence[str], kind: str) -> str | None:
    """Queue the match of these reports, in the caller's transaction; nothing if no one listens."""
    if not report_ids:
        return None
    if session.scalar(select(Subscription.id).where(*_routed()).limit(1)) is None:
        return None  # no inbox subscription on this node: no job to run
    return jobs.enqueue(session, MATCH, {"reports": list(report_ids), "kind": kind})


@events.during(ReportFiled)
def _filed(session: Session, event: ReportFiled) -> None:
    enqueue_match(session, event.report_ids, "report.filed")


@events.during(ReportChanged)
def _changed(session: Session, event: ReportChanged) -> None:
    if event.action in FIRST_SEEN:
        enqueue_match(session, event.report_ids, "report.filed")


def match(
    session: Session,
    report_ids: Sequence[str],
    kind: str = "report.filed",
    *,
    digest_hour: int = DIGEST_HOUR,
) -> None:
    """Tell the subscribers who may read them now, and whose filters they meet, of the
    published reports among `report_ids`: in their inbox, or by a delivery opened now
    (immediate) or at the next digest hour (digest)."""
    now = utcnow()
    digest_due = delivery.next_digest(now, digest_hour)
    subscribed = session.execute(
        select(Subscription, User)
        .join(User, User.id == Subscription.user_id)
        .where(*_routed(), User.disabled.is_(False))
        .order_by(Subscription.id)
    ).all()
    for sub, user in subscribed:
        try:
            owner = sharing.for_user(session, user)
            found = _matching(session, owner, sub, report_ids)
        except RSNError as exc:  # a filter the taxonomy no longer knows: the others still run
            log.warning("subscription %s matches nothing: %s", sub.id, exc)
            continue
        due = digest_due if sub.mode == "digest" else now
        added = _notify(session, sub, kind, found, now=now, due=due)
        if added and sub.channel != "inbox" and sub.mode == "immediate":
            delivery.open_delivery(session, sub, kind, added)


def _matching(
    session: Session, owner: sharing.Principal, sub: Subscription, report_ids: Sequence[str]
) -> list[str]:
    where = listing.conditions(session, owner, filters_of(sub.filters))
    found: list[str] = []
    for start in range(0, len(report_ids), CHUNK):
        chunk = list(report_ids[start : start + CHUNK])
        query = select(Report.id).where(
            Report.id.in_(chunk), Report.status == sharing.PUBLISHED, *where
        )
        found.extend(session.scalars(query))
    return found


def _notify(
    session: Session,
    sub: Subscription,
    kind: str,
    report_ids: Iterable[str],
    *,
    now: datetime,
    due: datetime,
) -> list[str]:
    """Insert, skipping any (subscription, report) already notified: a re-run adds
    nothing. The ids of the notifications this call added."""
    rows = [
        {
            "id": new_id(),
            "user_id": sub.user_id,
            "subscription_id": sub.id,
            "kind": kind,
            "item_id": report_id,
            "created": now,
            "channel": sub.channel,
            "due": due,
        }
        for report_id in report_ids
    ]
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(Notification).on_conflict_do_nothing(
        index_elements=["subscription_id", "item_id"]
    )
    return list(session.scalars(statement.returning(Notification.id), rows))


def define_jobs(digest_hour: int = DIGEST_HOUR) -> None:
    """Register `notify.match`: at import, and again by `rsn.node.define_jobs` with the
    node's digest hour.

    The job matches its reports in one transaction (a re-run inserts nothing new). A
    long import's reports are filed (the event) when the import is published, not
    while its chunks are written open to no one (`rsn.interop.staged`).
    """

    def run(ctx: jobs.JobContext) -> None:
        kind = str(ctx.args.get("kind", "report.filed"))
        ids = [str(i) for i in ctx.args.get("reports", [])]
        with ctx.db.session(write=True) as session:
            match(session, ids, kind, digest_hour=digest_hour)

    jobs.define(MATCH, run, retries=5, backoff=3)


define_jobs()
