"""Answers as the flow's conditions and scoring rules see them."""

from __future__ import annotations

from typing import Any

from ivr.models import AnswerStatus, SurveyResponse


def answer_value(status: AnswerStatus, value: str | None, number: int | None) -> Any:
    """An int for ratings, a string for yes/no and choices, None when the step was skipped."""
    if status is not AnswerStatus.answered:
        return None
    return number if number is not None else value


def answer_values(response: SurveyResponse) -> dict[str, Any]:
    return {a.step_key: answer_value(a.status, a.value, a.number) for a in response.answers}
