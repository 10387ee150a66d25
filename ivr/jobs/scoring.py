"""Scoring jobs: take ids, reload rows, safe to run twice, quiet when the row is gone."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from ivr.extensions import db
from ivr.jobs.relay import dispatch
from ivr.models import SurveyResponse, utcnow
from ivr.outbox import Request, Work
from ivr.services.closed_loop import scoring

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
