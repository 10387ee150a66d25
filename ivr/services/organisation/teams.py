"""Who works where: supervisors and their escalation chain, teams, agents' contact details.

The command line saves by name (create, or update the details given); the admin pages also
edit a row by its id (renaming it) and refuse to create a name that is taken.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import func, select

from ivr.extensions import db
from ivr.models import Agent, Channel, FeedbackDelivery, Supervisor, Team
from ivr.models.texts import SurveyChannel
from ivr.services.errors import Conflict, Invalid, NotFound

R = TypeVar("R", Supervisor, Team, Agent)


def _supervisor(name: str, field: str = "supervisor") -> Supervisor:
    supervisor = db.session.scalar(select(Supervisor).filter_by(name=name))
    if supervisor is None:
        db.session.rollback()
        raise NotFound(f"there is no supervisor named {name!r}", field)
    return supervisor


def _team(name: str) -> Team:
    team = db.session.scalar(select(Team).filter_by(name=name))
    if team is None:
        db.session.rollback()
        raise NotFound(f"there is no team named {name!r}", "team")
    return team


def _row(model: type[R], key: str, value: str, row_id: int | None, new: bool, what: str) -> R:
    """The row to save: with row_id, that row (renamed to value); else the row named value, or
    a new one (new=True refuses a name that is taken)."""
    column: Any = getattr(model, key)
    existing = db.session.scalar(select(model).where(column == value))
    if row_id is not None:
        row = db.session.get(model, row_id)
        if row is None:
            db.session.rollback()
            raise NotFound(f"there is no {what} {row_id}")
        if existing is not None and existing is not row:
            db.session.rollback()
            raise Conflict(f"there is already a {what} {value!r}", key)
        setattr(row, key, value)
        return row
    if existing is not None:
        if new:
            db.session.rollback()
            raise Conflict(f"there is already a {what} {value!r}", key)
        return existing
    row = model(**{key: value})
    db.session.add(row)
    return row


def _set_given(row: object, **given: str | None) -> None:
    """Set each field given: None leaves it as it is, "" clears it."""
    for field, value in given.items():
        if value is not None:
            setattr(row, field, value or None)


def save_supervisor(
    name: str,
    email: str | None = None,
    phone: str | None = None,
    escalates_to: str | None = None,
    *,
    row_id: int | None = None,
    new: bool = False,
) -> Supervisor:
    """Create the supervisor or update the details given (with row_id: that one, renamed)."""
    supervisor = _row(Supervisor, "name", name, row_id, new, "supervisor")
    _set_given(supervisor, email=email, phone=phone)
    if escalates_to is not None:
        if escalates_to == name:
            db.session.rollback()
            raise Invalid("a supervisor cannot escalate to themselves", "escalates_to")
        supervisor.escalates_to = _supervisor(escalates_to, "escalates_to") if escalates_to else None
    db.session.commit()
    return supervisor


def save_team(
    name: str,
    supervisor: str | None = None,
    channels: list[str] | None = None,
    email: str | None = None,
    phone: str | None = None,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    follow_up_channel: str | None = None,
    *,
    row_id: int | None = None,
    new: bool = False,
) -> Team:
    team = _row(Team, "name", name, row_id, new, "team")
    if follow_up_channel is not None:
        if follow_up_channel not in set(SurveyChannel):
            db.session.rollback()
            raise Invalid("a follow-up goes by voice or by sms", "follow_up_channel")
        team.follow_up_channel = SurveyChannel(follow_up_channel)
    if team.channels is None:
        team.channels = []
    if supervisor is not None:
        team.supervisor = _supervisor(supervisor) if supervisor else None
    if channels is not None:
        unknown = [c for c in channels if c not in set(Channel)]
        if unknown:
            db.session.rollback()
            raise Invalid(f"unknown channel(s) {unknown}; choose from {', '.join(Channel)}", "channels")
        team.channels = list(dict.fromkeys(channels))
    _set_given(team, email=email, phone=phone, webhook_url=webhook_url, webhook_secret=webhook_secret)
    if Channel.webhook in team.channels and not (team.webhook_url and team.webhook_secret):
        db.session.rollback()
        raise Invalid(
            "the webhook channel needs a webhook URL and a webhook secret", "webhook_url", "webhook_secret"
        )
    db.session.commit()
    return team


def save_agent(
    ref: str,
    display_name: str | None = None,
    team: str | None = None,
    email: str | None = None,
    feedback_delivery: str | None = None,
    *,
    row_id: int | None = None,
    new: bool = False,
) -> Agent:
    agent = _row(Agent, "ref", ref, row_id, new, "agent")
    _set_given(agent, display_name=display_name, email=email)
    if team is not None:
        agent.team = _team(team) if team else None
    if feedback_delivery is not None:
        agent.feedback_delivery = FeedbackDelivery(feedback_delivery)
    db.session.commit()
    return agent


def teams(active_only: bool = False) -> list[Team]:
    query = select(Team).order_by(Team.name)
    return list(db.session.scalars(query.where(Team.active) if active_only else query))


def supervisors(active_only: bool = False) -> list[Supervisor]:
    query = select(Supervisor).order_by(Supervisor.name)
    return list(db.session.scalars(query.where(Supervisor.active) if active_only else query))


def agents(active_only: bool = False) -> list[Agent]:
    query = select(Agent).order_by(Agent.ref)
    return list(db.session.scalars(query.where(Agent.active) if active_only else query))


def set_active(row: Supervisor | Team | Agent, active: bool) -> None:
    """Deactivate (or reactivate) a row; history keeps its name. A team with active agents is
    refused (they would lose their supervisor's attention); a deactivated supervisor's new tasks
    go to the first active supervisor above them (callback_tasks.on_duty)."""
    if not active and isinstance(row, Team):
        members = db.session.scalar(
            select(func.count()).select_from(Agent).where(Agent.team_id == row.id, Agent.active)
        )
        if members:
            db.session.rollback()
            raise Conflict(
                f"team {row.name} still has {members} active agent{'s' if members != 1 else ''}; "
                "move them to another team first",
                "team",
            )
    row.active = active
    db.session.commit()


def get_supervisor(supervisor_id: int) -> Supervisor | None:
    return db.session.get(Supervisor, supervisor_id)


def get_team(team_id: int) -> Team | None:
    return db.session.get(Team, team_id)


def get_agent(agent_id: int) -> Agent | None:
    return db.session.get(Agent, agent_id)
