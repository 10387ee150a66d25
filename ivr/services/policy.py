"""Who may see and do what: the one authorization policy, for the web pages and the API alike.

A Principal is a signed-in person or an API key, with its roles and what it is (an agent, a
supervisor). Two questions are answered here and nowhere else:

- may this principal use this route at all? (`ROUTES`, checked before every page and API view;
  a route with no rule is refused, and a test walks every route with every role);
- which rows may it see? (`scope_*` add the conditions to a query; views never filter by role).

Agents see only their own responses, feedback and recordings, never caller numbers; supervisors
their teams (and tasks escalated to them); analysts every team, numbers masked; admins
everything, full numbers only on callback tasks; integrators (keys) the call-control endpoints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, false, or_, select, true

from ivr.extensions import db
from ivr.models import (
    Agent,
    AgentLeg,
    AgentScoreDay,
    ApiKey,
    CallbackTask,
    FeedbackItem,
    OfferDay,
    Role,
    Score,
    Supervisor,
    SurveyResponse,
    Team,
    User,
)

Q = TypeVar("Q", bound=Select[Any])


@dataclass(frozen=True)
class Principal:
    """Who is asking: a person (user_id) or an API key (key_id)."""

    roles: frozenset[Role]
    label: str
    user_id: int | None = None
    key_id: int | None = None
    agent_id: int | None = None
    supervisor_id: int | None = None
    # The teams a supervisor answers for (their own, and those whose supervisors escalate to them).
    team_ids: frozenset[int] = field(default_factory=frozenset)

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    def has_only(self, *roles: Role) -> bool:
        """No role beyond these (an agent who is nothing else never sees a caller's number)."""
        return bool(self.roles) and self.roles <= set(roles)

    @property
    def sees_everything(self) -> bool:
        return self.has(Role.admin, Role.analyst)

    @property
    def home(self) -> str:
        """The endpoint of this principal's home page."""
        if self.has(Role.admin):
            return "web.admin_users"
        if self.has(Role.supervisor):
            return "web.tasks"
        if self.has(Role.analyst):
            return "web.responses"
        return "web.agent_home"


# The command line runs on the server, as whoever can read its settings: it sees everything.
OPERATOR = Principal(frozenset({Role.admin}), "the command line")


def for_user(user: User) -> Principal:
    return _principal(frozenset({user.role}), user.label, user.agent_id, user.supervisor_id, user_id=user.id)


def for_key(key: ApiKey | None, label: str = "a configured API key") -> Principal:
    """A stored key's principal; None for a key from IVR_API_KEYS (integrator and analyst)."""
    if key is None:
        return Principal(frozenset({Role.integrator, Role.analyst}), label)
    roles = frozenset(Role(name) for name in key.roles.split(",") if name in set(Role))
    return _principal(roles, f"API key {key.name}", key.agent_id, key.supervisor_id, key_id=key.id)


def _principal(
    roles: frozenset[Role],
    label: str,
    agent_id: int | None,
    supervisor_id: int | None,
    *,
    user_id: int | None = None,
    key_id: int | None = None,
) -> Principal:
    teams = frozenset(supervised_team_ids(supervisor_id)) if supervisor_id is not None else frozenset()
    return Principal(roles, label, user_id, key_id, agent_id, supervisor_id, teams)


def supervised_team_ids(supervisor_id: int) -> set[int]:
    """Teams this supervisor answers for: whose supervisor is them, or escalates (up the chain)
    to them."""
    rows = db.session.execute(select(Team.id, Team.supervisor_id)).all()
    parents = dict(db.session.execute(select(Supervisor.id, Supervisor.escalates_to_id)).all())
    found: set[int] = set()
    for team_id, owner in rows:
        seen: set[int] = set()
        while owner is not None and owner not in seen:
            if owner == supervisor_id:
                found.add(team_id)
                break
            seen.add(owner)
            owner = parents.get(owner)
    return found


# --- routes


class Access(StrEnum):
    public = "public"  # anyone (sign-in page, health, the API's description, static files)
    twilio = "twilio"  # Twilio's signed webhooks (checked by ivr.voice.signature, not here)
    signed_in = "signed_in"  # any signed-in person or key
    metrics_token = "metrics_token"  # Prometheus, with METRICS_TOKEN (checked by ivr.ops.metrics)


ALL_PEOPLE = frozenset({Role.agent, Role.supervisor, Role.analyst, Role.admin})
READERS = frozenset({Role.supervisor, Role.analyst, Role.admin})
TASK_WORKERS = frozenset({Role.supervisor, Role.admin})
ADMINS = frozenset({Role.admin})

Rule = Access | frozenset[Role]

# Every route's rule, by endpoint. A route missing here is refused (and fails the test suite).
ROUTES: dict[str, Rule] = {
    "web.static": Access.public,
    "web.login": Access.public,
    "web.logout": Access.public,
    "web.home": Access.signed_in,
    "web.agent_home": frozenset({Role.agent}),
    "web.agent_self_rating": frozenset({Role.agent}),
    "web.dashboard_forecast": frozenset({Role.supervisor}),
    "web.recording": ALL_PEOPLE,
    "web.tasks": TASK_WORKERS,
    "web.task_list": TASK_WORKERS,
    "web.task": TASK_WORKERS,
    "web.task_claim": TASK_WORKERS,
    "web.task_note": TASK_WORKERS,
    "web.task_reassign": TASK_WORKERS,
    "web.task_close": TASK_WORKERS,
    "web.responses": READERS,
    "web.response": READERS,
    "web.responses_csv": READERS,
    "web.responses_jsonl": READERS,
    "web.dashboard": READERS,
    "web.admin_users": ADMINS,
    "web.admin_user_create": ADMINS,
    "web.admin_user_edit": ADMINS,
    "web.admin_user_deactivate": ADMINS,
    "web.admin_user_reactivate": ADMINS,
    "web.admin_set_active": ADMINS,
    "web.admin_supervisors": ADMINS,
    "web.admin_supervisor_create": ADMINS,
    "web.admin_supervisor_edit": ADMINS,
    "web.admin_teams": ADMINS,
    "web.admin_team_create": ADMINS,
    "web.admin_team_edit": ADMINS,
    "web.admin_agents": ADMINS,
    "web.admin_agent_create": ADMINS,
    "web.admin_agent_edit": ADMINS,
    "web.flows": ADMINS,
    "web.flow": ADMINS,
    "web.flow_draft": ADMINS,
    "web.flow_draft_check": ADMINS,
    "web.flow_draft_save": ADMINS,
    "web.flow_draft_steps": ADMINS,
    "web.flow_draft_step": ADMINS,
    "web.flow_draft_discard": ADMINS,
    "web.flow_publish": ADMINS,
    "web.flow_rollback": ADMINS,
    "web.flow_diff": ADMINS,
    "web.flow_try": ADMINS,
    "web.flow_audio_upload": ADMINS,
    "web.flow_audio_remove": ADMINS,
    "web.routing": ADMINS,
    "web.routing_draft": ADMINS,
    "web.routing_draft_check": ADMINS,
    "web.routing_draft_queue": ADMINS,
    "web.routing_draft_save": ADMINS,
    "web.routing_draft_discard": ADMINS,
    "web.routing_publish": ADMINS,
    "web.routing_rollback": ADMINS,
    "web.routing_diff": ADMINS,
    "api.openapi": Access.public,
    "health.healthz": Access.public,
    "health.readyz": Access.public,
    "metrics.metrics": Access.metrics_token,
    "api.list_responses": READERS | {Role.agent},
    "api.get_response": READERS | {Role.agent},
    "api.list_callback_tasks": TASK_WORKERS | {Role.analyst},
    "api.get_callback_task": TASK_WORKERS | {Role.analyst},
    "api.agent_feedback": READERS | {Role.agent},
    "api.recording_audio": READERS | {Role.agent},
    "api.export_responses_csv": frozenset({Role.analyst, Role.admin}),
    "api.export_responses_jsonl": frozenset({Role.analyst, Role.admin}),
    "api.report_dashboard": READERS,
    "api.send_call_to_survey": frozenset({Role.integrator, Role.admin}),
    "api.request_survey_call": frozenset({Role.integrator, Role.admin}),
    "api.get_survey_call": frozenset({Role.integrator, Role.admin}),
    # An agent's own rating of a call they took: only a key that is that agent's.
    "api.rate_call": frozenset({Role.agent}),
    # Twilio's Messaging webhooks (signed; checked by ivr.voice.signature like voice's).
    "sms.incoming": Access.twilio,
    "sms.message_status": Access.twilio,
}


def rule_for(endpoint: str | None) -> Rule | None:
    if endpoint is None:
        return None
    if endpoint.startswith("voice."):
        return Access.twilio
    return ROUTES.get(endpoint)


def may_use(principal: Principal | None, endpoint: str | None) -> bool:
    """May this principal (None: nobody signed in) use this route?"""
    rule = rule_for(endpoint)
    if rule is None:
        return False
    if rule in (Access.public, Access.twilio, Access.metrics_token):
        return True
    if principal is None:
        return False
    if rule is Access.signed_in:
        return True
    assert isinstance(rule, frozenset)
    return principal.has(*rule)


# --- rows


def _agent_condition(principal: Principal, agent_column: Any) -> ColumnElement[bool]:
    """Rows about agents this principal may see, by the row's agent column."""
    if principal.sees_everything:
        return true()
    conditions: list[ColumnElement[bool]] = []
    if principal.has(Role.agent) and principal.agent_id is not None:
        conditions.append(agent_column == principal.agent_id)
    if principal.has(Role.supervisor) and principal.team_ids:
        team_agents = select(Agent.id).where(Agent.team_id.in_(principal.team_ids))
        conditions.append(agent_column.in_(team_agents))
    return or_(*conditions) if conditions else false()


def scope_responses(principal: Principal, query: Q) -> Q:
    """The responses this principal may see; try-outs from the flow studio are nobody's."""
    return query.where(
        _agent_condition(principal, SurveyResponse.agent_id), SurveyResponse.is_test.is_(False)
    )


def scope_scores(principal: Principal, query: Q) -> Q:
    """Scores (the reports' fact table) of the responses this principal may see."""
    return query.where(_agent_condition(principal, Score.agent_id))


def scope_offer_days(principal: Principal, query: Q) -> Q:
    return query.where(_agent_condition(principal, OfferDay.agent_id))


def scope_agent_days(principal: Principal, query: Q) -> Q:
    """Daily rollups of the scores (ivr.models.rollups) about agents this principal may see."""
    return query.where(_agent_condition(principal, AgentScoreDay.agent_id))


def scope_agent_legs(principal: Principal, query: Q) -> Q:
    return query.where(_agent_condition(principal, AgentLeg.agent_id))


def scope_feedback(principal: Principal, query: Q) -> Q:
    return query.where(_agent_condition(principal, FeedbackItem.agent_id))


def scope_tasks(principal: Principal, query: Q) -> Q:
    """Tasks of the supervisor's teams and tasks escalated to them; all for admins and analysts."""
    if principal.sees_everything:
        return query
    conditions: list[ColumnElement[bool]] = []
    if principal.has(Role.supervisor) and principal.supervisor_id is not None:
        conditions.append(CallbackTask.assignee_id == principal.supervisor_id)
        if principal.team_ids:
            conditions.append(CallbackTask.team_id.in_(principal.team_ids))
    return query.where(or_(*conditions) if conditions else false())


def scope_teams(principal: Principal, query: Q) -> Q:
    """The teams a supervisor answers for; every team for admins and analysts."""
    if principal.sees_everything:
        return query
    if principal.has(Role.supervisor) and principal.team_ids:
        return query.where(Team.id.in_(principal.team_ids))
    return query.where(false())


def scope_agents(principal: Principal, query: Q) -> Q:
    return query.where(_agent_condition(principal, Agent.id))


def may_see_task(principal: Principal, task_id: int) -> bool:
    found = db.session.scalar(
        scope_tasks(principal, select(CallbackTask.id).where(CallbackTask.id == task_id))
    )
    return found is not None


def may_see_response(principal: Principal, response_id: int) -> bool:
    query = scope_responses(principal, select(SurveyResponse.id).where(SurveyResponse.id == response_id))
    return db.session.scalar(query) is not None


# --- caller numbers


def shows_full_number_on_task(principal: Principal) -> bool:
    """The full number is for whoever calls the customer back, on callback tasks only: supervisors,
    admins, and integrators (the CRM that places the callback)."""
    return principal.has(Role.supervisor, Role.admin, Role.integrator)
