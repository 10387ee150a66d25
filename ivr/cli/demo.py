"""`flask demo seed`: the demo team for a laptop, built from the sample routing so they agree."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ivr.cli.demo_history import seed_history
from ivr.extensions import db
from ivr.models import Agent, Role
from ivr.services.conversation.routing_versions import current_routing
from ivr.services.errors import NotFound
from ivr.services.organisation import api_keys as api_key_service
from ivr.services.organisation import teams as organisation
from ivr.services.organisation import users
from ivr.settings import Environment, settings

# Display names for the agents callflows/routing/queues.yaml rings; any other agent there is
# seeded under its own reference.
DEMO_NAMES = {
    "client:alice": "Alice Martin",
    "client:bob": "Bob Okafor",
    "client:carol": "Carol Ruiz",
    "sip:dave@pbx.example.com": "Dave Volkov",
    "+15005550009": "Billing desk phone",
}


def demo_agents() -> dict[str, list[str]]:
    """Each queue of the routing (as team name) and the agents it rings, in order."""
    try:
        routing = current_routing()
    except NotFound:  # no routing: no front door, no demo agents to match
        return {}
    return {name.title(): list(queue.agents) for name, queue in routing.queues.items()}


@click.group(cls=AppGroup)
def demo() -> None:
    """Demo data for a laptop."""


# Who runs each demo team (the first team's supervisor also answers for escalations of the rest).
SUPERVISORS = ["Sam Supervisor", "Bea Boss"]
# A password for every demo user (development only; printed at start).
DEMO_PASSWORD = "demo-password-2026"


@demo.command("seed")
@click.option("--no-history", is_flag=True, help="Only the people and teams, no six weeks of demo calls.")
def demo_seed(no_history: bool) -> None:
    """Add the routing file's agents, one team per queue with its supervisor, a user for each
    role and six weeks of demo calls (safe to run again: nothing is added twice)."""
    teams = demo_agents()
    refs = [ref for agents in teams.values() for ref in agents]
    added = sum(db.session.scalar(select(Agent).filter_by(ref=ref)) is None for ref in refs)
    organisation.save_supervisor("Morgan Manager", email="morgan@example.com")
    for name in SUPERVISORS:
        email = name.split()[0].lower() + "@example.com"
        organisation.save_supervisor(name, email=email, escalates_to="Morgan Manager")
    for index, (team, agents) in enumerate(teams.items()):
        # No channels while the history is written: six weeks of old alerts would flood the inbox.
        organisation.save_team(
            team,
            supervisor=SUPERVISORS[index % len(SUPERVISORS)],
            channels=[],
            email=f"{team.lower()}-leads@example.com",
        )
        for ref in agents:
            organisation.save_agent(ref, display_name=DEMO_NAMES.get(ref, ref), team=team)
    click.echo(f"demo agents: {added} added, {len(refs) - added} already there")
    for team, agents in teams.items():
        click.echo(f"  team {team}: {', '.join(agents)} (as callflows/routing/queues.yaml rings them)")
    click.echo("callback tasks go to each team's supervisor, escalated to Morgan Manager, by e-mail")
    people = _demo_users(teams)
    if not no_history:
        ids = dict(db.session.execute(select(Agent.ref, Agent.id)).all())
        queues = [(ids[ref], team.lower()) for team, agents in teams.items() for ref in agents]
        closer = users.find("sam@example.com")
        written = seed_history(queues, closer)
        click.echo(
            f"demo history: {written} scored responses over six weeks"
            if written
            else "demo history: already there"
        )
    for team in teams:
        organisation.save_team(team, channels=["email"])
    click.echo("API key for this laptop (development only): " + api_key_service.DEV_API_KEY)
    if settings().ivr_env is Environment.development:
        click.echo(f"sign in at /login as any of these (password {DEMO_PASSWORD}):")
        for email, role in people:
            click.echo(f"  {email:<24} {role}")


def _demo_users(teams: dict[str, list[str]]) -> list[tuple[str, str]]:
    """A user for each role; agents for the first agent of each team. Development only."""
    if settings().ivr_env is not Environment.development:
        return []
    wanted: list[tuple[str, Role, str | None, str | None]] = [
        ("admin@example.com", Role.admin, None, None),
        ("analyst@example.com", Role.analyst, None, None),
    ]
    for name in SUPERVISORS[: len(teams)]:
        wanted.append((name.split()[0].lower() + "@example.com", Role.supervisor, None, name))
    for agents in teams.values():
        ref = agents[0]
        wanted.append((ref.split(":")[-1].split("@")[0].lstrip("+") + "@example.com", Role.agent, ref, None))
    for email, role, agent_ref, supervisor in wanted:
        if users.find(email) is None:
            display = DEMO_NAMES.get(agent_ref or "", supervisor)
            users.create_user(email, DEMO_PASSWORD, role, agent_ref, supervisor, display)
    return [(email, role.value) for email, role, _agent, _supervisor in wanted]
