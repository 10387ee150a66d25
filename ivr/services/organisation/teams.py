"""Who works where: supervisors and their escalation chain, teams, agents' contact details."""

from __future__ import annotations

from sqlalchemy import select

from ivr.extensions import db
from ivr.models import Agent, Channel, FeedbackDelivery, Supervisor, Team
from ivr.services.errors import Invalid, NotFound


def _supervisor(name: str) -> Supervisor:
    supervisor = db.session.scalar(select(Supervisor).filter_by(name=name))
    if supervisor is None:
        db.session.rollback()
        raise NotFound(f"there is no supervisor named {name!r}")
    return supervisor


def _team(name: str) -> Team:
    team = db.session.scalar(select(Team).filter_by(name=name))
    if team is None:
        db.session.rollback()
        raise NotFound(f"there is no team named {name!r}")
    return team


def _set_given(row: object, **given: str | None) -> None:
    """Set each field given: None leaves it as it is, "" clears it."""
    for field, value in given.items():
        if value is not None:
            setattr(row, field, value or None)


def save_supervisor(
    name: str, email: str | None = None, phone: str | None = None, escalates_to: str | None = None
) -> Supervisor:
    """Create the supervisor or update the details given."""
    supervisor = db.session.scalar(select(Supervisor).filter_by(name=name))
    if supervisor is None:
        supervisor = Supervisor(name=name)
        db.session.add(supervisor)
    _set_given(supervisor, email=email, phone=phone)
    if escalates_to is not None:
        if escalates_to == name:
            db.session.rollback()
            raise Invalid("a supervisor cannot escalate to themselves")
        supervisor.escalates_to = _supervisor(escalates_to) if escalates_to else None
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
) -> Team:
    team = db.session.scalar(select(Team).filter_by(name=name))
    if team is None:
        team = Team(name=name, channels=[])
        db.session.add(team)
    if supervisor is not None:
        team.supervisor = _supervisor(supervisor) if supervisor else None
    if channels is not None:
        unknown = [c for c in channels if c not in set(Channel)]
        if unknown:
            db.session.rollback()
            raise Invalid(f"unknown channel(s) {unknown}; choose from {', '.join(Channel)}")
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
) -> Agent:
    agent = db.session.scalar(select(Agent).filter_by(ref=ref))
    if agent is None:
        agent = Agent(ref=ref)
        db.session.add(agent)
    _set_given(agent, display_name=display_name, email=email)
    if team is not None:
        agent.team = _team(team) if team else None
    if feedback_delivery is not None:
        agent.feedback_delivery = FeedbackDelivery(feedback_delivery)
    db.session.commit()
    return agent


def teams() -> list[Team]:
    return list(db.session.scalars(select(Team).order_by(Team.name)))
