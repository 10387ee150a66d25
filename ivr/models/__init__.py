"""Typed SQLAlchemy models, one module per part of the domain."""

from ivr.models.agents import Agent, FeedbackDelivery
from ivr.models.api_keys import ApiKey
from ivr.models.base import Base, as_utc, utcnow
from ivr.models.callback_tasks import CallbackTask, CallbackTaskEvent, RootCause, TaskOutcome, TaskStatus
from ivr.models.calls import AgentLeg, Call
from ivr.models.consent import DoNotSurvey, ListSource
from ivr.models.feedback import FeedbackItem, FeedbackKind
from ivr.models.flows import FlowAction, FlowAuditEntry, FlowRecord, FlowVersion, PromptAudio
from ivr.models.forecasts import Forecast
from ivr.models.notifications import Channel, Notification, NotificationAttempt, NotificationStatus
from ivr.models.outbound import OutboundState, OutboundSurvey
from ivr.models.recordings import Recording, Sentiment, TranscriptStatus
from ivr.models.rollups import AgentScoreDay, OfferDay, QueueScoreDay
from ivr.models.routing import FRONT_DOOR, ROUTING_AUDIT_KEY, RoutingRecord, RoutingVersion
from ivr.models.scores import Score
from ivr.models.self_ratings import SelfRating
from ivr.models.surveys import Answer, AnswerStatus, Disposition, LanguageSource, SurveyResponse
from ivr.models.teams import Supervisor, Team
from ivr.models.texts import Direction, SurveyChannel, TextMessage, TextStatus
from ivr.models.users import Role, User

__all__ = [
    "FRONT_DOOR",
    "ROUTING_AUDIT_KEY",
    "Agent",
    "AgentLeg",
    "AgentScoreDay",
    "Answer",
    "AnswerStatus",
    "ApiKey",
    "Base",
    "Call",
    "CallbackTask",
    "CallbackTaskEvent",
    "Channel",
    "Direction",
    "Disposition",
    "DoNotSurvey",
    "FeedbackDelivery",
    "FeedbackItem",
    "FeedbackKind",
    "FlowAction",
    "FlowAuditEntry",
    "FlowRecord",
    "FlowVersion",
    "Forecast",
    "LanguageSource",
    "ListSource",
    "Notification",
    "NotificationAttempt",
    "NotificationStatus",
    "OfferDay",
    "OutboundState",
    "OutboundSurvey",
    "PromptAudio",
    "QueueScoreDay",
    "Recording",
    "Role",
    "RootCause",
    "RoutingRecord",
    "RoutingVersion",
    "Score",
    "SelfRating",
    "Sentiment",
    "Supervisor",
    "SurveyChannel",
    "SurveyResponse",
    "TaskOutcome",
    "TaskStatus",
    "Team",
    "TextMessage",
    "TextStatus",
    "TranscriptStatus",
    "User",
    "as_utc",
    "utcnow",
]
