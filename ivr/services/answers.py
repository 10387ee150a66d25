"""Answers as the flow's conditions and scoring rules see them."""

from __future__ import annotations

from typing import Any

from ivr.flows import CompiledFlow
from ivr.flows.schema import RatingStep
from ivr.models import AnswerStatus, SurveyResponse


def answer_values(response: SurveyResponse, compiled: CompiledFlow) -> dict[str, Any]:
    """Answers as the condition language sees them: ints for ratings, strings otherwise."""
    values: dict[str, Any] = {}
    for answer in response.answers:
        if answer.status is not AnswerStatus.answered:
            values[answer.step_key] = None
        elif isinstance(compiled.flow.step(answer.step_key), RatingStep):
            values[answer.step_key] = answer.number
        else:
            values[answer.step_key] = answer.value
    return values
