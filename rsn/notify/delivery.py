"""Messages out of the node: matched reports sent by webhook or e-mail, at once or daily.

`notify.match` writes a notification per subscription and report. For a webhook or
e-mail subscription it then opens a `Delivery` holding the new notifications' report
ids: at once (`immediate`), or when the hourly `notify.digest` job finds them due at
the day's digest hour (`digest`). The `notify.deliver` job sends it in three steps:

1. decide, in a read, what the message carries, for its owner as they are *now*
   (`rsn.sharing`): a report narrowed since the match is left out, and a delivery
   left with nothing is `dropped`; a report marked above green goes as its id and
   link only, which its reader opens with their own credentials;
2. send it, outside any transaction (a slow receiver holds no lock);
3. record how it went: `sent` (audited, with the disclosures the content made), or a
   failed attempt, tried again after a backoff with jitter, and after `MAX_ATTEMPTS`
   left `failed` with its last error, which its owner sees on their subscription.

A job run twice may send a message twice (the receiver knows it by `X-RSN-Delivery`),
but records it once: step 3 writes only while the delivery is still pending.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from rsn import audit, clock, config, fusion, jobs, sharing
from rsn.config import Settings
from rsn.errors import DeliveryFailed
from rsn.notify import mail, webhook
from rsn.notify.models import Delivery, Notification, Subscription
from rsn.registry import email
from rsn.registry.models import User
from rsn.reports import present, service
from rsn.reports.models import Report
from rsn.store import Database

log = logging.getLogger("rsn.notify")

DELIVER = "notify.deliver"
DIGEST = "notify.digest"
MAX_ATTEMPTS = 6  # one try and five more, over about a quarter of an hour
FIRST_WAIT = 30.0  # seconds before the second try; doubled for each one after
MAX_ITEMS = 500  # reports in one message; a bigger digest goes out as several
CHANNELS = ("webhook", "email")

PENDING, SENT, FAILED, DROPPED = "pending", "sent", "failed", "dropped"


@dataclass(frozen=True)
class Outbound:
    """What sending needs from the node's settings."""

    base_url: str
    webhook: webhook.Policy
    mailer: mail.Mailer | None
    digest_hour: int
    correlation_threshold: int

    @classmethod
    def of(cls, settings: Settings) -> Outbound:
        return cls(
            base_url=config.base_url(settings),
            webhook=webhook.Policy.of(settings),
            mailer=mail.Mailer.of(settings),
            digest_hour=settings.digest_hour,
            correlation_threshold=settings.correlation_threshold,
        )


def next_digest(after: datetime, hour: int) -> datetime:
    """The first digest hour (UTC, on the hour) strictly after `after`."""
    at = after.replace(hour=hour, minute=0, second=0, microsecond=0)
    return at if at > after else at + timedelta(days=1)


def wait_before(attempt: int, rng: random.Random | None = None) -> float:
    """Seconds before try `attempt + 1`: doubling from `FIRST_WAIT`, each scaled by a
    random factor from 0.5 to 1.5 so that many failing deliveries do not retry in step."""
    base: float = FIRST_WAIT * 2.0 ** (attempt - 1)
    return base * (0.5 + (rng or random).random())


def open_delivery(
    session: Session, sub: Subscription, event: str, notification_ids: Sequence[str]
) -> str:
    """A pending delivery of these notifications, and its job, in the caller's transaction."""
    rows = session.execute(
        select(Notification.id, Notification.item_id)
        .where(Notification.id.in_(list(notification_ids)))
        .order_by(Notification.created, Notification.id)
    ).all()
    delivery = Delivery(
        user_id=sub.user_id,
        subscription_id=sub.id,
        channel=sub.channel,
        event=event,
        item_ids=[item for _, item in rows],
        status=PENDING,
        attempts=0,
    )
    session.add(delivery)
    session.flush()
    session.execute(
        update(Notification)
        .where(Notification.id.in_([n for n, _ in rows]))
        .values(delivery_id=delivery.id)
    )
    jobs.enqueue(session, DELIVER, {"delivery": delivery.id}, key=f"deliver:{delivery.id}")
    return delivery.id


