"""Delivering notifications: one job per notification, retried with back-off by RQ."""

from __future__ import annotations

from flask import current_app
from rq import Retry, get_current_job

from ivr import jobs
from ivr.services import notifications


class DeliveryFailed(RuntimeError):
    """Raised so that RQ retries the job; the attempt is already recorded."""


def deliver_notification(notification_id: int) -> bool:
    job = get_current_job()
    # Inline (no Redis) there is one attempt; on RQ, the last retry marks the row failed.
    last_attempt = job is None or not job.retries_left
    sent = notifications.deliver(notification_id, last_attempt=last_attempt)
    if not sent and not last_attempt:
        raise DeliveryFailed(f"notification {notification_id} not delivered; RQ will retry")
    return sent


def enqueue_delivery(notification_id: int) -> None:
    intervals = current_app.extensions["ivr.settings"].notification_retry_intervals
    jobs.enqueue(
        deliver_notification,
        notification_id,
        job_id=f"notification-{notification_id}",
        queue=jobs.NOTIFICATIONS_QUEUE,
        retry=Retry(max=len(intervals), interval=intervals) if intervals else None,
    )
