"""The score of a finished response, written by the scoring job (one row per response).

Scores double as the reports' fact table: the agent, queue and start time are copied from the
response, so distributions and trends over a period read one indexed table and join nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ivr.models.base import Base, Timestamp, utcnow
from ivr.models.recordings import Sentiment

if TYPE_CHECKING:
    from ivr.models.surveys import SurveyResponse


# What the period reports read from each score (ivr.services.insight.reports).
REPORT_COLUMNS = ["queue", "agent_id", "csat", "nps", "nps_category"]
# What the dashboard counts (ivr.services.insight.measures), per team or for everyone.
DASHBOARD_COLUMNS = [
    "queue",
    "csat",
    "csat_top_box",
    "csat_bottom_box",
    "nps_category",
    "resolved",
    "ces",
    "extreme_low",
    "extreme_high",
]


class Score(Base):
    __tablename__ = "scores"
    __table_args__ = (
        # Covering on PostgreSQL: the trend and the team distributions over a period are
        # index-only scans instead of a heap page per score.
        Index(
            "ix_scores_started_at", "started_at", postgresql_include=REPORT_COLUMNS + DASHBOARD_COLUMNS[2:]
        ),
        Index(
            "ix_scores_agent_id_started_at", "agent_id", "started_at", postgresql_include=DASHBOARD_COLUMNS
        ),
        Index("ix_scores_queue_started_at", "queue", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("survey_responses.id", ondelete="CASCADE"), unique=True
    )
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    queue: Mapped[str | None] = mapped_column(String(128))
    started_at: Mapped[Timestamp]
    csat: Mapped[int | None]
    # The top two and bottom two points of the CSAT scale (4-5 and 1-2 on a 1-5 scale).
    csat_top_box: Mapped[bool | None]
    csat_bottom_box: Mapped[bool | None]
    nps: Mapped[int | None]
    nps_category: Mapped[str | None] = mapped_column(String(16))
    # Customer effort, on the flow's CES scale (lower is easier).
    ces: Mapped[int | None]
    resolved: Mapped[bool | None]
    # The most negative comment's sentiment (-1.0 to 1.0) and its label; both None when there is
    # no comment (yet), label "not_scored" when its language cannot be judged.
    sentiment: Mapped[float | None]
    sentiment_label: Mapped[Sentiment | None] = mapped_column(Enum(Sentiment, native_enum=False, length=16))
    extreme_low: Mapped[bool] = mapped_column(default=False)
    # The flow's rules as they were evaluated, kept for audit.
    extreme_low_rule: Mapped[str | None] = mapped_column(String(255))
    extreme_high: Mapped[bool] = mapped_column(default=False)
    extreme_high_rule: Mapped[str | None] = mapped_column(String(255))
    scored_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    response: Mapped[SurveyResponse] = relationship(back_populates="score")
