"""Text messages of SMS surveys, one row each way: what was sent or received, and its delivery."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ivr.models.base import Base, Timestamp, utcnow


class SurveyChannel(StrEnum):
    """How a survey reached the caller."""

    voice = "voice"
    sms = "sms"


class Direction(StrEnum):
    inbound = "inbound"  # the caller's reply (Twilio's incoming-message webhook)
    outbound = "outbound"  # ours: an invitation, a question, a confirmation


class TextStatus(StrEnum):
    """Twilio's MessageStatus for texts we send (received for the caller's)."""

    pending = "pending"  # written; not yet handed to Twilio
    accepted = "accepted"
    queued = "queued"
    sending = "sending"
    sent = "sent"
    delivered = "delivered"
    undelivered = "undelivered"
    failed = "failed"
    received = "received"

    @property
    def rank(self) -> int:
        """Callbacks may arrive out of order: a status never goes back to an earlier one."""
        return _RANK[self]

    @property
    def is_failure(self) -> bool:
        return self in (TextStatus.undelivered, TextStatus.failed)


_RANK = {
    TextStatus.pending: 0,
    TextStatus.accepted: 1,
    TextStatus.queued: 2,
    TextStatus.sending: 3,
    TextStatus.sent: 4,
    TextStatus.received: 4,
    TextStatus.delivered: 5,
    TextStatus.undelivered: 5,
    TextStatus.failed: 5,
}


class TextMessage(Base):
    __tablename__ = "text_messages"
    __table_args__ = (
        # The hot path's question: which unclear replies were there to this step of this survey?
        Index("ix_text_messages_response_id_step_key", "response_id", "step_key"),
        Index("ix_text_messages_reply_to_id", "reply_to_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None: a text about no survey (HELP, or a reply from a number with no survey open).
    response_id: Mapped[int | None] = mapped_column(ForeignKey("survey_responses.id", ondelete="CASCADE"))
    direction: Mapped[Direction] = mapped_column(Enum(Direction, native_enum=False, length=16))
    # Twilio's MessageSid: the caller's text is stored once however often Twilio delivers it. Ours
    # get it from Twilio's answer (REST) or from the first status callback (TwiML replies).
    message_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Our reply: the text it answers (a repeated delivery is answered with the same replies).
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("text_messages.id", ondelete="CASCADE"))
    # invitation, question, help, stopped (ours); answer, unclear, keyword, ignored (theirs).
    kind: Mapped[str] = mapped_column(String(16))
    # The step asked (ours) or answered (theirs).
    step_key: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[TextStatus] = mapped_column(Enum(TextStatus, native_enum=False, length=16))
    error_code: Mapped[str | None] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    updated_at: Mapped[Timestamp] = mapped_column(default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<TextMessage {self.id} {self.direction} {self.kind} {self.status}>"
