"""Set up who gets callback tasks and feedback: supervisors, teams, agents."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ivr.models import Channel, FeedbackDelivery
from ivr.services.organisation import teams as organisation


@click.group(cls=AppGroup)
def supervisors() -> None:
    """Supervisors and their escalation chain."""


@supervisors.command("save")
@click.argument("name")
@click.option("--email")
@click.option("--phone", help="E.164, for SMS notifications.")
@click.option("--escalates-to", help="The supervisor who gets this one's overdue tasks ('' for none).")
def supervisors_save(name: str, email: str | None, phone: str | None, escalates_to: str | None) -> None:
    """Create supervisor NAME, or update the details given."""
    supervisor = organisation.save_supervisor(name, email, phone, escalates_to)
    nxt = supervisor.escalates_to.name if supervisor.escalates_to else "nobody"
    click.echo(f"supervisor {supervisor.name}: {supervisor.email}, {supervisor.phone}, escalates to {nxt}")


@click.group(cls=AppGroup)
def teams() -> None:
    """Teams: whose callback tasks go where, and through which channels."""


@teams.command("save")
@click.argument("name")
@click.option("--supervisor", help="Who gets the team's callback tasks ('' for the team's pool).")
@click.option("--channels", help=f"Comma-separated: {', '.join(Channel)}.")
@click.option("--email", help="The pool's address, used when no supervisor owns a task.")
@click.option("--phone", help="The pool's number, used when no supervisor owns a task.")
@click.option("--webhook-url", help="A CRM endpoint for signed JSON events.")
@click.option("--webhook-secret", help="The HMAC-SHA256 key the CRM checks signatures with.")
def teams_save(
    name: str,
    supervisor: str | None,
    channels: str | None,
    email: str | None,
    phone: str | None,
    webhook_url: str | None,
    webhook_secret: str | None,
) -> None:
    """Create team NAME, or update the details given."""
    channel_list = None if channels is None else [c.strip() for c in channels.split(",") if c.strip()]
    team = organisation.save_team(name, supervisor, channel_list, email, phone, webhook_url, webhook_secret)
    owner = team.supervisor.name if team.supervisor else "the team pool"
    click.echo(f"team {team.name}: tasks to {owner}, channels {', '.join(team.channels) or 'none'}")


@teams.command("list")
def teams_list() -> None:
    """Every team, its supervisor and channels."""
    rows = organisation.teams()
    if not rows:
        click.echo("No teams yet. Add one: flask teams save Support --supervisor 'Sam Lee' --channels email")
    for team in rows:
        owner = team.supervisor.name if team.supervisor else "(pool)"
        click.echo(f"{team.name:<24} {owner:<24} {', '.join(team.channels) or 'no channels'}")


@click.group(cls=AppGroup)
def agents() -> None:
    """Agents' teams and feedback preferences."""


@agents.command("save")
@click.argument("ref")
@click.option("--name", "display_name")
@click.option("--team", help="The team whose supervisor gets this agent's callback tasks ('' for none).")
@click.option("--email", help="Where the agent's feedback goes.")
@click.option(
    "--feedback",
    "feedback_delivery",
    type=click.Choice([d.value for d in FeedbackDelivery]),
    help="digest: praise and very low scores at once, the rest daily; immediate: everything at once.",
)
def agents_save(
    ref: str, display_name: str | None, team: str | None, email: str | None, feedback_delivery: str | None
) -> None:
    """Create agent REF (as the telephony platform names them), or update the details given."""
    agent = organisation.save_agent(ref, display_name, team, email, feedback_delivery)
    team_name = agent.team.name if agent.team else "no team"
    click.echo(f"agent {agent.ref}: {team_name}, feedback {agent.feedback_delivery.value} to {agent.email}")
