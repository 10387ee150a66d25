"""Callback tasks: a supervisor calls back the customer behind an extreme low score."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import Enum, ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ivr.models.base import Base, Timestamp, utcnow

if TYPE_CHECKING:
    from ivr.models.agents import Agent
    from ivr.models.surveys import SurveyResponse
    from ivr.models.teams import Supervisor, Team
    from ivr.models.users import User


class TaskStatus(StrEnum):
    open = "open"
    claimed = "claimed"
    escalated = "escalated"  # left open past its deadline and handed to the next level
    done = "done"


class TaskOutcome(StrEnum):
    """The default TASK_OUTCOMES."""

    resolved = "resolved"
    apologised = "apologised"
    compensated = "compensated"
    unreachable = "unreachable"
    declined = "declined"  # the customer did not want to talk


class RootCause(StrEnum):
    """The default TASK_ROOT_CAUSES."""

    agent_behaviour = "agent_behaviour"
    agent_knowledge = "agent_knowledge"
    process = "process"
    product = "product"
    policy = "policy"
    billing = "billing"
    technical = "technical"
    wait_time = "wait_time"
    other = "other"


class CallbackTask(Base):
    __tablename__ = "callback_tasks"
    __table_args__ = (Index("ix_callback_tasks_status_due_at", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Exactly one task per response, however often the scoring job runs.
    response_id: Mapped[int] = mapped_column(
        ForeignKey("survey_responses.id", ondelete="CASCADE"), unique=True
    )
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    # None: the team's pool.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("supervisors.id"))
    status: Mapped[TaskStatus] = mapped_column(
        Enum(TaskStatus, native_enum=False, length=16), default=TaskStatus.open
    )
    escalation_level: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[Timestamp]
    caller_number: Mapped[str | None] = mapped_column(String(64))
    # Two or more extreme lows from this caller in 30 days.
    at_risk: Mapped[bool] = mapped_column(default=False)
    # At risk, followed up after the callback, and still not satisfied: sent to the CRM webhook.
    likely_to_leave: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The people who claimed and closed it (users); None: nobody yet, or done from before users.
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[Timestamp | None]
    escalated_at: Mapped[Timestamp | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[Timestamp | None]
    # One of TASK_OUTCOMES and TASK_ROOT_CAUSES (configurable lists; the enums below are their
    # defaults); what else the supervisor has to say goes in the notes.
    outcome: Mapped[str | None] = mapped_column(String(64))
    root_cause: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    response: Mapped[SurveyResponse] = relationship(back_populates="callback_task")
    agent: Mapped[Agent | None] = relationship()
    team: Mapped[Team | None] = relationship()
    assignee: Mapped[Supervisor | None] = relationship()
    claimed_by: Mapped[User | None] = relationship(foreign_keys=[claimed_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    events: Mapped[list[CallbackTaskEvent]] = relationship(
        back_populates="task", order_by="CallbackTaskEvent.id", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<CallbackTask {self.id} {self.status}>"


class CallbackTaskEvent(Base):
    """The task's history: opened, claimed, escalated, closed, by whom and when."""

    __tablename__ = "callback_task_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("callback_tasks.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    # Who acted: a user, or (for the scheduler's and scoring's events) nobody.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[Timestamp] = mapped_column(default=utcnow)

    task: Mapped[CallbackTask] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()
