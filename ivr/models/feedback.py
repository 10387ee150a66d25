"""Agent feedback: one item per scored response about an agent, for the credited agent."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import Enum, ForeignKey, Index, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ivr.models.base import Base, Timestamp, utcnow

if TYPE_CHECKING:
    from ivr.models.agents import Agent
    from ivr.models.surveys import SurveyResponse


class FeedbackKind(StrEnum):
    praise = "praise"  # the flow's extreme-high rule held
    low = "low"  # the flow's extreme-low rule held
    regular = "regular"

    @property
    def is_extreme(self) -> bool:
        return self is not FeedbackKind.regular


class FeedbackItem(Base):
    __tablename__ = "feedback_items"
    __table_args__ = (
        Index("ix_feedback_items_agent_id_created_at", "agent_id", "created_at"),
        # The digest's question: which items has nobody sent yet?
        Index(
            "ix_feedback_items_undelivered",
            "agent_id",
            postgresql_where=text("delivered_at IS NULL"),
            sqlite_where=text("delivered_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("survey_responses.id", ondelete="CASCADE"), unique=True
    )
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    kind: Mapped[FeedbackKind] = mapped_column(Enum(FeedbackKind, native_enum=False, length=16))
    csat: Mapped[int | None]
    nps: Mapped[int | None]
    ces: Mapped[int | None]
    resolved: Mapped[bool | None]
    # What the caller said in their own words, when the flow asked for it.
    verbatim: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    updated_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    # Set when the item went out, at once or in a digest.
    delivered_at: Mapped[Timestamp | None]
    # The digest that carried it (its body quotes the verbatim): the retention purge empties it too.
    digest_notification_id: Mapped[int | None] = mapped_column(
        ForeignKey("notifications.id", ondelete="SET NULL", use_alter=True), index=True
    )

    agent: Mapped[Agent] = relationship()
    response: Mapped[SurveyResponse] = relationship(back_populates="feedback_item")
