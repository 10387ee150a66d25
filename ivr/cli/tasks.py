"""Callback tasks from the command line: list, show, claim, close."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup

from ivr.models import CallbackTask, TaskStatus, User, as_utc, utcnow
from ivr.services.closed_loop import callback_tasks
from ivr.services.errors import NotFound
from ivr.services.organisation import users
from ivr.services.policy import OPERATOR


def _due(task: CallbackTask, now: datetime) -> str:
    due = as_utc(task.due_at)
    if task.status is TaskStatus.done:
        return f"{due:%Y-%m-%d %H:%M}"
    hours = (due - now).total_seconds() / 3600
    left = f"overdue {-hours:.1f} h" if hours < 0 else f"in {hours:.1f} h"
    return f"{due:%Y-%m-%d %H:%M} ({left})"


@click.group(cls=AppGroup)
def tasks() -> None:
    """Callback tasks opened by extreme low scores."""


@tasks.command("list")
@click.option("--status", type=click.Choice([s.value for s in TaskStatus]))
@click.option("--agent", help="Only tasks about this agent (their ref).")
@click.option("--overdue", is_flag=True, help="Only tasks not done whose deadline has passed.")
@click.option("--limit", default=50, show_default=True)
def tasks_list(status: str | None, agent: str | None, overdue: bool, limit: int) -> None:
    """Tasks by deadline, soonest first."""
    now = utcnow()
    rows = callback_tasks.find_tasks(
        OPERATOR, status=status, agent_ref=agent, overdue=overdue, limit=limit, now=now
    )
    if not rows:
        click.echo("No callback tasks match." if (status or agent or overdue) else "No callback tasks yet.")
        return
    click.echo(f"{'id':>5}  {'status':<10} {'due (UTC)':<32} {'agent':<20} {'owner':<20} caller")
    for task in rows:
        owner = (
            task.assignee.name if task.assignee else task.claimed_by.label if task.claimed_by else "(pool)"
        )
        risk = "  AT RISK" if task.at_risk else ""
        agent_ref = task.agent.ref if task.agent else "-"
        click.echo(
            f"{task.id:>5}  {task.status.value:<10} {_due(task, now):<32} {agent_ref:<20} {owner:<20} "
            f"{task.caller_number or '-'}{risk}"
        )


@tasks.command("show")
@click.argument("task_id", type=int)
def tasks_show(task_id: int) -> None:
    """Everything about one task: the caller, the answers, the agent chain, its history."""
    task = callback_tasks.get_task(OPERATOR, task_id)
    if task is None:
        raise click.ClickException(f"there is no callback task {task_id}")
    response = task.response
    risk = "  (AT RISK: 2+ very low scores in 30 days)" if task.at_risk else ""
    chain = " -> ".join(leg.agent.ref for leg in response.call.legs) or "-"
    due = _due(task, utcnow())
    click.echo(f"Task {task.id}: {task.status.value}, level {task.escalation_level}, due {due}")
    click.echo(f"Caller:  {task.caller_number or 'unknown'}{risk}")
    click.echo(f"Agent:   {task.agent.ref if task.agent else 'unknown'}; chain: {chain}")
    click.echo(f"Call:    {response.call.call_sid} ({response.queue or 'no queue'}, {response.language})")
    for answer in response.answers:
        value = answer.number if answer.number is not None else answer.value
        shown = value if value is not None else f"({answer.status.value})"
        click.echo(f"  {answer.step_key:<20} {shown}")
    if task.outcome:
        click.echo(f"Outcome: {task.outcome}, root cause {task.root_cause or '-'}")
    if task.notes:
        click.echo(f"Notes:   {task.notes}")
    click.echo("History:")
    for event in task.events:
        who = f" by {event.actor.label}" if event.actor else ""
        detail = f": {event.detail}" if event.detail else ""
        click.echo(f"  {as_utc(event.at):%Y-%m-%d %H:%M} {event.action}{who}{detail}")
    for note in callback_tasks.task_notifications(task.id):
        error = f" ({note.last_error})" if note.last_error else ""
        click.echo(
            f"  notification {note.event} by {note.channel.value} to {note.recipient}: "
            f"{note.status.value}, {note.attempts} attempt(s){error}"
        )


def _user(email: str) -> User:
    user = users.find(email)
    if user is None or not user.active:
        raise NotFound(f"there is no active user {email} (see `flask users list`)")
    return user


@tasks.command("claim")
@click.argument("task_id", type=int)
@click.option("--by", "email", required=True, help="The e-mail of the user calling the customer back.")
def tasks_claim(task_id: int, email: str) -> None:
    """Take a task so that nobody else calls the same customer."""
    user = _user(email)
    task = callback_tasks.claim(task_id, user)
    click.echo(f"task {task.id} claimed by {user.label}; call {task.caller_number or 'the caller'} back")


@tasks.command("close")
@click.argument("task_id", type=int)
@click.option("--by", "email", required=True, help="The e-mail of the user who called back.")
@click.option("--outcome", required=True, help="One of TASK_OUTCOMES (resolved, apologised, ...).")
@click.option("--root-cause", required=True, help="One of TASK_ROOT_CAUSES (process, product, ...).")
@click.option("--notes")
def tasks_close(task_id: int, email: str, outcome: str, root_cause: str, notes: str | None) -> None:
    """Mark a task done, with what happened and why the customer was unhappy."""
    task = callback_tasks.close(task_id, _user(email), outcome, root_cause, notes)
    click.echo(f"task {task.id} done: {outcome}, root cause {root_cause}")
