"""Callback tasks: opened by scoring, claimed and closed by supervisors, escalated at deadline.

Every change is one transaction that also writes the task's history event and plans its
notifications; the caller enqueues the deliveries after the commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import selectinload

from ivr.extensions import db
from ivr.models import (
    Agent,
    Call,
    CallbackTask,
    CallbackTaskEvent,
    Notification,
    Score,
    Supervisor,
    SurveyResponse,
    TaskStatus,
    Team,
    User,
    as_utc,
    utcnow,
)
from ivr.outbox import Work, later
from ivr.services import policy
from ivr.services.closed_loop import notifications
from ivr.services.consent.privacy import number_hash
from ivr.services.errors import Conflict, Invalid, NotFound
from ivr.services.links import response_link, task_link
from ivr.services.policy import Principal
from ivr.settings import settings

AT_RISK_WINDOW = timedelta(days=30)
AT_RISK_EXTREME_LOWS = 2
OPEN_STATUSES = (TaskStatus.open, TaskStatus.claimed, TaskStatus.escalated)


@dataclass(frozen=True)
class Change:
    task_id: int
    notification_ids: list[int]


def open_for(response: SurveyResponse, score: Score, deadline_hours: int) -> CallbackTask | None:
    """Open the response's task in the caller's transaction; None when it already has one."""
    if db.session.scalar(select(CallbackTask.id).filter_by(response_id=response.id)) is not None:
        return None
    agent = response.agent
    team = agent.team if agent else None
    owner = on_duty(team.supervisor) if team else None
    start = response.ended_at or utcnow()
    caller = response.call.from_number
    task = CallbackTask(
        response_id=response.id,
        agent_id=response.agent_id,
        team_id=team.id if team else None,
        assignee_id=owner.id if owner else None,
        status=TaskStatus.open,
        escalation_level=0,
        due_at=start + timedelta(hours=deadline_hours),
        caller_number=caller,
        at_risk=caller is not None and _extreme_lows_from(caller, start) >= AT_RISK_EXTREME_LOWS,
    )
    task.events.append(CallbackTaskEvent(action="opened", detail=f"rule: {score.extreme_low_rule}"))
    db.session.add(task)
    db.session.flush()
    later(Work.escalate_task, task.id, at=task.due_at)  # the deadline, as a scheduled job
    notifications.plan_for_team(
        _message(task, "task_opened"), team, owner, f"task-{task.id}", task_id=task.id
    )
    return task


def _extreme_lows_from(caller: str, until: datetime) -> int:
    """The caller's extreme lows in the at-risk window, found by their number's (indexed) hash."""
    count = db.session.scalar(
        select(func.count(Score.id))
        .join(SurveyResponse, SurveyResponse.id == Score.response_id)
        .join(Call, Call.id == SurveyResponse.call_id)
        .where(
            Call.from_hash == number_hash(caller),
            Score.extreme_low.is_(True),
            Score.started_at >= until - AT_RISK_WINDOW,
        )
    )
    return int(count or 0)


def _message(task: CallbackTask, event: str) -> notifications.Message:
    response = task.response
    score = response.score
    agent = response.agent.ref if response.agent else "unknown agent"
    chain = [leg.agent.ref for leg in response.call.legs]
    answers = {a.step_key: a.number if a.number is not None else a.value for a in response.answers}
    due = task.due_at.strftime("%Y-%m-%d %H:%M UTC")
    headline = "ESCALATED: callback overdue" if event == "task_escalated" else "Callback needed"
    risk = " AT RISK of leaving (2+ very low scores in 30 days)." if task.at_risk else ""
    summary = ", ".join(f"{key} {value}" for key, value in answers.items())
    body = (
        f"{headline}: caller {task.caller_number or 'unknown number'} rated a call with {agent} "
        f"({summary}).{risk} Call back by {due}. Task {task.id}: {task_link(task.id)}"
    )
    payload = {
        "event": event,
        "task": {
            "id": task.id,
            "status": task.status.value,
            "escalation_level": task.escalation_level,
            "due_at": task.due_at.isoformat(),
            "at_risk": task.at_risk,
            "caller_number": task.caller_number,
            "url": task_link(task.id),
        },
        "response": {
            "id": response.id,
            "call_sid": response.call.call_sid,
            "queue": response.queue,
            "language": response.language,
            "answers": answers,
            "csat": score.csat if score else None,
            "nps": score.nps if score else None,
            "url": response_link(response.id),
        },
        "agent": agent,
        "agent_chain": chain,
    }
    return notifications.Message(event, f"{headline}: {agent}, task {task.id}", body, payload)


def _locked(task_id: int) -> CallbackTask:
    task = db.session.scalars(select(CallbackTask).filter_by(id=task_id).with_for_update()).one_or_none()
    if task is None:
        raise NotFound(f"there is no callback task {task_id}")
    return task


def _open(task_id: int) -> CallbackTask:
    """The task, locked, refusing one already done."""
    task = _locked(task_id)
    if task.status is TaskStatus.done:
        db.session.rollback()
        raise Conflict(f"task {task_id} is already done")
    return task


def claim(task_id: int, by: User) -> CallbackTask:
    """`by` calls the customer back: nobody else should (claiming it again is harmless)."""
    task = _open(task_id)
    if task.status is TaskStatus.claimed and task.claimed_by_id not in (None, by.id):
        holder = task.claimed_by.label if task.claimed_by else "someone else"
        db.session.rollback()
        raise Conflict(f"task {task_id} is already claimed by {holder}")
    task.status = TaskStatus.claimed
    task.claimed_by, task.claimed_at = by, utcnow()
    task.events.append(CallbackTaskEvent(action="claimed", actor=by))
    db.session.commit()
    return task


def add_note(task_id: int, by: User, text: str) -> CallbackTask:
    """A note in the task's history: what was tried, what the customer said."""
    note = text.strip()
    if not note:
        raise Invalid("write the note first", "note")
    task = _locked(task_id)
    task.events.append(CallbackTaskEvent(action="note", actor=by, detail=note[:5000]))
    db.session.commit()
    return task


