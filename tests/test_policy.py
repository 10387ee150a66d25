"""The one authorization policy: every route has a rule, and a walk of every route with every
role (people signed in, API keys with each role, nobody) gets exactly what the rule says."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ivr.extensions import db
from ivr.models import Agent, Call, CallbackTask, Recording, Role, Supervisor, SurveyResponse, Team
from ivr.services import policy
from ivr.services.organisation import api_keys
from tests.helpers import ACCOUNT_SID, ALICE, LOW, PASSWORD, Twilio, make_user, set_up_team

PEOPLE = {
    "agent": "alice@example.com",
    "supervisor": "sam@example.com",
    "analyst": "ann@example.com",
    "admin": "root@example.com",
}
KEYS = {
    "agent key": ([Role.agent], "alice", None),
    "supervisor key": ([Role.supervisor], None, "Sam"),
    "analyst key": ([Role.analyst], None, None),
    "integrator key": ([Role.integrator], None, None),
    "admin key": ([Role.admin], None, None),
}


def test_every_route_has_a_rule(app: Flask) -> None:
    missing = sorted({rule.endpoint for rule in app.url_map.iter_rules()} - set(policy.ROUTES))
    assert [endpoint for endpoint in missing if policy.rule_for(endpoint) is None] == []


@pytest.fixture
def world(app_factory: Any, twilio_api: Any) -> dict[str, Any]:
    """A team with its supervisor, an agent with an extreme low (a task, a recording), one user
    for each role and one API key for each role."""
    app: Flask = app_factory(twilio_api_base_url=twilio_api.url, twilio_account_sid=ACCOUNT_SID)
    app.config["WTF_CSRF_ENABLED"] = False  # the walk checks the policy, not the forms
    twilio = Twilio(app, app.test_client())
    set_up_team(app)
    twilio.play(ALICE, ["1", "0", "1", "rec:5"])
    twilio.play("/voice/survey?agent=bob&lang=en", LOW)  # another team's (no team's) call
    make_user(app, PEOPLE["agent"], "agent", agent="alice")
    make_user(app, PEOPLE["analyst"], "analyst")
    make_user(app, PEOPLE["admin"], "admin")
    with app.app_context():
        keys = {
            name: api_keys.create_key(name, roles, agent, sup).key
            for name, (roles, agent, sup) in KEYS.items()
        }
        ids = {
            "response_id": db.session.scalar(db.select(SurveyResponse.id).order_by(SurveyResponse.id)),
            "task_id": db.session.scalar(db.select(CallbackTask.id).order_by(CallbackTask.id)),
            "recording_sid": db.session.scalar(db.select(Recording.recording_sid)),
            "agent_ref": "alice",
            "call_sid": "CA" + "1" * 32,
            "outbound_id": 1,
            "user_id": 1,
            "supervisor_id": db.session.scalar(db.select(Supervisor.id).order_by(Supervisor.id)),
            "team_id": db.session.scalar(db.select(Team.id).order_by(Team.id)),
            "agent_id": db.session.scalar(db.select(Agent.id).order_by(Agent.id)),
            "filename": "app.css",
            # Deactivating supervisors, teams and agents: reactivating one already active is harmless.
            "kind": "agents",
            "row_id": db.session.scalar(db.select(Agent.id).order_by(Agent.id)),
            "action": "reactivate",
            "call_id": db.session.scalar(db.select(Call.id).order_by(Call.id)),  # Alice's
            "flow_key": "post-call-csat",
            "number": 1,
            "queue_name": "support",
        }
    return {"app": app, "keys": keys, "ids": ids}


def _urls(app: Flask, ids: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every route but Twilio's webhooks (signed; see the signature tests)."""
    walked = []
    for rule in app.url_map.iter_rules():
        if policy.rule_for(rule.endpoint) in (policy.Access.twilio, policy.Access.metrics_token):
            continue  # their own credentials: Twilio's signature, the metrics token (tested there)
        values = {name: ids[name] for name in rule.arguments}
        with app.test_request_context():
            url = app.url_for(rule.endpoint, **values)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            walked.append((rule.endpoint, method, url))
    return walked


def _signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    answer = client.post("/login", data={"email": email, "password": PASSWORD})
    assert answer.status_code == 303, email
    return client


def test_every_route_with_every_role(world: dict[str, Any]) -> None:
    app: Flask = world["app"]
    with app.app_context():
        principals: dict[str, policy.Principal | None] = {"nobody": None}
        from ivr.services.organisation import users

        for role, email in PEOPLE.items():
            user = users.find(email)
            assert user is not None
            principals[role] = policy.for_user(user)
        for name, key in world["keys"].items():
            principals[name] = api_keys.authenticate(key)
    clients = {role: _signed_in(app, email) for role, email in PEOPLE.items()}
    wrong: list[str] = []
    for endpoint, method, url in _urls(app, world["ids"]):
        api = url.startswith("/api/")
        # People use the pages with their session, integrators the API with their key.
        for who, principal in principals.items():
            if who != "nobody" and (who in world["keys"]) != api:
                continue
            if api:
                headers = {"Authorization": f"Bearer {world['keys'][who]}"} if who != "nobody" else {}
                answer = app.test_client().open(url, method=method, headers=headers, json={})
            else:
                # Signing out would sign the walk out: that one gets a session of its own.
                client = _signed_in(app, PEOPLE[who]) if endpoint == "web.logout" and who in PEOPLE else None
                client = client or clients.get(who) or app.test_client()
                answer = client.open(url, method=method, data={})
            answer.close()
            location = answer.headers.get("Location", "")
            refused = _refused(url, answer.status_code, location, signed_in=who != "nobody")
            if policy.may_use(principal, endpoint) == refused:
                wrong.append(f"{who} {method} {url} -> {answer.status_code} {location}")
    assert wrong == []


def _refused(url: str, status: int, location: str, signed_in: bool) -> bool:
    """Did the policy turn this request away? Pages: to the sign-in page, or 404 for a signed-in
    person; the API: 401 without a key, 403 for a key whose roles may not."""
    if url.startswith("/api/"):
        return status in (401, 403)
    if re.search(r"/login\?next=", location):
        return True
    return signed_in and status == 404
