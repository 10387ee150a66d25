"""Admin pages: who signs in (users) and who works where (supervisors, teams, agents).

Views stay thin: the organisation services validate and commit, and a domain error is shown next
to the field it names (above the form when it names none). Post, then redirect, then get.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from ivr.models import Agent, Role, Supervisor, Team
from ivr.services.errors import DomainError
from ivr.services.organisation import teams as organisation
from ivr.services.organisation import users
from ivr.web import bp
from ivr.web.forms import AgentForm, SupervisorForm, TeamForm, UserEditForm, UserForm
from ivr.web.sessions import principal

Page = str | Response


def _refused(form: Any, exc: DomainError) -> None:
    """Put the service's reason next to each field it names, or above the form."""
    message = exc.message[:1].upper() + exc.message[1:] + "."
    named = [form[name] for name in exc.fields if name in form]
    for field in named:
        field.errors.append(message)
    if not named:
        form.form_errors.append(message)


def _text(field: Any) -> str:
    return str(field.data or "").strip()


def _form_page(form: Any, title: str, back: str, submit: str) -> str:
    return render_template("admin_form.html", form=form, title=title, back=url_for(back), submit=submit)


# --- users


@bp.get("/admin/users")
def admin_users() -> str:
    return render_template("admin_users.html", users=users.list_users())