def collect_due(session: Session, now: datetime) -> list[str]:
    """Open a delivery for each digest subscription whose notifications are due."""
    due = session.execute(
        select(Notification.id, Notification.subscription_id)
        .where(
            Notification.channel.in_(CHANNELS),
            Notification.delivery_id.is_(None),
            Notification.due <= now,
            Notification.subscription_id.is_not(None),
        )
        .order_by(Notification.subscription_id, Notification.created, Notification.id)
    ).all()
    by_subscription: dict[str, list[str]] = {}
    for notification_id, sub_id in due:
        by_subscription.setdefault(str(sub_id), []).append(notification_id)
    opened = []
    for sub_id, ids in by_subscription.items():
        sub = session.get(Subscription, sub_id)
        if sub is None:
            continue
        for start in range(0, len(ids), MAX_ITEMS):
            opened.append(
                open_delivery(session, sub, "report.filed", ids[start : start + MAX_ITEMS])
            )
    return opened


@dataclass(frozen=True)
class Message:
    """What one delivery says, decided for its owner at sending time."""

    subscription: Subscription
    user: User
    item_ids: list[str]  # the reports it tells of, in order
    disclosed: list[str]  # those whose non-public fields it carries to a non-originator
    webhook_body: bytes
    mail_subject: str
    mail_text: str


def compose(session: Session, delivery: Delivery, out: Outbound) -> Message | str:
    """The message, or why there is none (the delivery is then dropped)."""
    sub = session.get(Subscription, delivery.subscription_id) if delivery.subscription_id else None
    if sub is None:
        return "its subscription was deleted"
    user = session.get(User, delivery.user_id)
    if user is None or user.disabled or user.pending:
        return "its owner's account is not active"
    reader = sharing.for_user(session, user)
    found: dict[str, Report] = {}
    for start in range(0, len(delivery.item_ids), MAX_ITEMS):
        chunk = delivery.item_ids[start : start + MAX_ITEMS]
        query = select(Report).where(
            Report.id.in_(chunk),
            Report.status == sharing.PUBLISHED,
            sharing.visible(reader, Report.id),
        )
        found.update((r.id, r) for r in session.scalars(query))
    reports = [found[i] for i in delivery.item_ids if i in found]
    if not reports:
        return "none of its reports may be told to its owner any more"
    items: list[dict[str, Any]] = []
    lines: list[str] = []
    disclosed: list[str] = []
    whole = [r for r in reports if r.tlp in sharing.LEAVES_NODE]
    loaded = {
        item.report.id: item for item in service.load(session, principal=reader, reports=whole)
    }
    for report in reports:
        link = f"{out.base_url}/reports/{report.id}"
        item = loaded.get(report.id)
        if item is None:  # above green: the id and the link, nothing of its content
            items.append({"id": report.id, "link": link})
            lines.append(f"- A report you may read; open it on the node:\n  {link}")
            continue
        fusion.attach(session, principal=reader, item=item, threshold=out.correlation_threshold)
        read = present.to_read(item)
        # Its correlations leave with it only to reports that may leave too.
        outward = _leaving(session, [c.report_id for c in read.correlations])
        read.correlations = [c for c in read.correlations if c.report_id in outward]
        items.append({**read.model_dump(mode="json"), "link": link})
        lines.append(
            f"- {report.title}\n  {report.category} · {report.country or 'no country'} · "
            f"TLP:{report.tlp.upper()}\n  {link}"
        )
        if sharing.discloses(reader, tlp=report.tlp, originator_user_id=report.originator_user_id):
            disclosed.append(report.id)
        disclosed.extend(i for i in item.disclosed_matches if i in outward)
    body = {
        "event": delivery.event,
        "subscription_id": sub.id,
        "delivery_id": delivery.id,
        "mode": sub.mode,
        "items": items,
    }
    count = len(reports)
    noun = "report" if count == 1 else "reports"
    subject = f"[RSN] {count} new {noun}: {sub.name}"
    intro = (
        f"{'Your daily digest' if sub.mode == 'digest' else 'New'} for your subscription "
        f"'{sub.name}' on {out.base_url}: {count} {noun}.\n"
        "Reports marked above TLP:GREEN are given as links only; sign in to read them.\n\n"
    )
    return Message(
        subscription=sub,
        user=user,
        item_ids=[r.id for r in reports],
        disclosed=list(dict.fromkeys(disclosed)),
        webhook_body=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
        mail_subject=subject,
        mail_text=intro
        + "\n".join(lines)
        + f"\n\nManage your subscriptions: {out.base_url}/profile/subscriptions\n",
    )


