"""What the supervisor's pages show of callback tasks: the inbox with its filters, one task to work."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ivr.extensions import db
from ivr.models import Agent, CallbackTask, Notification, Supervisor, TaskStatus, Team
from ivr.services import policy
from ivr.services.closed_loop import callback_tasks
from ivr.services.consent.privacy import mask
from ivr.services.policy import Principal
from ivr.settings import settings

# What the inbox can be filtered to: the statuses of a task not done yet.
INBOX_STATUSES = [status.value for status in callback_tasks.OPEN_STATUSES]


def open_tasks(
    principal: Principal, status: str | None = None, team_id: int | None = None, agent_ref: str | None = None
) -> list[CallbackTask]:
    """The principal's tasks not done yet, overdue first, then the soonest deadline."""
    return callback_tasks.find_tasks(
        principal,
        status=status if status in INBOX_STATUSES else None,
        team_id=team_id,
        agent_ref=agent_ref or None,
        still_open=True,
        limit=500,
    )


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
        list(db.session.scalars(select(Supervisor).where(Supervisor.id.in_(ids)).order_by(Supervisor.name)))
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
