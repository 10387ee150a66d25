"""Daily rollups of the scores: what the dashboard counts, summed per day and per agent, and per
day and per queue (ivr.services.insight.rollups keeps them).

Each row is recomputed whole from the scores of its bucket (never incremented), so recomputing
twice, or after a re-score, gives the same row. The team is not stored: it is the agent's team
when the dashboard reads, as the scores' own aggregates do.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ivr.models.base import Base

# In ivr.services.insight.measures.columns() order: counts_from() reads a sum of these.
COUNT_COLUMNS = [
    "responses",
    "csat_1",
    "csat_2",
    "csat_3",
    "csat_4",
    "csat_5",
    "bottom_box",
    "top_box",
    "promoters",
    "passives",
    "detractors",
    "resolved",
    "resolution_answers",
    "effort_total",
    "effort_answers",
    "extreme_lows",
    "extreme_highs",
]


class _Counts:
    responses: Mapped[int] = mapped_column(default=0)
    csat_1: Mapped[int] = mapped_column(default=0)
    csat_2: Mapped[int] = mapped_column(default=0)
    csat_3: Mapped[int] = mapped_column(default=0)
    csat_4: Mapped[int] = mapped_column(default=0)
    csat_5: Mapped[int] = mapped_column(default=0)
    bottom_box: Mapped[int] = mapped_column(default=0)
    top_box: Mapped[int] = mapped_column(default=0)
    promoters: Mapped[int] = mapped_column(default=0)
    passives: Mapped[int] = mapped_column(default=0)
    detractors: Mapped[int] = mapped_column(default=0)
    resolved: Mapped[int] = mapped_column(default=0)
    resolution_answers: Mapped[int] = mapped_column(default=0)
    effort_total: Mapped[int] = mapped_column(default=0)
    effort_answers: Mapped[int] = mapped_column(default=0)
    extreme_lows: Mapped[int] = mapped_column(default=0)
    extreme_highs: Mapped[int] = mapped_column(default=0)
    # From the responses (not the scores) of the bucket: surveys offered, and answered
    # (ivr.services.insight.dashboard's response rate).
    offered: Mapped[int] = mapped_column(default=0)
    answered: Mapped[int] = mapped_column(default=0)


class AgentScoreDay(_Counts, Base):
    """One UTC day of one agent's scores (agent None: responses without an agent)."""

    __tablename__ = "agent_score_days"
    __table_args__ = (
        # One row per bucket; on PostgreSQL the NULL agent is one bucket too (SQLite serialises
        # writers, so two refreshes never race there).
        Index(
            "uq_agent_score_days_bucket", "day", "agent_id", unique=True, postgresql_nulls_not_distinct=True
        ),
        Index("ix_agent_score_days_agent_id_day", "agent_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))


class QueueScoreDay(_Counts, Base):
    """One UTC day of one queue's scores (queue None: responses without a queue)."""

    __tablename__ = "queue_score_days"
    __table_args__ = (
        Index("uq_queue_score_days_bucket", "day", "queue", unique=True, postgresql_nulls_not_distinct=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    queue: Mapped[str | None] = mapped_column(String(128))


class OfferDay(Base):
    """One settled UTC day of one agent's answered calls (completed agent legs) and how many of
    those calls reached a survey: the dashboard's survey-offer rate. Counted the first time a
    dashboard reads the day once it can no longer change (ivr.services.insight.rollups); the
    row without an agent marks the day as counted."""

    __tablename__ = "offer_days"
    __table_args__ = (
        Index("uq_offer_days_bucket", "day", "agent_id", unique=True, postgresql_nulls_not_distinct=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    answered: Mapped[int] = mapped_column(default=0)
    surveyed: Mapped[int] = mapped_column(default=0)
