"""Notifications: planned inside the transaction that causes them, delivered by a job after it.

A notification row is written in the same commit as the task or feedback item it is about, and
its delivery job is asked for in that transaction (ivr.outbox), so nothing can be "opened but
never announced": a delivery job lost with Redis is found again by `stuck()` and redone. Each
row has a dedupe key, so planning it twice plans it once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ivr.channels import DeliveryError, sender
from ivr.extensions import db
from ivr.models import (
    Channel,
    Notification,
    NotificationAttempt,
    NotificationStatus,
    Supervisor,
    Team,
    utcnow,
)
from ivr.ops.metrics import NOTIFICATION_ATTEMPTS
from ivr.outbox import Work, later

log = logging.getLogger(__name__)

_PLANNED = "ivr.planned_notifications"


@event.listens_for(Session, "after_rollback")
def _forget_planned(session: Session) -> None:
    """A rolled-back plan was never made."""
    session.info.pop(_PLANNED, None)


@dataclass(frozen=True)
class Message:
    event: str  # task_opened, task_escalated, feedback, digest
    subject: str
    body: str
    payload: dict[str, Any]


def plan(
    message: Message,
    channel: Channel,
    recipient: str,
    about: str,
    *,
    secret: str | None = None,
    task_id: int | None = None,
    feedback_item_id: int | None = None,
) -> Notification | None:
    """Add a notification to the session unless the same one exists; the caller commits."""
    dedupe_key = f"{about}:{message.event}:{channel.value}:{recipient}"[:255]
    if db.session.scalar(select(Notification.id).filter_by(dedupe_key=dedupe_key)) is not None:
        return None
    notification = Notification(
        dedupe_key=dedupe_key,
        event=message.event,
        channel=channel,
        recipient=recipient,
        subject=message.subject,
        body=message.body,
        payload=message.payload,
        secret=secret,
        task_id=task_id,
        feedback_item_id=feedback_item_id,
        status=NotificationStatus.pending,
        attempts=0,
    )
    db.session.add(notification)
    db.session.flush()
    later(Work.deliver_notification, notification.id)
    db.session.info.setdefault(_PLANNED, []).append(notification.id)
    return notification


def take_planned() -> list[int]:
    """Ids of the notifications planned in this session's transaction (to report what a change did)."""
    planned: list[int] = db.session.info.pop(_PLANNED, [])
    return sorted(planned)


def plan_for_team(
    message: Message, team: Team | None, assignee: Supervisor | None, about: str, *, task_id: int
) -> list[Notification]:
    """One notification per channel the team uses, to the assignee or else the team's pool."""
    if team is None:
        log.warning("%s has no team: nobody to notify (it is in the unassigned pool)", about)
        return []
    planned = []
    for name in team.channels:
        channel = Channel(name)
        secret = None
        if channel is Channel.sms:
            recipient = (assignee.phone if assignee else None) or team.phone
        elif channel is Channel.email:
            recipient = (assignee.email if assignee else None) or team.email
        else:
            recipient, secret = team.webhook_url, team.webhook_secret
        if not recipient:
            log.warning("team %s uses %s but has no address for it", team.name, channel.value)
            continue
        notification = plan(message, channel, recipient, about, secret=secret, task_id=task_id)
        if notification is not None:
            planned.append(notification)
    return planned


def deliver(notification_id: int, last_attempt: bool) -> bool:
    """Try one delivery and record the attempt. True when sent (now or before)."""
    notification = db.session.scalars(
        select(Notification).filter_by(id=notification_id).with_for_update()
    ).one_or_none()
    if notification is None or notification.status is not NotificationStatus.pending:
        sent = notification is not None and notification.status is NotificationStatus.sent
        db.session.rollback()
        return sent
    try:
        detail, ok = sender(notification.channel)(notification), True
    except DeliveryError as exc:
        detail, ok = str(exc), False
    now = utcnow()
    # Read before the commit expires the row: reading them after would start a new transaction.
    channel, recipient = notification.channel.value, notification.recipient
    notification.attempts += 1
    attempts = notification.attempts
    notification.attempt_log.append(NotificationAttempt(attempted_at=now, ok=ok, detail=detail[:2000]))
    if ok:
        notification.status = NotificationStatus.sent
        notification.sent_at = now
        notification.last_error = None
    else:
        notification.last_error = detail
        if last_attempt:
            notification.status = NotificationStatus.failed
    db.session.commit()
    NOTIFICATION_ATTEMPTS.labels(channel, "sent" if ok else "failed").inc()
    if not ok:
        log.warning(
            "notification %s (%s to %s) attempt %s failed%s: %s",
            notification_id,
            channel,
            recipient,
            attempts,
            ", giving up" if last_attempt else "",
            detail,
        )
    return ok


def stuck(older_than: timedelta, now: datetime | None = None) -> list[int]:
    """Pending notifications nobody has delivered for a while: their job was lost."""
    cutoff = (now or utcnow()) - older_than
    ids = db.session.scalars(
        select(Notification.id)
        .where(Notification.status == NotificationStatus.pending, Notification.created_at <= cutoff)
        .order_by(Notification.id)
    ).all()
    db.session.rollback()
    return list(ids)
