"""Agents, known by the external reference the telephony platform uses for them."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import Enum, ForeignKey, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ivr.models.base import Base, Timestamp, utcnow

if TYPE_CHECKING:
    from ivr.models.teams import Team


class FeedbackDelivery(StrEnum):
    # Extremes (praise, a very low score) at once; everything else in one daily digest.
    digest = "digest"
    # Every feedback item at once.
    immediate = "immediate"


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Twilio client name, SIP URI, phone number or TaskRouter worker SID.
    ref: Mapped[str] = mapped_column(String(255), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(255))
    # True when the agent was first seen on a webhook rather than set up by an admin.
    auto_created: Mapped[bool] = mapped_column(default=False)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(255))
    feedback_delivery: Mapped[FeedbackDelivery] = mapped_column(
        Enum(FeedbackDelivery, native_enum=False, length=16), default=FeedbackDelivery.digest
    )
    # Deactivated rather than deleted, so history keeps the name; hidden from pick lists.
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    team: Mapped[Team | None] = relationship()

    def __repr__(self) -> str:
        return f"<Agent {self.ref}>"