def reassign(task_id: int, by: User, supervisor_id: int) -> CallbackTask:
    """Hand the task to another supervisor of its team (who owns it from now on)."""
    task = _open(task_id)
    supervisor = db.session.get(Supervisor, supervisor_id)
    if supervisor is None or (
        task.team is not None and supervisor.id not in team_supervisor_ids(task.team_id)
    ):
        db.session.rollback()
        raise Invalid("choose a supervisor of the task's team", "assignee")
    task.assignee = supervisor
    if task.status is TaskStatus.claimed:
        task.status, task.claimed_by, task.claimed_at = TaskStatus.open, None, None
    task.events.append(CallbackTaskEvent(action="reassigned", actor=by, detail=f"to {supervisor.name}"))
    db.session.commit()
    return task


def close(task_id: int, by: User, outcome: str, root_cause: str, notes: str | None = None) -> CallbackTask:
    """Done: what happened (outcome) and why the customer was unhappy (root cause), both from the
    configured lists; `notes` for the rest."""
    config = settings()
    missing = [
        field
        for field, value, allowed in (
            ("outcome", outcome, config.task_outcomes),
            ("root_cause", root_cause, config.task_root_causes),
        )
        if value not in allowed
    ]
    if missing:
        raise Invalid(
            f"choose an outcome ({', '.join(config.task_outcomes)}) and a root cause"
            f" ({', '.join(config.task_root_causes)})",
            *missing,
        )
    task = _open(task_id)
    task.status = TaskStatus.done
    task.outcome, task.root_cause, task.notes = outcome, root_cause, (notes or "").strip() or None
    task.closed_by, task.closed_at = by, utcnow()
    task.events.append(CallbackTaskEvent(action="done", actor=by, detail=f"{outcome} / {root_cause}"))
    from ivr.services.closed_loop import recovery  # it places outbound surveys, which need scoring

    recovery.plan_follow_up(task)
    db.session.commit()
    return task


def on_duty(supervisor: Supervisor | None) -> Supervisor | None:
    """This supervisor if active, else the first active one up their escalation chain; None
    (the team's pool) when there is nobody."""
    seen: set[int] = set()
    while supervisor is not None and supervisor.id not in seen:
        if supervisor.active:
            return supervisor
        seen.add(supervisor.id)
        supervisor = supervisor.escalates_to
    return None


