"""Scoring jobs: take ids, reload rows, safe to run twice, quiet when the row is gone."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from ivr.extensions import db
from ivr.jobs import SCORES_JOB_QUEUED, SCORES_WAITING, SCORING_QUEUE, job_queue
from ivr.jobs.relay import dispatch
from ivr.jobs.running import observed
from ivr.models import SurveyResponse, utcnow
from ivr.outbox import Request, Work
from ivr.services.closed_loop import scoring
from ivr.services.insight import rollups
from ivr.settings import settings

log = logging.getLogger(__name__)


def score_response(response_id: int) -> int | None:
    """Score one finished response and close the loop; returns the score id (None: nothing to score).

    The notifications and the task's deadline it plans are enqueued after its commit (ivr.outbox).
    """
    scored = scoring.score(response_id)
    if scored is None:
        log.info("response %s: nothing to score (gone or still in progress)", response_id)
        return None
    log.info(
        "response %s scored: extreme_low=%s feedback=%s task=%s notifications=%s",
        response_id,
        scored.extreme_low,
        scored.feedback_item_id,
        scored.task_id,
        scored.notification_ids,
    )
    return scored.score_id


# Responses taken off the scoring list at a time; at most this many, or this long, in one job
# (then the next job goes on, so notifications and deadlines on the other queues get their turn).
SCORING_BATCH = 50
MOST_PER_JOB = 500
MOST_SECONDS_PER_JOB = 2.0


def score_waiting() -> int:
    """Score the responses on the scoring list (ivr.jobs.JobQueue.wait_for_scoring); how many.

    Each is scored and committed on its own, with its own log context and metrics as if it were
    its own job. One that fails becomes a job of its own, retried as any other; one taken off
    the list and lost with this process is found by the sweepers.

    When the list is empty the job waits up to SCORING_LINGER_SECONDS for the next response
    before it ends: calls finish one by one, and without the wait each job would score one
    response and pay RQ's own work (about as much as the scoring) for it. While the job runs
    its flag stays set, so the webhooks queue no second job; it is cleared at the end, and a
    response that arrived just before is handed to a new job then.
    """
    redis = job_queue().redis
    assert redis is not None
    linger = settings().scoring_linger_seconds
    began = time.monotonic()
    taken = 0
    try:
        while taken < MOST_PER_JOB and time.monotonic() - began < MOST_SECONDS_PER_JOB:
            batch = redis.lpop(SCORES_WAITING, SCORING_BATCH)
            if not batch and linger > 0:
                popped = redis.blpop([SCORES_WAITING], timeout=linger)
                batch = [popped[1]] if popped else None
            if not batch:
                break
            with rollups.refreshed_together():  # each dashboard bucket once for the batch
                for raw in batch:
                    taken += 1
                    _score_one(int(raw))
    finally:
        redis.delete(SCORES_JOB_QUEUED)  # from now on a new response queues a new job
    if redis.llen(SCORES_WAITING):
        job_queue().wait_for_scoring([], score_waiting)
    return taken


def _score_one(response_id: int) -> None:
    try:
        with observed(f"score-response-{response_id}", SCORING_QUEUE, score_response, will_retry=True):
            score_response(response_id)
    except Exception:
        db.session.rollback()
        log.exception("response %s could not be scored; it is retried as a job of its own", response_id)
        dispatch(Request(Work.score_response, (response_id,)))


@dataclass(frozen=True)
class Sweep:
    enqueued: list[int]
    not_enqueued: list[int]  # Redis refused them: still unscored, the next sweep tries again


def sweep_unscored(min_age_seconds: int = 60) -> list[int]:
    """Enqueue every final response still without a score (a job lost with Redis, say); their ids."""
    swept = sweep_unscored_report(min_age_seconds)
    return swept.enqueued + swept.not_enqueued


def sweep_unscored_report(min_age_seconds: int = 60) -> Sweep:
    """The same, saying which responses were handed over and which could not be."""
    cutoff = utcnow() - timedelta(seconds=min_age_seconds)
    ids = db.session.scalars(
        select(SurveyResponse.id)
        .where(SurveyResponse.awaiting_score(), SurveyResponse.ended_at <= cutoff)
        .order_by(SurveyResponse.id)
    ).all()
    db.session.rollback()
    enqueued: list[int] = []
    not_enqueued: list[int] = []
    for response_id in ids:
        handed_over = dispatch(Request(Work.score_response, (response_id,)))
        (enqueued if handed_over else not_enqueued).append(response_id)
    return Sweep(enqueued, not_enqueued)
