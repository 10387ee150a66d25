"""What a supervisor expects of their team's callers, stated at the start of a week."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ivr.models.base import Base, Timestamp, utcnow

if TYPE_CHECKING:
    from ivr.models.teams import Team
    from ivr.models.users import User


class Forecast(Base):
    """The share of a team's callers (0-1) a supervisor expects to be satisfied (CSAT 4-5) in the
    week starting on Monday `week_start`; stated once, so it cannot follow what callers said."""

    __tablename__ = "forecasts"
    __table_args__ = (
        UniqueConstraint("team_id", "week_start"),
        CheckConstraint("top_box_share >= 0 AND top_box_share <= 1", name="share_0_to_1"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    week_start: Mapped[date]
    top_box_share: Mapped[float]
    stated_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    stated_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    team: Mapped[Team] = relationship()
    stated_by: Mapped[User] = relationship()
