"""Read side: survey responses with everything a reader needs loaded up front."""

from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from ivr.extensions import db
from ivr.models import Agent, AgentLeg, Call, SurveyChannel, SurveyResponse
from ivr.services import policy
from ivr.services.policy import Principal


def _with_details() -> Select[SurveyResponse]:
    return select(SurveyResponse).options(
        selectinload(SurveyResponse.answers),
        selectinload(SurveyResponse.recordings),
        selectinload(SurveyResponse.texts),
        selectinload(SurveyResponse.score),
        selectinload(SurveyResponse.feedback_item),
        selectinload(SurveyResponse.callback_task),
        selectinload(SurveyResponse.agent),
        selectinload(SurveyResponse.flow_version),
        selectinload(SurveyResponse.call).selectinload(Call.legs).selectinload(AgentLeg.agent),
    )


def get_response(principal: Principal, response_id: int) -> SurveyResponse | None:
    """The response, if it exists and the principal may see it."""
    query = policy.scope_responses(principal, _with_details().where(SurveyResponse.id == response_id))
    return db.session.scalar(query)


def find_responses(
    principal: Principal,
    call_sid: str | None = None,
    agent_ref: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
    channel: SurveyChannel | None = None,
) -> list[SurveyResponse]:
    """Newest first; `before_id` pages back through older ones; `channel` only voice or SMS."""
    query = policy.scope_responses(principal, _with_details())
    if call_sid:
        query = query.join(SurveyResponse.call).where(
            or_(Call.call_sid == call_sid, SurveyResponse.survey_call_sid == call_sid)
        )
    if agent_ref:
        query = query.join(SurveyResponse.agent).where(Agent.ref == agent_ref)
    if before_id:
        query = query.where(SurveyResponse.id < before_id)
    if channel is not None:
        query = query.where(SurveyResponse.channel == channel)
    return list(db.session.scalars(query.order_by(SurveyResponse.id.desc()).limit(limit)))
