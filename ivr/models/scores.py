"""The score of a finished response, written by the scoring job (one row per response)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ivr.models.base import Base, Timestamp, utcnow

if TYPE_CHECKING:
    from ivr.models.surveys import SurveyResponse


class Score(Base):
    __tablename__ = "scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("survey_responses.id", ondelete="CASCADE"), unique=True
    )
    csat: Mapped[int | None]
    nps: Mapped[int | None]
    nps_category: Mapped[str | None] = mapped_column(String(16))
    resolved: Mapped[bool | None]
    extreme_low: Mapped[bool] = mapped_column(default=False)
    # The flow's rule as it was evaluated, kept for audit.
    extreme_low_rule: Mapped[str | None] = mapped_column(String(255))
    scored_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    response: Mapped[SurveyResponse] = relationship(back_populates="score")