def _leaving(session: Session, report_ids: Sequence[str]) -> set[str]:
    if not report_ids:
        return set()
    query = select(Report.id).where(
        Report.id.in_(list(report_ids)), Report.tlp.in_(sorted(sharing.LEAVES_NODE))
    )
    return set(session.scalars(query))


def send(message: Message, delivery: Delivery, out: Outbound) -> None:
    """Hand the message over; `DeliveryFailed` says why not."""
    if delivery.channel == "webhook":
        target, secret = message.subscription.target, message.subscription.secret
        if not target or not secret:
            raise DeliveryFailed("the subscription has no target or no secret")
        webhook.post(
            target,
            message.webhook_body,
            secret,
            out.webhook,
            headers={"X-RSN-Event": delivery.event, "X-RSN-Delivery": delivery.id},
        )
        return
    if delivery.channel == "email":
        if out.mailer is None:
            raise DeliveryFailed("this node sends no mail (no smtp_host in its settings)")
        address = email.verified_address(message.user)
        if address is None:
            raise DeliveryFailed("your account has no verified e-mail address")
        out.mailer.send(
            address,
            message.mail_subject,
            message.mail_text,
            headers={"X-RSN-Delivery": delivery.id},
        )
        return
    raise DeliveryFailed(f"no such channel: {delivery.channel}")


def deliver(db: Database, delivery_id: str, out: Outbound) -> str:
    """Compose, send and record one delivery; its status after this try."""
    with db.session() as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None or delivery.status != PENDING:
            return delivery.status if delivery else DROPPED
        composed = compose(session, delivery, out)
        session.expunge_all()
    error: str | None = None
    if isinstance(composed, Message):
        try:
            send(composed, delivery, out)
        except DeliveryFailed as exc:
            error = str(exc)
            log.info("delivery %s failed (try %d): %s", delivery_id, delivery.attempts + 1, exc)
    return _record(db, delivery_id, composed, error)


def _record(db: Database, delivery_id: str, composed: Message | str, error: str | None) -> str:
    now = clock.now()
    with db.session(write=True) as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None or delivery.status != PENDING:
            return delivery.status if delivery else DROPPED  # another run recorded it
        owner = session.get(User, delivery.user_id)
        actor = owner.username if owner else "rsn"
        if isinstance(composed, str) or owner is None:
            why = composed if isinstance(composed, str) else "its owner's account is gone"
            delivery.status, delivery.finished, delivery.last_error = DROPPED, now, why
            audit.record(session, actor=actor, action="notify.dropped", item_ids=[delivery.id])
            return DROPPED
        delivery.attempts += 1
        if error is None:
            delivery.status, delivery.finished, delivery.last_error = SENT, now, None
            audit.record(
                session,
                actor=actor,
                action=f"notify.{delivery.channel}.sent",
                item_ids=[delivery.id, *composed.item_ids],
            )
            sharing.disclose(
                session,
                principal=sharing.for_user(session, owner),
                item_ids=composed.disclosed,
                action=f"notify.{delivery.channel}",
            )
            return SENT
        delivery.last_error = error
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.status, delivery.finished = FAILED, now
            audit.record(
                session,
                actor=actor,
                action=f"notify.{delivery.channel}.failed",
                item_ids=[delivery.id],
            )
            return FAILED
        run_at = now + timedelta(seconds=wait_before(delivery.attempts))
        jobs.enqueue(
            session,
            DELIVER,
            {"delivery": delivery.id},
            key=f"deliver:{delivery.id}:{delivery.attempts}",
            run_at=run_at,
        )
        return PENDING


def define_jobs(settings: Settings) -> None:
    """Register `notify.deliver` and the hourly `notify.digest` with this node's settings."""
    out = Outbound.of(settings)

    def run_deliver(ctx: jobs.JobContext) -> None:
        deliver(ctx.db, str(ctx.args["delivery"]), out)

    def run_digest(ctx: jobs.JobContext) -> None:
        with ctx.db.session(write=True) as session:
            collect_due(session, clock.now())

    # Failed sends are retried by the delivery itself (with jitter); the job's own
    # retries cover only a crash of the job.
    jobs.define(DELIVER, run_deliver, retries=3, backoff=3)
    jobs.define(DIGEST, run_digest, retries=3, backoff=3, cron="2 * * * *")
