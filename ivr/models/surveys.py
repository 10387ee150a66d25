"""Survey responses and their answers, each answer saved the moment it arrives."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import (
    ColumnElement,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    and_,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ivr.models.base import Base, Timestamp, utcnow
from ivr.models.texts import SurveyChannel

if TYPE_CHECKING:
    from ivr.models.agents import Agent
    from ivr.models.callback_tasks import CallbackTask
    from ivr.models.calls import Call
    from ivr.models.feedback import FeedbackItem
    from ivr.models.flows import FlowVersion
    from ivr.models.recordings import Recording
    from ivr.models.scores import Score
    from ivr.models.texts import TextMessage


class Disposition(StrEnum):
    in_progress = "in_progress"
    completed = "completed"
    partial = "partial"  # some answers, then the caller hung up or ran out of retries
    breakoff = "breakoff"  # ended before the first answer
    declined = "declined"  # said no to the invitation
    refused = "refused"  # opted out of surveys (the flow's opt-out key): never asked again
    suppressed = "suppressed"  # not asked: do-not-survey list, or surveyed too recently
    failed = "failed"  # technical: the survey call failed, or could not be placed

    @property
    def is_final(self) -> bool:
        return self is not Disposition.in_progress


class LanguageSource(StrEnum):
    ivr = "ivr"  # the main IVR passed `lang`
    menu = "menu"  # the caller chose in the flow's language menu
    default = "default"  # neither: the flow's default language


class AnswerStatus(StrEnum):
    answered = "answered"
    skipped = "skipped"  # retries ran out and the step's policy was to move on


# Final but not yet scored: the sweeper's and the reports' question. The partial index below
# and migration 0002 use the same predicate, so keep the three in step.
_UNSCORED_SQL = "disposition <> 'in_progress' AND scored_at IS NULL"


class SurveyResponse(Base):
    __tablename__ = "survey_responses"
    __table_args__ = (
        # The sweeper's question, "which final responses are still unscored?", reads only those.
        Index(
            "ix_survey_responses_unscored",
            "ended_at",
            postgresql_where=text(_UNSCORED_SQL),
            sqlite_where=text(_UNSCORED_SQL),
        ),
        # The dashboard's response rate: dispositions over a period.
        Index(
            "ix_survey_responses_started_at",
            "started_at",
            postgresql_include=["agent_id", "queue", "disposition", "call_id"],
        ),
        Index(
            "ix_survey_responses_agent_id_started_at",
            "agent_id",
            "started_at",
            postgresql_include=["queue", "disposition"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    # The leg the survey runs on: Twilio's status callback for it closes the response.
    survey_call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    flow_version_id: Mapped[int] = mapped_column(ForeignKey("flow_versions.id"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    queue: Mapped[str | None] = mapped_column(String(128))
    language: Mapped[str] = mapped_column(String(16))
    # Voice (on a call) or SMS (by text, linked to the call it is about).
    channel: Mapped[SurveyChannel] = mapped_column(
        Enum(SurveyChannel, native_enum=False, length=16), default=SurveyChannel.voice
    )
    language_source: Mapped[LanguageSource] = mapped_column(
        Enum(LanguageSource, native_enum=False, length=16), default=LanguageSource.default
    )
    disposition: Mapped[Disposition] = mapped_column(
        Enum(Disposition, native_enum=False, length=16), default=Disposition.in_progress
    )
    current_step: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    ended_at: Mapped[Timestamp | None]
    # Set with the score, in the same transaction.
    scored_at: Mapped[Timestamp | None]
    # A try-out from the flow studio or `flask simulate --flow-version`: never scored into the
    # reports, no feedback, no callback task, and left out of every list.
    is_test: Mapped[bool] = mapped_column(default=False, server_default=false())

    call: Mapped[Call] = relationship()
    agent: Mapped[Agent | None] = relationship()
    flow_version: Mapped[FlowVersion] = relationship()
    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", order_by="Answer.id", cascade="all, delete-orphan"
    )
    score: Mapped[Score | None] = relationship(back_populates="response")
    feedback_item: Mapped[FeedbackItem | None] = relationship(back_populates="response")
    callback_task: Mapped[CallbackTask | None] = relationship(back_populates="response")
    recordings: Mapped[list[Recording]] = relationship(
        back_populates="response", order_by="Recording.id", cascade="all, delete-orphan"
    )
    # By text: every text sent and received, with its delivery status.
    texts: Mapped[list[TextMessage]] = relationship(order_by="TextMessage.id", viewonly=True)

    @classmethod
    def awaiting_score(cls) -> ColumnElement[bool]:
        """Final but not yet scored; matches the partial index ix_survey_responses_unscored."""
        return and_(cls.disposition != Disposition.in_progress, cls.scored_at.is_(None))

    def __repr__(self) -> str:
        return f"<SurveyResponse {self.id} {self.disposition}>"


class Answer(Base):
    __tablename__ = "answers"
    # Twilio may deliver the same webhook twice: the second one must not add a row.
    __table_args__ = (UniqueConstraint("response_id", "step_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("survey_responses.id", ondelete="CASCADE"))
    step_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[AnswerStatus] = mapped_column(Enum(AnswerStatus, native_enum=False, length=16))
    raw_input: Mapped[str | None] = mapped_column(String(64))
    # The value in the step's own terms ("5", "yes", "billing"); numeric steps fill both.
    value: Mapped[str | None] = mapped_column(String(64))
    number: Mapped[int | None]
    no_input_count: Mapped[int] = mapped_column(default=0)
    no_match_count: Mapped[int] = mapped_column(default=0)
    # A spoken answer: what Twilio heard and how sure it was (0.0-1.0).
    speech_result: Mapped[str | None] = mapped_column(Text)
    speech_confidence: Mapped[float | None]
    answered_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    response: Mapped[SurveyResponse] = relationship(back_populates="answers")
