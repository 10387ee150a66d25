"""Plain-dict views of responses for the JSON API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ivr.models import SurveyResponse


def _time(value: datetime | None) -> str | None:
    if value is None:
        return None
    # SQLite hands back naive datetimes; every timestamp we store is UTC.
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def response_json(response: SurveyResponse) -> dict[str, Any]:
    score = response.score
    return {
        "id": response.id,
        "call_sid": response.call.call_sid,
        "survey_call_sid": response.survey_call_sid,
        "agent": response.agent.ref if response.agent else None,
        "agent_chain": [leg.agent.ref for leg in response.call.legs],
        "queue": response.queue,
        "flow": {"id": response.flow_version.flow_key, "version": response.flow_version.version},
        "language": response.language,
        "disposition": response.disposition.value,
        "started_at": _time(response.started_at),
        "ended_at": _time(response.ended_at),
        "answers": [
            {
                "step": answer.step_key,
                "status": answer.status.value,
                "raw_input": answer.raw_input,
                "value": answer.number if answer.number is not None else answer.value,
                "no_input_count": answer.no_input_count,
                "no_match_count": answer.no_match_count,
                "answered_at": _time(answer.answered_at),
            }
            for answer in response.answers
        ],
        "score": None
        if score is None
        else {
            "csat": score.csat,
            "nps": score.nps,
            "nps_category": score.nps_category,
            "resolved": score.resolved,
            "extreme_low": score.extreme_low,
            "scored_at": _time(score.scored_at),
        },
    }
