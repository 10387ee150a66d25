"""Where each kind of work runs: its job function, queue, job id and retries.

ivr.outbox hands over the work a transaction asked for right after its commit; the sweepers
hand over what lost jobs left undone. Both come through `dispatch`, so a job has one id
whichever way it was asked for, and RQ never holds two different jobs for one row. The one
exception: responses finished by a webhook join the scoring list (`relay`), taken many at a
time by one job; the sweepers and a failed score use `dispatch`'s job of its own, with retries.
"""

from __future__ import annotations

from collections.abc import Sequence

from rq import Retry

from ivr.jobs import NOTIFICATIONS_QUEUE, SCHEDULED_QUEUE, SCORING_QUEUE, job_queue
from ivr.outbox import Request, Work
from ivr.settings import settings


def dispatch(request: Request) -> bool:
    """Hand the work over to its job; False when it could not be (ivr.jobs.JobQueue.enqueue)."""
    from ivr.jobs import notifications, outbound, scheduled, scoring

    (row_id,) = request.args
    queue = job_queue()
    if request.work is Work.score_response:
        return queue.enqueue(
            scoring.score_response, row_id, job_id=f"score-response-{row_id}", queue=SCORING_QUEUE
        )
    if request.work is Work.deliver_notification:
        intervals = settings().notification_retry_intervals
        return queue.enqueue(
            notifications.deliver_notification,
            row_id,
            job_id=f"notification-{row_id}",
            queue=NOTIFICATIONS_QUEUE,
            retry=Retry(max=len(intervals), interval=intervals) if intervals else None,
        )
    if request.work is Work.escalate_task:
        return queue.enqueue(
            scheduled.escalate_task,
            row_id,
            job_id=f"escalate-task-{row_id}",
            queue=SCHEDULED_QUEUE,
            at=request.at,
        )
    if request.work is Work.place_outbound_survey:
        # On the notifications queue: outbound traffic, retried with back-off.
        return queue.enqueue(
            outbound.place_outbound_survey,
            row_id,
            job_id=f"outbound-survey-{row_id}",
            queue=NOTIFICATIONS_QUEUE,
            at=request.at,
        )
    if request.work is Work.deliver_feedback:
        # One job at the window's end, one when the agent rates the call: whichever runs first sends.
        when = "now" if request.at is None else f"{request.at:%Y%m%dT%H%M%S}"
        return queue.enqueue(
            notifications.deliver_held_feedback,
            row_id,
            job_id=f"feedback-item-{row_id}-{when}",
            queue=NOTIFICATIONS_QUEUE,
            at=request.at,
        )
    raise ValueError(f"no job for {request.work}")


def relay(requests: Sequence[Request]) -> None:
    """After a commit: responses to score join the scoring list (one job takes many, see
    ivr.jobs.scoring.score_waiting); anything else becomes its own job."""
    from ivr.jobs import scoring

    queue = job_queue()
    scores = [request.args[0] for request in requests if request.work is Work.score_response]
    if scores and not queue.inline:
        queue.wait_for_scoring(scores, scoring.score_waiting)
    for request in requests:
        if request.work is not Work.score_response or queue.inline:
            dispatch(request)
