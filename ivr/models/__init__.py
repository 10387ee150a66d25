"""Typed SQLAlchemy models, one module per part of the domain."""

from ivr.models.agents import Agent
from ivr.models.api_keys import ApiKey
from ivr.models.base import Base, utcnow
from ivr.models.calls import AgentLeg, Call
from ivr.models.flows import FlowVersion
from ivr.models.scores import Score
from ivr.models.surveys import Answer, AnswerStatus, Disposition, SurveyResponse

__all__ = [
    "Agent",
    "AgentLeg",
    "Answer",
    "AnswerStatus",
    "ApiKey",
    "Base",
    "Call",
    "Disposition",
    "FlowVersion",
    "Score",
    "SurveyResponse",
    "utcnow",
]
