"""People who sign in: `flask users create | list | deactivate | reactivate`."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ivr.models import Role
from ivr.services.organisation import users as user_service


@click.group(cls=AppGroup)
def users() -> None:
    """Users who sign in to the web app, with their role."""


@users.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role if r is not Role.integrator]))
@click.option("--agent", "agent_ref", help="For --role agent: the agent's reference (e.g. client:ann).")
@click.option("--supervisor", "supervisor_name", help="For --role supervisor: the supervisor's name.")
@click.option("--name", "display_name", help="How the user is shown (default: the e-mail).")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help=f"At least {user_service.MIN_PASSWORD} characters; asked for when not given.",
)
def users_create(
    email: str,
    role: str,
    agent_ref: str | None,
    supervisor_name: str | None,
    display_name: str | None,
    password: str,
) -> None:
    """Create the user EMAIL with a role (and the agent or supervisor they are)."""
    user = user_service.create_user(email, password, Role(role), agent_ref, supervisor_name, display_name)
    click.echo(
        f"user {user.email}: {user.role.value}"
        + (f" ({agent_ref or supervisor_name})" if agent_ref or supervisor_name else "")
    )


@users.command("list")
def users_list() -> None:
    """Every user: e-mail, role, who they are, active or not, last sign-in."""
    rows = user_service.list_users()
    if not rows:
        click.echo("No users yet. Add one: flask users create you@example.com --role admin")
        return
    for user in rows:
        who = user.agent.ref if user.agent else user.supervisor.name if user.supervisor else "-"
        seen = f"{user.last_login_at:%Y-%m-%d %H:%M}" if user.last_login_at else "never"
        state = "active" if user.active else "deactivated"
        click.echo(f"{user.email:<32} {user.role.value:<11} {who:<24} {state:<12} last sign-in {seen}")


@users.command("deactivate")
@click.argument("email")
def users_deactivate(email: str) -> None:
    """Sign EMAIL out at their next request and refuse their sign-in from now on."""
    user = user_service.deactivate(email)
    click.echo(f"user {user.email} deactivated")


@users.command("reactivate")
@click.argument("email")
def users_reactivate(email: str) -> None:
    """Let EMAIL sign in again, with the role and password they had."""
    user = user_service.reactivate(email)
    click.echo(f"user {user.email} reactivated: {user.role.value}")
