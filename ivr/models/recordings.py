"""Recorded voice comments: Twilio keeps the audio; we keep its id, length, transcript and sentiment."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ivr.models.base import Base, Timestamp, utcnow

if TYPE_CHECKING:
    from ivr.models.surveys import SurveyResponse


class TranscriptStatus(StrEnum):
    pending = "pending"  # asked for; Twilio sends it, often after the call has ended
    completed = "completed"
    failed = "failed"
    not_requested = "not_requested"  # the flow or the language does not transcribe


class Sentiment(StrEnum):
    positive = "positive"
    neutral = "neutral"
    negative = "negative"
    # The language is one the analyser cannot judge: never counted as neutral.
    not_scored = "not_scored"


class Recording(Base):
    """A voice comment; or a comment typed in an SMS survey (status "text", the MessageSid as its
    SID, the words as its transcript, no audio)."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("survey_responses.id", ondelete="CASCADE"), index=True
    )
    step_key: Mapped[str] = mapped_column(String(64))
    recording_sid: Mapped[str] = mapped_column(String(64), unique=True)
    # Twilio's URL for the audio; never shown: the API streams it with the account's credentials.
    media_url: Mapped[str | None] = mapped_column(String(500))
    duration_seconds: Mapped[int | None]
    # Twilio's RecordingStatus from the status callback: completed, absent, failed.
    status: Mapped[str | None] = mapped_column(String(32))
    transcript_status: Mapped[TranscriptStatus] = mapped_column(
        Enum(TranscriptStatus, native_enum=False, length=16), default=TranscriptStatus.not_requested
    )
    transcript: Mapped[str | None] = mapped_column(Text)
    transcribed_at: Mapped[Timestamp | None]
    # From -1.0 to 1.0 (VADER's compound score); None with Sentiment.not_scored or before scoring.
    sentiment: Mapped[float | None]
    sentiment_label: Mapped[Sentiment | None] = mapped_column(Enum(Sentiment, native_enum=False, length=16))
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    response: Mapped[SurveyResponse] = relationship(back_populates="recordings")
