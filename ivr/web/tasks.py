"""The supervisor's callback inbox and task pages: parse, call one service, render.

Which tasks a person may see is the policy's answer (through the services); every action first
asks it, so another team's task is a 404 whatever the method.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from ivr.models import User, as_utc
from ivr.services import policy
from ivr.services.closed_loop import callback_tasks, inbox
from ivr.services.closed_loop.inbox import TaskPage
from ivr.services.errors import Conflict, Invalid, NotFound
from ivr.services.policy import Principal
from ivr.web import bp
from ivr.web.forms import CloseForm, InboxFilterForm, NoteForm, ReassignForm
from ivr.web.sessions import principal

FILTERS = ("status", "team", "agent", "limit")
# What a close refused for a missing or unknown value says, next to the field.
CLOSE_REASONS = {
    "outcome": "Choose the outcome before closing the task.",
    "root_cause": "Choose the root cause before closing the task.",
}


def _who() -> Principal:
    who = principal()
    assert who is not None  # the policy lets only signed-in supervisors and admins here
    return who


def _me() -> User:
    user = current_user._get_current_object()
    assert isinstance(user, User)
    return user


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


# --- the inbox


def _inbox_query() -> dict[str, Any]:
    team = request.args.get("team", "")
    return {
        "status": request.args.get("status") or None,
        "team_id": int(team) if team.isdigit() else None,
        "agent_ref": request.args.get("agent") or None,
        "limit": request.args.get("limit", type=int) or inbox.PAGE,
    }


def _list_context(who: Principal) -> dict[str, Any]:
    chosen: dict[str, Any] = {name: request.args[name] for name in FILTERS if request.args.get(name)}
    shown = inbox.open_tasks(who, **_inbox_query())
    return {
        "inbox": shown,
        "rows": shown.rows,
        "filtered": bool(chosen.keys() - {"limit"}),
        "list_url": url_for("web.task_list", **chosen),
        "more_url": url_for("web.tasks", **(chosen | {"limit": shown.more})) if shown.more else None,
    }


@bp.get("/tasks")
def tasks() -> str:
    who = _who()
    form = InboxFilterForm(request.args)
    choices = inbox.filter_choices(who)
    form.status.choices = [("", "Any")] + [(s, s.capitalize()) for s in inbox.INBOX_STATUSES]
    form.team.choices = [("", "All teams")] + [(str(team.id), team.name) for team in choices.teams]
    form.agent.choices = [("", "All agents")] + [
        (agent.ref, agent.display_name or agent.ref) for agent in choices.agents
    ]
    return render_template("tasks.html", form=form, **_list_context(who))


@bp.get("/tasks/list")
def task_list() -> str:
    """The inbox's list alone: what htmx swaps in every few seconds."""
    return render_template("_task_list.html", **_list_context(_who()))


# --- one task


def _page(task_id: int) -> TaskPage:
    page = inbox.task_page(_who(), task_id)
    if page is None:
        abort(404)
    return page


def _render(
    page: TaskPage,
    note: NoteForm | None = None,
    reassign: ReassignForm | None = None,
    close: CloseForm | None = None,
) -> str:
    note = note or NoteForm(formdata=None)
    reassign = reassign or ReassignForm(formdata=None)
    close = close or CloseForm(formdata=None)
    _choices(page, reassign, close)
    return render_template("task.html", page=page, task=page.task, note=note, reassign=reassign, close=close)


def _choices(page: TaskPage, reassign: ReassignForm, close: CloseForm) -> None:
    reassign.assignee.choices = [(supervisor.id, supervisor.name) for supervisor in page.assignable]
    close.outcome.choices = [("", "Choose an outcome")] + [(o, _label(o)) for o in page.outcomes]
    close.root_cause.choices = [("", "Choose a root cause")] + [(c, _label(c)) for c in page.root_causes]


def _label(value: str) -> str:
    return value.replace("_", " ").capitalize()


def _back(task_id: int) -> Response:
    return redirect(url_for("web.task", task_id=task_id), 303)


@bp.get("/tasks/<int:task_id>")
def task(task_id: int) -> str:
    return _render(_page(task_id))


def _visible(task_id: int) -> None:
    if not policy.may_see_task(_who(), task_id):
        abort(404)


@bp.post("/tasks/<int:task_id>/claim")
def task_claim(task_id: int) -> Response:
    _visible(task_id)
    try:
        callback_tasks.claim(task_id, _me())
    except (Conflict, NotFound) as refused:
        flash(_sentence(refused.message))
    else:
        flash("You claimed this task: call the customer back.")
    return _back(task_id)


@bp.post("/tasks/<int:task_id>/note")
def task_note(task_id: int) -> Response | tuple[str, int]:
    page = _page(task_id)
    form = NoteForm()
    if form.validate_on_submit():
        try:
            callback_tasks.add_note(task_id, _me(), form.note.data or "")
        except Invalid as refused:
            form.note.errors.append(_sentence(refused.message))
        else:
            flash("Your note is in the history.")
            return _back(task_id)
    return _render(page, note=form), 422


@bp.post("/tasks/<int:task_id>/reassign")
def task_reassign(task_id: int) -> Response | tuple[str, int]:
    page = _page(task_id)
    form = ReassignForm()
    _choices(page, form, CloseForm(formdata=None))
    if form.validate_on_submit():
        try:
            task = callback_tasks.reassign(task_id, _me(), form.assignee.data)
        except Invalid as refused:
            form.assignee.errors.append(_sentence(refused.message))
        except Conflict as refused:
            flash(_sentence(refused.message))
            return _back(task_id)
        else:
            flash(f"Reassigned to {task.assignee.name if task.assignee else 'the team'}.")
            return _back(task_id)
    return _render(page, reassign=form), 422


@bp.post("/tasks/<int:task_id>/close")
def task_close(task_id: int) -> Response | tuple[str, int]:
    page = _page(task_id)
    form = CloseForm()
    _choices(page, ReassignForm(formdata=None), form)
    if form.validate_on_submit():
        try:
            callback_tasks.close(
                task_id, _me(), form.outcome.data or "", form.root_cause.data or "", form.notes.data
            )
        except Invalid as refused:
            for name in refused.fields:
                getattr(form, name).errors.append(CLOSE_REASONS.get(name, _sentence(refused.message)))
        except Conflict as refused:
            flash(_sentence(refused.message))
            return _back(task_id)
        else:
            flash("Task closed.")
            return _back(task_id)
    return _render(page, close=form), 422


# --- how times read


def _span(length: timedelta) -> str:
    minutes = int(length.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else "under a minute"


@bp.app_template_filter("time_left")
def time_left(due_at: datetime) -> str:
    """ "5 h 12 min left", or "overdue by 2 d 3 h"."""
    left = as_utc(due_at) - datetime.now(UTC)
    return f"overdue by {_span(-left)}" if left < timedelta(0) else f"{_span(left)} left"


@bp.app_template_test("overdue")
def overdue(due_at: datetime) -> bool:
    return as_utc(due_at) <= datetime.now(UTC)


@bp.app_template_filter("when")
def when(value: datetime | None) -> str:
    return as_utc(value).strftime("%d %b %Y, %H:%M UTC") if value else "—"
