"""`flask demo seed`: the demo team for a laptop, built from the sample routing so they agree."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ivr.extensions import db
from ivr.models import Agent
from ivr.services.conversation.front_door import front_door
from ivr.services.organisation import api_keys as api_key_service
from ivr.services.organisation import teams as organisation

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
    """Each queue of the routing file (as team name) and the agents it rings, in order."""
    try:
        routing = front_door().routing
    except Exception:  # no routing file: no front door, no demo agents to match
        return {}
    return {name.title(): list(queue.agents) for name, queue in routing.queues.items()}


@click.group(cls=AppGroup)
def demo() -> None:
    """Demo data for a laptop."""


@demo.command("seed")
def demo_seed() -> None:
    """Add the routing file's agents, one team per queue and their supervisors (safe to run again)."""
    teams = demo_agents()
    refs = [ref for agents in teams.values() for ref in agents]
    added = sum(db.session.scalar(select(Agent).filter_by(ref=ref)) is None for ref in refs)
    organisation.save_supervisor("Morgan Manager", email="morgan@example.com")
    organisation.save_supervisor("Sam Supervisor", email="sam@example.com", escalates_to="Morgan Manager")
    for team, agents in teams.items():
        organisation.save_team(
            team, supervisor="Sam Supervisor", channels=["email"], email=f"{team.lower()}-leads@example.com"
        )
        for ref in agents:
            organisation.save_agent(ref, display_name=DEMO_NAMES.get(ref, ref), team=team)
    click.echo(f"demo agents: {added} added, {len(refs) - added} already there")
    for team, agents in teams.items():
        click.echo(f"  team {team}: {', '.join(agents)} (as callflows/routing/queues.yaml rings them)")
    click.echo("callback tasks go to Sam Supervisor, escalated to Morgan Manager, by e-mail")
    click.echo("API key for this laptop (development only): " + api_key_service.DEV_API_KEY)
