"""Jobs on the `scheduled` queue: deadlines, digests and the housekeeping sweep.

A callback task's deadline is an RQ job scheduled for the moment it falls due (the worker's
`--with-scheduler` moves it onto the queue then). Housekeeping, every minute, redoes anything a
lost job would have done: surveys whose status callback never came, unscored responses,
undelivered notifications, missed deadlines, outbound surveys not placed (by call or text), text
surveys left unanswered past SMS_SURVEY_EXPIRY_HOURS. A daily purge
removes personal data past its retention time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ivr.jobs.relay import dispatch
from ivr.jobs.scoring import sweep_unscored
from ivr.models import SurveyChannel
from ivr.outbox import Request, Work
from ivr.services.call_control import outbound
from ivr.services.closed_loop import callback_tasks, feedback, notifications
from ivr.services.consent import privacy
from ivr.services.conversation.closing import close_stale
from ivr.settings import settings

log = logging.getLogger(__name__)

# Longer than a notification's whole retry schedule, so a retry under way is not doubled.
STUCK_NOTIFICATION_AGE = timedelta(minutes=15)


def escalate_task(task_id: int) -> bool:
    """At the task's deadline: escalate it if still open, and notify the next level."""
    change = callback_tasks.escalate(task_id)
    if change is None:
        return False
    log.info("callback task %s escalated; notifications %s", task_id, change.notification_ids)
    return True


def schedule_deadline(task_id: int, due_at: datetime) -> None:
    """(Re)schedule a task's deadline job; scoring does this after the commit that opens a task."""
    dispatch(Request(Work.escalate_task, (task_id,), at=due_at))


def send_digests() -> list[int]:
    """Each agent's feedback since their last digest, in one e-mail."""
    planned = feedback.send_digests()
    log.info("%s feedback digest(s) planned", len(planned))
    return planned


@dataclass(frozen=True)
class Housekeeping:
    rescored: list[int]
    redelivered: list[int]
    escalated: list[int]
    closed_stale: list[int] = field(default_factory=list)
    outbound: list[int] = field(default_factory=list)
    expired_texts: list[int] = field(default_factory=list)
    # Feedback held back while its agent could rate the call blind, sent now the window is over.
    feedback_released: list[int] = field(default_factory=list)


def housekeeping(min_age_seconds: int = 60) -> Housekeeping:
    """Redo whatever a lost job left undone; safe to run from any number of places."""
    closed_stale = close_stale(settings().stale_response_minutes)
    expired_texts = close_stale(settings().sms_survey_expiry_hours * 60, channel=SurveyChannel.sms)
    rescored = sweep_unscored(min_age_seconds)
    redelivered = notifications.stuck(STUCK_NOTIFICATION_AGE)
    for notification_id in redelivered:
        dispatch(Request(Work.deliver_notification, (notification_id,)))
    escalated = [task_id for task_id in callback_tasks.overdue_open() if escalate_task(task_id)]
    calls = outbound.waiting(timedelta(seconds=min_age_seconds))
    for outbound_id in calls:
        dispatch(Request(Work.place_outbound_survey, (outbound_id,)))
    released = [item_id for item_id in feedback.held_items() if feedback.deliver_held(item_id)]
    if rescored or redelivered or escalated or closed_stale or calls or expired_texts or released:
        log.info(
            "housekeeping: closed stale %s, rescored %s, redelivered %s, escalated %s, outbound %s, "
            "text surveys expired %s, feedback released %s",
            closed_stale,
            rescored,
            redelivered,
            escalated,
            calls,
            expired_texts,
            released,
        )
    return Housekeeping(rescored, redelivered, escalated, closed_stale, calls, expired_texts, released)


def purge_personal_data() -> int | None:
    """Daily: remove personal data past RETENTION_DAYS (nothing when it is not set)."""
    days = settings().retention_days
    if days is None:
        return None
    return privacy.purge_personal_data(days).calls