@bp.route("/admin/users/new", methods=["GET", "POST"])
def admin_user_create() -> Page:
    form = UserForm()
    if form.validate_on_submit():
        try:
            user = users.create_user(
                form.email.data,
                form.password.data,
                Role(form.role.data),
                agent_ref=_text(form.agent) or None,
                supervisor_name=_text(form.supervisor) or None,
                display_name=_text(form.display_name) or None,
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            flash(f"{user.email} can now sign in as {user.role.value}.")
            return redirect(url_for("web.admin_users"), 303)
    return _form_page(form, "New user", "web.admin_users", "Create user")


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
def admin_user_edit(user_id: int) -> Page:
    user = users.get(user_id) or abort(404)
    form = UserEditForm(
        data={
            "display_name": user.display_name,
            "role": user.role.value,
            "agent": user.agent.ref if user.agent else "",
            "supervisor": user.supervisor.name if user.supervisor else "",
        }
    )
    if form.validate_on_submit():
        try:
            users.update_user(
                user.id,
                Role(form.role.data),
                agent_ref=_text(form.agent) or None,
                supervisor_name=_text(form.supervisor) or None,
                display_name=_text(form.display_name) or None,
                password=form.password.data or None,
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            flash(f"{user.email} is saved.")
            return redirect(url_for("web.admin_users"), 303)
    return _form_page(form, f"User {user.email}", "web.admin_users", "Save user")


@bp.post("/admin/users/<int:user_id>/deactivate")
def admin_user_deactivate(user_id: int) -> Response:
    user = users.get(user_id) or abort(404)
    who = principal()
    if who is not None and who.user_id == user.id:
        flash("You cannot deactivate yourself; another admin can.")
        return redirect(url_for("web.admin_users"), 303)
    try:
        users.deactivate(user.email)
    except DomainError as exc:
        flash(exc.message[:1].upper() + exc.message[1:] + ".")
    else:
        flash(f"{user.email} is deactivated and signed out.")
    return redirect(url_for("web.admin_users"), 303)


@bp.post("/admin/users/<int:user_id>/reactivate")
def admin_user_reactivate(user_id: int) -> Response:
    user = users.get(user_id) or abort(404)
    users.reactivate(user.email)
    flash(f"{user.email} can sign in again.")
    return redirect(url_for("web.admin_users"), 303)


# --- supervisors


@bp.get("/admin/supervisors")
def admin_supervisors() -> str:
    return render_template("admin_supervisors.html", supervisors=organisation.supervisors())


@bp.route("/admin/supervisors/new", methods=["GET", "POST"])
def admin_supervisor_create() -> Page:
    return _supervisor_page(None)


@bp.route("/admin/supervisors/<int:supervisor_id>", methods=["GET", "POST"])
def admin_supervisor_edit(supervisor_id: int) -> Page:
    return _supervisor_page(organisation.get_supervisor(supervisor_id) or abort(404))


def _supervisor_page(supervisor: Supervisor | None) -> Page:
    form = SupervisorForm(
        data=supervisor
        and {
            "name": supervisor.name,
            "email": supervisor.email,
            "phone": supervisor.phone,
            "escalates_to": supervisor.escalates_to.name if supervisor.escalates_to else "",
        }
    )
    current = supervisor.escalates_to.name if supervisor and supervisor.escalates_to else None
    others = [
        s.name for s in organisation.supervisors() if s is not supervisor and (s.active or s.name == current)
    ]
    form.escalates_to.choices = [SelectChoice("", "Nobody"), *(SelectChoice(name) for name in others)]
    if form.validate_on_submit():
        try:
            saved = organisation.save_supervisor(
                _text(form.name),
                email=_text(form.email),
                phone=_text(form.phone),
                escalates_to=form.escalates_to.data,
                row_id=supervisor.id if supervisor else None,
                new=supervisor is None,
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            flash(f"Supervisor {saved.name} is saved.")
            return redirect(url_for("web.admin_supervisors"), 303)
    title = f"Supervisor {supervisor.name}" if supervisor else "New supervisor"
    return _form_page(form, title, "web.admin_supervisors", "Save supervisor")


# --- teams


@bp.get("/admin/teams")
def admin_teams() -> str:
    return render_template("admin_teams.html", teams=organisation.teams())


@bp.route("/admin/teams/new", methods=["GET", "POST"])
def admin_team_create() -> Page:
    return _team_page(None)


@bp.route("/admin/teams/<int:team_id>", methods=["GET", "POST"])
def admin_team_edit(team_id: int) -> Page:
    return _team_page(organisation.get_team(team_id) or abort(404))


def _team_page(team: Team | None) -> Page:
    form = TeamForm(
        data=team
        and {
            "name": team.name,
            "supervisor": team.supervisor.name if team.supervisor else "",
            "channels": list(team.channels or []),
            "email": team.email,
            "phone": team.phone,
            "webhook_url": team.webhook_url,
            "follow_up_channel": team.follow_up_channel.value if team.follow_up_channel else "voice",
        }
    )
    current = team.supervisor.name if team and team.supervisor else None
    form.supervisor.choices = [
        SelectChoice("", "Nobody: the team's pool"),
        *(SelectChoice(s.name) for s in organisation.supervisors() if s.active or s.name == current),
    ]
    if team is not None and team.webhook_secret:
        form.webhook_secret.description = "A secret is set. Leave this empty to keep it."
    if form.validate_on_submit():
        try:
            saved = organisation.save_team(
                _text(form.name),
                supervisor=form.supervisor.data,
                channels=list(form.channels.data or []),
                email=_text(form.email),
                phone=_text(form.phone),
                webhook_url=_text(form.webhook_url),
                # Secrets are never shown again: empty keeps the one set.
                webhook_secret=form.webhook_secret.data or None,
                follow_up_channel=form.follow_up_channel.data,
                row_id=team.id if team else None,
                new=team is None,
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            flash(f"Team {saved.name} is saved.")
            return redirect(url_for("web.admin_teams"), 303)
    title = f"Team {team.name}" if team else "New team"
    return _form_page(form, title, "web.admin_teams", "Save team")


# --- agents


@bp.get("/admin/agents")
def admin_agents() -> str:
    return render_template("admin_agents.html", agents=organisation.agents())


@bp.route("/admin/agents/new", methods=["GET", "POST"])
def admin_agent_create() -> Page:
    return _agent_page(None)


@bp.route("/admin/agents/<int:agent_id>", methods=["GET", "POST"])
def admin_agent_edit(agent_id: int) -> Page:
    return _agent_page(organisation.get_agent(agent_id) or abort(404))


def _agent_page(agent: Agent | None) -> Page:
    form = AgentForm(
        data=agent
        and {
            "ref": agent.ref,
            "display_name": agent.display_name,
            "team": agent.team.name if agent.team else "",
            "email": agent.email,
            "feedback_delivery": agent.feedback_delivery.value,
        }
    )
    current = agent.team.name if agent and agent.team else None
    form.team.choices = [
        SelectChoice("", "No team"),
        *(SelectChoice(t.name) for t in organisation.teams() if t.active or t.name == current),
    ]
    if form.validate_on_submit():
        try:
            saved = organisation.save_agent(
                _text(form.ref),
                display_name=_text(form.display_name),
                team=form.team.data,
                email=_text(form.email),
                feedback_delivery=form.feedback_delivery.data,
                row_id=agent.id if agent else None,
                new=agent is None,
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            flash(f"Agent {saved.ref} is saved.")
            return redirect(url_for("web.admin_agents"), 303)
    title = f"Agent {agent.ref}" if agent else "New agent"
    return _form_page(form, title, "web.admin_agents", "Save agent")


# --- deactivating supervisors, teams and agents (kept, with their history)

_ROWS = {
    "supervisors": (organisation.get_supervisor, "Supervisor", "name"),
    "teams": (organisation.get_team, "Team", "name"),
    "agents": (organisation.get_agent, "Agent", "ref"),
}


@bp.post("/admin/<any(supervisors, teams, agents):kind>/<int:row_id>/<any(deactivate, reactivate):action>")
def admin_set_active(kind: str, row_id: int, action: str) -> Response:
    get, what, key = _ROWS[kind]
    row = get(row_id) or abort(404)
    try:
        organisation.set_active(row, action == "reactivate")
    except DomainError as exc:
        flash(exc.message[:1].upper() + exc.message[1:] + ".")
    else:
        flash(f"{what} {getattr(row, key)} is {'active again' if row.active else 'deactivated'}.")
    return redirect(url_for(f"web.admin_{kind}"), 303)
