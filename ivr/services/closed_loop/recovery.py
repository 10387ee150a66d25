"""Proving recovery: after a callback task is closed as done, the caller is asked again whether
the callback won them back (callflows/follow-up.yaml), by call or by text as their team says;
the answer is linked to the task. A caller who was at risk and is still not satisfied is flagged
"likely to leave" and sent to the team's CRM webhook.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from ivr.extensions import db
from ivr.models import (
    CallbackTask,
    CallbackTaskEvent,
    Channel,
    OutboundSurvey,
    Score,
    Supervisor,
    SurveyResponse,
    Team,
)
from ivr.models.texts import SurveyChannel
from ivr.services import policy
from ivr.services.call_control import outbound
from ivr.services.closed_loop import notifications
from ivr.services.conversation import front_door
from ivr.services.errors import DomainError
from ivr.services.links import task_link
from ivr.services.policy import Principal
from ivr.settings import settings

SATISFIED = 4  # "now satisfied": CSAT 4-5 on the follow-up


def plan_follow_up(task: CallbackTask) -> OutboundSurvey | None:
    """In the transaction that closes the task: the caller's follow-up survey, due after
    FOLLOW_UP_DELAY_HOURS, or an event on the task saying why there is none."""
    config = settings()
    if task.outcome not in config.follow_up_outcomes:
        return None
    response = task.response
    if not task.caller_number:
        task.events.append(
            CallbackTaskEvent(action="no follow-up", detail="the caller's number is not known")
        )
        return None
    channel = (
        task.team.follow_up_channel if task.team and task.team.follow_up_channel else SurveyChannel.voice
    )
    request = outbound.OutboundRequest(
        to=task.caller_number,
        original_call_sid=response.call.call_sid,
        # Neither agent nor queue: the answer is about the callback, not the agent's call, so it
        # stays out of their numbers (it is found through its task and its flow).
        flow_id=config.follow_up_flow,
        language=response.language,
        time_zone=_time_zone(response.queue),
        requested_by=f"follow-up of callback task {task.id}",
        channel=channel,
        delay=timedelta(hours=config.follow_up_delay_hours),
    )
    try:
        row = outbound.schedule(request)
    except DomainError as exc:
        task.events.append(CallbackTaskEvent(action="no follow-up", detail=exc.message[:500]))
        return None
    row.task_id = task.id
    due = f"{row.call_at:%d %b %H:%M} UTC" if row.call_at else "now"
    task.events.append(CallbackTaskEvent(action="follow-up planned", detail=f"by {channel.value}, {due}"))
    return row


def _time_zone(queue_name: str | None) -> str | None:
    """The queue's time zone from the routing file, for the caller's quiet hours."""
    if not queue_name:
        return None
    try:
        queue, _, _ = front_door.queue_named(queue_name)
    except DomainError:
        return None
    return queue.time_zone


def after_scoring(response: SurveyResponse, score: Score) -> None:
    """In the scoring transaction: a follow-up's answer goes on its task's history; a caller at
    risk who is still not satisfied is flagged likely to leave and sent to the CRM webhook.
    Scoring the same response again changes nothing."""
    row = db.session.scalar(
        select(OutboundSurvey).where(
            OutboundSurvey.task_id.is_not(None),
            or_(
                OutboundSurvey.response_id == response.id,
                and_(
                    OutboundSurvey.call_sid.is_not(None), OutboundSurvey.call_sid == response.survey_call_sid
                ),
            ),
        )
    )
    if row is None or row.task_id is None:
        return
    task = db.session.get(CallbackTask, row.task_id)
    assert task is not None
    if any(event.action == "followed up" for event in task.events):
        return
    now_satisfied = score.csat is not None and score.csat >= SATISFIED
    said = f"satisfied now: {score.csat if score.csat is not None else 'no answer'}"
    task.events.append(CallbackTaskEvent(action="followed up", detail=said))
    if task.at_risk and not now_satisfied:
        task.likely_to_leave = True
        task.events.append(CallbackTaskEvent(action="likely to leave", detail="at risk, and not won back"))
        team = task.team
        if team is not None and Channel.webhook in (team.channels or []) and team.webhook_url:
            payload: dict[str, Any] = {
                "event": "likely_to_leave",
                "task": task.id,
                "response": task.response_id,
                "follow_up_response": response.id,
                "csat_now": score.csat,
                "link": task_link(task.id),
            }
            message = notifications.Message(
                "likely_to_leave",
                "A caller is likely to leave",
                f"The caller of task {task.id} was at risk and is still not satisfied after the callback.",
                payload,
            )
            notifications.plan(
                message,
                Channel.webhook,
                team.webhook_url,
                f"likely-to-leave-{task.id}",
                secret=team.webhook_secret,
                task_id=task.id,
            )


# --- the recovery rate


@dataclass(frozen=True)
class RecoveryRow:
    label: str
    followed_up: int  # tasks whose caller was sent a follow-up
    answered: int  # ... and answered it
    recovered: int  # ... and is now satisfied (4-5)

    @property
    def rate(self) -> float | None:
        """Among followed-up callers who answered, the share now satisfied."""
        return self.recovered / self.answered if self.answered else None


@dataclass(frozen=True)
class Recovery:
    total: RecoveryRow
    by_team: list[RecoveryRow]
    by_supervisor: list[RecoveryRow]
    by_root_cause: list[RecoveryRow]
    by_outcome: list[RecoveryRow]


def recovery(principal: Principal, start: datetime, end: datetime, team_id: int | None = None) -> Recovery:
    """Tasks closed in [start, end) that the principal may see, with their follow-ups."""
    answered = Score.csat.is_not(None)
    columns = [
        func.count(OutboundSurvey.id),
        func.coalesce(func.sum(case((answered, 1), else_=0)), 0),
        func.coalesce(func.sum(case((Score.csat >= SATISFIED, 1), else_=0)), 0),
    ]

    def grouped(label: Any, *joins: Any) -> list[RecoveryRow]:
        query: Any = (
            select(label, *columns)
            .select_from(CallbackTask)
            .join(OutboundSurvey, OutboundSurvey.task_id == CallbackTask.id)
            .outerjoin(
                SurveyResponse,
                or_(
                    SurveyResponse.id == OutboundSurvey.response_id,
                    and_(
                        OutboundSurvey.call_sid.is_not(None),
                        SurveyResponse.survey_call_sid == OutboundSurvey.call_sid,
                    ),
                ),
            )
            .outerjoin(Score, Score.response_id == SurveyResponse.id)
        )
        for table, on in joins:
            query = query.outerjoin(table, on)
        query = query.where(CallbackTask.closed_at >= start, CallbackTask.closed_at < end)
        if team_id is not None:
            query = query.where(CallbackTask.team_id == team_id)
        query = policy.scope_tasks(principal, query).group_by(label).order_by(label)
        return [
            RecoveryRow(str(name) if name is not None else "—", int(n), int(a), int(r))
            for name, n, a, r in db.session.execute(query)
        ]

    teams = grouped(Team.name, (Team, Team.id == CallbackTask.team_id))
    total = RecoveryRow(
        "All",
        sum(r.followed_up for r in teams),
        sum(r.answered for r in teams),
        sum(r.recovered for r in teams),
    )
    return Recovery(
        total=total,
        by_team=teams,
        by_supervisor=grouped(Supervisor.name, (Supervisor, Supervisor.id == CallbackTask.assignee_id)),
        by_root_cause=grouped(CallbackTask.root_cause),
        by_outcome=grouped(CallbackTask.outcome),
    )
