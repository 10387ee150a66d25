"""Outbound surveys, by call or by text: a row written before anything is queued, so a lost job is
found again."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ivr.models.base import Base, Timestamp, utcnow
from ivr.models.texts import SurveyChannel


class OutboundState(StrEnum):
    scheduled = "scheduled"  # waiting for its time (now, or the end of quiet hours)
    placing = "placing"  # a job is asking Twilio; on a retry, Twilio is asked first whether it already did
    placed = "placed"  # Twilio accepted the call: call_sid is set
    failed = "failed"  # Twilio refused it, or every attempt failed
    refused = "refused"  # consent said no when it was time to call (do-not-survey, surveyed recently)

    @property
    def is_final(self) -> bool:
        return self in (OutboundState.placed, OutboundState.failed, OutboundState.refused)


class OutboundSurvey(Base):
    __tablename__ = "outbound_surveys"
    __table_args__ = (
        # Housekeeping's question: which calls are due (or stuck) and not placed yet?
        Index("ix_outbound_surveys_state_call_at", "state", "call_at"),
        # An incoming text finds the number's SMS survey through this.
        Index("ix_outbound_surveys_to_hash", "to_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The caller's number (removed by the retention purge) and its keyed hash for consent checks.
    to_number: Mapped[str | None] = mapped_column(String(64))
    to_hash: Mapped[str | None] = mapped_column(String(64))
    original_call_sid: Mapped[str | None] = mapped_column(String(64))
    agent_ref: Mapped[str | None] = mapped_column(String(255))
    queue: Mapped[str | None] = mapped_column(String(128))
    flow_key: Mapped[str] = mapped_column(String(128))
    language: Mapped[str | None] = mapped_column(String(16))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    # A call (placed: call_sid set) or a text conversation (placed: the invitation handed to Twilio).
    channel: Mapped[SurveyChannel] = mapped_column(
        Enum(SurveyChannel, native_enum=False, length=16), default=SurveyChannel.voice
    )
    # By text: the survey response its invitation started.
    # A recovery follow-up: the callback task whose caller this asks again (one per task).
    task_id: Mapped[int | None] = mapped_column(ForeignKey("callback_tasks.id"), unique=True)
    response_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_responses.id", ondelete="SET NULL"), unique=True
    )
    state: Mapped[OutboundState] = mapped_column(
        Enum(OutboundState, native_enum=False, length=16), default=OutboundState.scheduled
    )
    # When to place it: the request's time, or the end of the caller's quiet hours.
    call_at: Mapped[Timestamp]
    # Twilio's SID of the call placed; a retry that finds it set never dials again.
    call_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    attempts: Mapped[int] = mapped_column(default=0)
    placing_started_at: Mapped[Timestamp | None]
    placed_at: Mapped[Timestamp | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # The API key that asked for it (None: from the command line).
    requested_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    updated_at: Mapped[Timestamp] = mapped_column(default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<OutboundSurvey {self.id} {self.state}>"
