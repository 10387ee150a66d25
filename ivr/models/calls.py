"""Calls as Twilio knows them, and the agent legs each call went through."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ivr.models.base import Base, Timestamp, utcnow

if TYPE_CHECKING:
    from ivr.models.agents import Agent


class Call(Base):
    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    parent_call_sid: Mapped[str | None] = mapped_column(String(64))
    # Kept for callbacks until the retention purge; matched through from_hash (a keyed hash),
    # and shown masked wherever an agent could see it.
    from_number: Mapped[str | None] = mapped_column(String(64))
    from_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    to_number: Mapped[str | None] = mapped_column(String(64))
    queue: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str | None] = mapped_column(String(32))
    duration_seconds: Mapped[int | None]
    started_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    ended_at: Mapped[Timestamp | None]
    # Set by the retention purge, which removes the numbers and keeps the anonymous scores.
    purged_at: Mapped[Timestamp | None]

    legs: Mapped[list[AgentLeg]] = relationship(back_populates="call", order_by="AgentLeg.sequence")

    def __repr__(self) -> str:
        return f"<Call {self.call_sid}>"


class AgentLeg(Base):
    """One agent's part of a call; a transferred call has several, in order."""

    __tablename__ = "agent_legs"
    __table_args__ = (
        UniqueConstraint("call_id", "sequence"),
        # The dashboard's survey-offer rate: answered legs over a period.
        Index(
            "ix_agent_legs_started_at", "started_at", postgresql_include=["agent_id", "outcome", "call_id"]
        ),
        Index(
            "ix_agent_legs_agent_id_started_at",
            "agent_id",
            "started_at",
            postgresql_include=["outcome", "call_id"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    sequence: Mapped[int]
    queue: Mapped[str | None] = mapped_column(String(128))
    outcome: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    ended_at: Mapped[Timestamp | None]

    call: Mapped[Call] = relationship(back_populates="legs")
    agent: Mapped[Agent] = relationship()
