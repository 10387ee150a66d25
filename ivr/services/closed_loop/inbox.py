"""What the supervisor's pages show of callback tasks: the inbox with its filters, one task to work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from ivr.extensions import db
from ivr.models import Agent, CallbackTask, FeedbackItem, Notification, Supervisor, TaskStatus, Team
from ivr.services import policy
from ivr.services.closed_loop import callback_tasks
from ivr.services.consent.privacy import mask
from ivr.services.policy import Principal
from ivr.settings import settings

# What the inbox can be filtered to: the statuses of a task not done yet.
INBOX_STATUSES = [status.value for status in callback_tasks.OPEN_STATUSES]


# The inbox shows the most urgent tasks first, a page at a time, up to MOST.
PAGE = 50
MOST = 500
# Enough of the verbatim for the inbox's first words (the task page shows all of it).
FIRST_WORDS = 200


@dataclass(frozen=True)
class InboxRow:
    """What the inbox shows of one task: only the columns it needs, read in one query."""

    id: int
    status: TaskStatus
    due_at: datetime
    at_risk: bool
    escalation_level: int
    agent_ref: str | None
    agent_name: str | None
    team_name: str | None
    assignee_name: str | None
    first_words: str | None


@dataclass(frozen=True)
class Inbox:
    rows: list[InboxRow]
    total: int  # open tasks matching the filters, shown or not
    limit: int

    @property
    def more(self) -> int | None:
        """How many to show to see the next page, or None when everything is shown."""
        return min(self.limit + PAGE, MOST) if self.total > len(self.rows) and self.limit < MOST else None

    @property
    def more_count(self) -> int:
        """How many more that next page adds."""
        return min(self.more or 0, self.total) - len(self.rows) if self.more else 0


def open_tasks(
    principal: Principal,
    status: str | None = None,
    team_id: int | None = None,
    agent_ref: str | None = None,
    limit: int = PAGE,
) -> Inbox:
    """The principal's tasks not done yet, overdue first, then the soonest deadline."""
    limit = max(PAGE, min(limit, MOST))
    conditions = callback_tasks.task_conditions(
        status=status if status in INBOX_STATUSES else None,
        agent_ref=agent_ref or None,
        team_id=team_id,
        still_open=True,
    )
    query = (
        select(
            CallbackTask.id,
            CallbackTask.status,
            CallbackTask.due_at,
            CallbackTask.at_risk,
            CallbackTask.escalation_level,
            Agent.ref,
            Agent.display_name,
            Team.name,
            Supervisor.name,
            func.substr(FeedbackItem.verbatim, 1, FIRST_WORDS),
        )
        .outerjoin(Agent, Agent.id == CallbackTask.agent_id)
        .outerjoin(Team, Team.id == CallbackTask.team_id)
        .outerjoin(Supervisor, Supervisor.id == CallbackTask.assignee_id)
        .outerjoin(FeedbackItem, FeedbackItem.response_id == CallbackTask.response_id)
        .where(*conditions)
        .order_by(CallbackTask.due_at, CallbackTask.id)
        .limit(limit)
    )
    rows = [InboxRow(*row) for row in db.session.execute(policy.scope_tasks(principal, query))]
    counted = select(func.count()).select_from(CallbackTask).where(*conditions)
    total = db.session.scalar(policy.scope_tasks(principal, counted)) or 0
    return Inbox(rows, total, limit)


@dataclass(frozen=True)
class FilterChoices:
    teams: list[Team]
    agents: list[Agent]


def filter_choices(principal: Principal) -> FilterChoices:
    """The teams and agents this principal may filter their inbox by."""
    teams = db.session.scalars(policy.scope_teams(principal, select(Team).order_by(Team.name)))
    agents = db.session.scalars(policy.scope_agents(principal, select(Agent).order_by(Agent.ref)))
    return FilterChoices(list(teams), list(agents))


@dataclass(frozen=True)
class TaskPage:
    task: CallbackTask
    notifications: list[Notification]
    # Who the task may be handed to: its team's supervisor and those above them.
    assignable: list[Supervisor]
    caller_number: str | None
    full_number: bool
    # The configured lists a task is closed with.
    outcomes: list[str]
    root_causes: list[str]

    @property
    def done(self) -> bool:
        return self.task.status is TaskStatus.done


def task_page(principal: Principal, task_id: int) -> TaskPage | None:
    """One task with everything needed to call the customer back; None when the principal may not
    see it (or there is no such task)."""
    task = callback_tasks.get_task(principal, task_id)
    if task is None:
        return None
    ids = callback_tasks.team_supervisor_ids(task.team_id)
    assignable = (
        list(
            db.session.scalars(
                select(Supervisor).where(Supervisor.id.in_(ids), Supervisor.active).order_by(Supervisor.name)
            )
        )
        if ids
        else []
    )
    full = policy.shows_full_number_on_task(principal)
    number = task.caller_number if full else mask(task.caller_number)
    config = settings()
    return TaskPage(
        task,
        callback_tasks.task_notifications(task.id),
        assignable,
        number,
        full,
        list(config.task_outcomes),
        list(config.task_root_causes),
    )
