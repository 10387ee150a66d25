"""Delivering notifications: one job per notification, retried with back-off by RQ."""

from __future__ import annotations

from rq import get_current_job

from ivr.services.closed_loop import feedback, notifications


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


def deliver_held_feedback(item_id: int) -> bool:
    """An agent's feedback held back while they could rate the call blind: send it now if due."""
    return feedback.deliver_held(item_id)
