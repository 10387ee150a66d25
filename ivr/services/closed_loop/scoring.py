"""Score a finished response and close the loop, all in one transaction.

The score, the agent's feedback item, the callback task (for an extreme low) and the
notifications they cause are committed together: a worker killed half-way leaves nothing,
and running the job again finds what an earlier run committed and adds nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from ivr.extensions import db
from ivr.flows.compiled import CompiledFlow
from ivr.flows.conditions import SENTIMENT
from ivr.flows.schema import RatingStep
from ivr.models import Recording, Score, Sentiment, SurveyResponse, utcnow
from ivr.services.closed_loop import callback_tasks, feedback, notifications, recovery, sentiment
from ivr.services.conversation.answer_values import answer_values
from ivr.services.conversation.flow_versions import registry
from ivr.services.insight import rollups


def nps_category(nps: int | None) -> str | None:
    if nps is None:
        return None
    if nps >= 9:
        return "promoter"
    if nps >= 7:
        return "passive"
    return "detractor"


@dataclass
class Scored:
    """What a scoring run committed (its notifications and the task's deadline go out after the
    commit through ivr.outbox)."""

    score_id: int
    extreme_low: bool
    feedback_item_id: int | None = None
    # A task this run opened (None when there is none, or an earlier run opened it).
    task_id: int | None = None
    notification_ids: list[int] = field(default_factory=list)


def judge_comments(response: SurveyResponse) -> None:
    """Give each transcript not yet judged its sentiment (in the caller's transaction)."""
    for recording in response.recordings:
        if recording.transcript and recording.sentiment_label is None:
            judgement = sentiment.judge(recording.transcript, response.language)
            recording.sentiment, recording.sentiment_label = judgement.score, judgement.label


def comment_sentiment(recordings: list[Recording]) -> tuple[float | None, Sentiment | None]:
    """The most negative judged comment; "not scored" only when no comment could be judged."""
    judged = [r for r in recordings if r.sentiment is not None]
    if judged:
        worst = min(judged, key=lambda r: r.sentiment or 0.0)
        return worst.sentiment, worst.sentiment_label
    if any(r.sentiment_label is Sentiment.not_scored for r in recordings):
        return None, Sentiment.not_scored
    return None, None


def score_fields(response: SurveyResponse, compiled: CompiledFlow) -> dict[str, Any]:
    """The score of a response from whatever answers it has (partial responses too)."""
    values = answer_values(response)
    comment_score, comment_label = comment_sentiment(response.recordings)
    values[SENTIMENT] = comment_score
    kpi_steps = {step.kpi: step for step in compiled.flow.questions() if step.kpi}
    kpis = {kpi: values.get(step.key) for kpi, step in kpi_steps.items()}
    csat, csat_step = kpis.get("csat"), kpi_steps.get("csat")
    top_box = bottom_box = None
    if csat is not None and isinstance(csat_step, RatingStep):
        # Top two and bottom two points of the scale: 4-5 and 1-2 on a 1-5 scale.
        top_box, bottom_box = csat >= csat_step.max - 1, csat <= csat_step.min + 1
    return {
        "agent_id": response.agent_id,
        "queue": response.queue,
        "started_at": response.started_at,
        "csat": csat,
        "csat_top_box": top_box,
        "csat_bottom_box": bottom_box,
        "nps": kpis.get("nps"),
        "nps_category": nps_category(kpis.get("nps")),
        "ces": kpis.get("ces"),
        "resolved": None if kpis.get("resolution") is None else kpis["resolution"] == "yes",
        "sentiment": comment_score,
        "sentiment_label": comment_label,
        "extreme_low": bool(compiled.extreme_low and compiled.extreme_low.evaluate(values)),
        "extreme_low_rule": compiled.flow.scoring.extreme_low,
        "extreme_high": bool(compiled.extreme_high and compiled.extreme_high.evaluate(values)),
        "extreme_high_rule": compiled.flow.scoring.extreme_high,
    }


def score(response_id: int) -> Scored | None:
    """Write (or rewrite) the response's score and close the loop; safe to run any number of times."""
    # The row lock makes concurrent runs for one response take turns (PostgreSQL; SQLite
    # serialises writers anyway), so each sees what the other committed. FOR NO KEY UPDATE, not
    # FOR UPDATE: webhooks still adding rows that point at the response (a late answer, the
    # recording callback) take a key-share lock, and must not wait for the scoring.
    response = db.session.scalars(
        select(SurveyResponse).filter_by(id=response_id).with_for_update(key_share=True)
    ).one_or_none()
    if response is None or not response.disposition.is_final:
        db.session.rollback()
        return None
    compiled = registry().for_version(response.flow_version_id)

    now = utcnow()
    if response.is_test:
        # A try-out: the flow studio shows what scoring would decide (score_fields), nothing is
        # written that a report, an agent or a supervisor would see.
        response.scored_at = now
        db.session.commit()
        return None
    judge_comments(response)
    fields = score_fields(response, compiled)
    score = db.session.scalar(select(Score).filter_by(response_id=response_id))
    if score is None:
        score = Score(response_id=response_id)
        db.session.add(score)
    for name, value in fields.items():
        setattr(score, name, value)
    score.scored_at = response.scored_at = now
    db.session.flush()

    item = feedback.record(response, score, compiled)
    task = (
        callback_tasks.open_for(response, score, compiled.flow.scoring.callback_deadline_hours)
        if score.extreme_low
        else None
    )
    recovery.after_scoring(response, score)
    # Read before the commit, which expires the rows: reading them after it reloads each.
    scored = Scored(
        score_id=score.id,
        extreme_low=score.extreme_low,
        feedback_item_id=item.id if item else None,
        task_id=task.id if task else None,
        notification_ids=notifications.take_planned(),
    )
    db.session.commit()
    # The dashboard's daily rollups of this score's day, recomputed whole after its commit.
    rollups.after_scoring(response_id)
    return scored