def team_supervisor_ids(team_id: int | None) -> set[int]:
    """Who may own a team's tasks: its supervisor and those its supervisor escalates to."""
    team = db.session.get(Team, team_id) if team_id is not None else None
    if team is None or team.supervisor is None:
        return set()
    ids: set[int] = set()
    supervisor: Supervisor | None = team.supervisor
    while supervisor is not None and supervisor.id not in ids:
        ids.add(supervisor.id)
        supervisor = supervisor.escalates_to
    return ids


def escalate(task_id: int, now: datetime | None = None) -> Change | None:
    """Escalate a task still open at its deadline to the next level; None when there is nothing to do."""
    now = now or utcnow()
    task = db.session.scalars(select(CallbackTask).filter_by(id=task_id).with_for_update()).one_or_none()
    if task is None or task.status is not TaskStatus.open or as_utc(task.due_at) > now:
        db.session.rollback()
        return None
    team = task.team
    next_level: Supervisor | None
    if task.assignee is not None:
        next_level = on_duty(task.assignee.escalates_to) or on_duty(task.assignee)
    else:
        next_level = on_duty(team.supervisor) if team else None
    task.status = TaskStatus.escalated
    task.escalation_level += 1
    task.escalated_at = now
    task.assignee = next_level
    task.events.append(
        CallbackTaskEvent(
            action="escalated",
            detail=f"level {task.escalation_level}, to {next_level.name if next_level else 'the team pool'}",
        )
    )
    about = f"task-{task.id}-level-{task.escalation_level}"
    notifications.plan_for_team(_message(task, "task_escalated"), team, next_level, about, task_id=task.id)
    planned = notifications.take_planned()
    db.session.commit()
    return Change(task.id, planned)


def overdue_open(now: datetime | None = None) -> list[int]:
    ids = db.session.scalars(
        select(CallbackTask.id)
        .where(CallbackTask.status == TaskStatus.open, CallbackTask.due_at <= (now or utcnow()))
        .order_by(CallbackTask.id)
    ).all()
    db.session.rollback()
    return list(ids)


def find_tasks(
    principal: Principal,
    status: str | None = None,
    agent_ref: str | None = None,
    overdue: bool = False,
    limit: int = 100,
    now: datetime | None = None,
    team_id: int | None = None,
    still_open: bool = False,
) -> list[CallbackTask]:
    """The principal's tasks, soonest deadline (so the most overdue) first; `still_open`: only
    those not done yet (open, claimed, escalated)."""
    query = (
        select(CallbackTask)
        .options(
            selectinload(CallbackTask.agent),
            selectinload(CallbackTask.assignee),
            selectinload(CallbackTask.team),
            # The inbox shows the first words of each verbatim.
            selectinload(CallbackTask.response).selectinload(SurveyResponse.feedback_item),
        )
        .order_by(CallbackTask.due_at, CallbackTask.id)
        .limit(limit)
    )
    conditions = task_conditions(status, agent_ref, team_id, still_open, overdue, now)
    return list(db.session.scalars(policy.scope_tasks(principal, query.where(*conditions))))


def task_conditions(
    status: str | None = None,
    agent_ref: str | None = None,
    team_id: int | None = None,
    still_open: bool = False,
    overdue: bool = False,
    now: datetime | None = None,
) -> list[ColumnElement[bool]]:
    """The filters of a task list, for find_tasks and the inbox alike."""
    conditions: list[ColumnElement[bool]] = []
    if status:
        conditions.append(CallbackTask.status == TaskStatus(status))
    if agent_ref:
        conditions.append(CallbackTask.agent.has(Agent.ref == agent_ref))
    if team_id is not None:
        conditions.append(CallbackTask.team_id == team_id)
    if still_open or overdue:
        conditions.append(CallbackTask.status.in_(OPEN_STATUSES))
    if overdue:
        conditions.append(CallbackTask.due_at <= (now or utcnow()))
    return conditions


def get_task(principal: Principal, task_id: int) -> CallbackTask | None:
    """The task, if it exists and the principal may see it."""
    return db.session.scalar(
        policy.scope_tasks(principal, select(CallbackTask).where(CallbackTask.id == task_id))
    )


def task_notifications(task_id: int) -> list[Notification]:
    return list(db.session.scalars(select(Notification).filter_by(task_id=task_id).order_by(Notification.id)))
