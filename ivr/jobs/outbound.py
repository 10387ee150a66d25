"""Placing outbound survey calls (on the `notifications` queue: outbound traffic, with retries)."""

from __future__ import annotations

from ivr import jobs
from ivr.services import outbound


def place_survey_call(to: str, url: str, status_callback: str) -> str:
    return outbound.place(to, url, status_callback)


def enqueue_survey_call(planned: outbound.PlannedCall) -> None:
    jobs.enqueue(
        place_survey_call,
        planned.to,
        planned.url,
        planned.status_callback,
        job_id=planned.job_id,
        queue=jobs.NOTIFICATIONS_QUEUE,
        at=planned.call_at,
    )
