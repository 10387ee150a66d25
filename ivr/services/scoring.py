"""Score a finished response: CSAT, NPS and its category, resolution, the extreme-low rule."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ivr.extensions import db
from ivr.models import Score, SurveyResponse, utcnow
from ivr.services.answers import answer_values
from ivr.services.flow_versions import registry


def nps_category(nps: int | None) -> str | None:
    if nps is None:
        return None
    if nps >= 9:
        return "promoter"
    if nps >= 7:
        return "passive"
    return "detractor"


def score_response(response_id: int) -> Score | None:
    """Write (or rewrite) the response's score; safe to run any number of times."""
    response = db.session.get(SurveyResponse, response_id)
    if response is None or not response.disposition.is_final:
        return None
    compiled = registry().for_version(response.flow_version_id)
    values = answer_values(response)
    kpis = {step.kpi: values.get(step.key) for step in compiled.flow.questions() if step.kpi}

    now = utcnow()
    fields = {
        "agent_id": response.agent_id,
        "queue": response.queue,
        "started_at": response.started_at,
        "csat": kpis.get("csat"),
        "nps": kpis.get("nps"),
        "nps_category": nps_category(kpis.get("nps")),
        "resolved": None if kpis.get("resolution") is None else kpis["resolution"] == "yes",
        "extreme_low": bool(compiled.extreme_low and compiled.extreme_low.evaluate(values)),
        "extreme_low_rule": compiled.flow.scoring.extreme_low,
        "scored_at": now,
    }
    for attempt in range(2):
        score = db.session.scalar(select(Score).filter_by(response_id=response_id))
        if score is None:
            score = Score(response_id=response_id)
            db.session.add(score)
        for name, value in fields.items():
            setattr(score, name, value)
        response.scored_at = now
        try:
            db.session.commit()
            return score
        except IntegrityError:
            # Another run inserted the score first; update theirs instead.
            db.session.rollback()
            if attempt:
                raise
    return None
