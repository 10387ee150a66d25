"""What an agent believed the caller felt, given before they could see what the caller said."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ivr.models.base import Base, Timestamp, utcnow

if TYPE_CHECKING:
    from ivr.models.agents import Agent
    from ivr.models.calls import Call


class SelfRating(Base):
    """One agent's rating of one call they took: 1-5, and whether they think it was resolved."""

    __tablename__ = "self_ratings"
    __table_args__ = (
        UniqueConstraint("call_id", "agent_id"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_1_to_5"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    rating: Mapped[int]
    resolved: Mapped[bool | None]
    rated_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    # Given after the window in which the caller's verdict is held back from the agent.
    late: Mapped[bool] = mapped_column(default=False)
    # Given before the agent could have seen the caller's verdict (in time, and before any
    # feedback on the call reached them): only these count in the gap.
    blind: Mapped[bool] = mapped_column(default=True)
    # Where it came from: "web" (the agent's page) or "api" (a CTI or softphone).
    source: Mapped[str] = mapped_column(String(16))

    call: Mapped[Call] = relationship()
    agent: Mapped[Agent] = relationship()
