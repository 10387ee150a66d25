"""What tests share besides fixtures: test settings and keys, a signed-webhook Twilio, a burst worker, data.

Test modules import from here (and from tests.local_servers for real servers), never from each
other or from conftest; conftest builds its fixtures on these.
"""

from __future__ import annotations

import os
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from ivr.extensions import db
from ivr.flows import FlowError, FlowProblem, load_catalog
from ivr.jobs import QUEUES
from ivr.models import (
    Agent,
    AgentLeg,
    Answer,
    AnswerStatus,
    Call,
    Disposition,
    LanguageSource,
    Recording,
    Role,
    SurveyResponse,
    TranscriptStatus,
)
from ivr.services.insight import responses
from ivr.services.organisation import teams as organisation
from ivr.services.organisation import users
from ivr.services.policy import OPERATOR
from ivr.settings import Settings
from ivr.simulator import CallTranscript, SimulatedCall

# Under pytest-xdist (`make test` runs two workers) each worker has a database and a Redis
# database of its own: gw0 uses ivr_test_gw0 and Redis 15, gw1 ivr_test_gw1 and Redis 14, ...
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_WORKER_INDEX = int(_WORKER[2:]) if _WORKER.startswith("gw") and _WORKER[2:].isdigit() else 0


def _per_worker(postgres: str, redis: str) -> tuple[str, str]:
    if not _WORKER:
        return postgres, redis
    url = sa.engine.make_url(postgres)
    postgres = url.set(database=f"{url.database}_{_WORKER}").render_as_string(hide_password=False)
    base, _, number = redis.rpartition("/")
    redis = f"{base}/{max(0, int(number or 0) - _WORKER_INDEX)}"
    return postgres, redis


POSTGRES_URL, REDIS_URL = _per_worker(
    os.environ.get("IVR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/ivr_test"),
    os.environ.get("IVR_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
)
AUTH_TOKEN = "test-auth-token"
SECRET_KEY = "test-secret-key-0123456789"
API_KEY = "test-api-key"
# Every test user's password.
PASSWORD = "correct horse battery staple"
API_KEY_HEADER = {"Authorization": f"Bearer {API_KEY}"}
BASE_URL = "http://localhost"
ACCOUNT_SID = "AC" + "6" * 32  # the account tests/local_servers.py's stand-in for Twilio's API serves

ALICE = "/voice/survey?agent=alice&queue=billing&lang=en"
LOW = ["1", "0", "!"]  # CSAT 1, NPS 0, hangs up: partial, extreme low


def unavailable(what: str) -> None:
    """Skip on a laptop; under CI (CI=true) a missing service is a failure, never a skip."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required under CI but cannot be reached", pytrace=False)
    pytest.skip(f"{what} cannot be reached")


def make_settings(database_url: str | None, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "ivr_env": "test",
        "database_url": database_url,
        "redis_url": None,
        "twilio_auth_token": AUTH_TOKEN,
        "secret_key": SECRET_KEY,
        "instance_dir": tmp_path,
        "ivr_api_keys": [API_KEY],
        # A burst worker's scoring job ends when the list is empty instead of waiting for more.
        "scoring_linger_seconds": 0,
    }
    return Settings(**{**values, **overrides})


class Twilio:
    """Posts signed webhooks the way Twilio does, through Flask's test client."""

    def __init__(self, app: Flask, client: FlaskClient, base_url: str = BASE_URL) -> None:
        self.app = app
        self.client = client
        self.base_url = base_url
        self.validator = RequestValidator(AUTH_TOKEN)

    def transport(self, url: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        response = self.client.post(url, data=form, headers=headers)
        return response.status_code, response.get_data(as_text=True)

    def call(self, **kwargs: Any) -> SimulatedCall:
        return SimulatedCall(self.transport, self.base_url, AUTH_TOKEN, **kwargs)

    def play(self, start: str, keys: list[str], **kwargs: Any) -> tuple[SimulatedCall, CallTranscript]:
        call = self.call(**kwargs)
        return call, call.run(start, iter(keys))

    def post(
        self, path: str, form: dict[str, str], signature: str | None = None
    ) -> tuple[int, ET.Element | None]:
        url = self.base_url + path
        headers = {
            "X-Twilio-Signature": signature
            if signature is not None
            else self.validator.compute_signature(url, form)
        }
        response = self.client.post(path, data=form, headers=headers)
        body = response.get_data(as_text=True)
        return response.status_code, ET.fromstring(body) if body.startswith("<?xml") else None


def says(element: ET.Element) -> list[str]:
    """Every <Say> text in a TwiML document, in order (including inside <Gather>)."""
    return [node.text or "" for node in element.iter("Say")]


def run_worker(
    app: Flask, redis_url: str, queues: Sequence[str] = QUEUES, with_scheduler: bool = False
) -> None:
    """An RQ worker in this process, in the app's context, until the queues are empty."""
    connection = Redis.from_url(redis_url)
    try:
        with app.app_context():
            watched = [Queue(name, connection=connection) for name in queues]
            SimpleWorker(watched, connection=connection).work(burst=True, with_scheduler=with_scheduler)
    finally:
        connection.close()


# -- data ---------------------------------------------------------------------------------


def utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def set_up_team(app: Flask, channels: list[str] | None = None, **team: str) -> None:
    with app.app_context():
        organisation.save_supervisor("Morgan", email="morgan@example.com", phone="+15550000002")
        organisation.save_supervisor(
            "Sam", email="sam@example.com", phone="+15550000001", escalates_to="Morgan"
        )
        organisation.save_team("Support", supervisor="Sam", channels=channels or [], **team)
        organisation.save_agent("alice", team="Support", email="alice@example.com")
        for name in ("Morgan", "Sam"):
            users.create_user(f"{name.lower()}@example.com", PASSWORD, Role.supervisor, None, name, name)


def rows(app: Flask, model: type) -> list:  # type: ignore[type-arg]
    with app.app_context():
        return list(db.session.scalars(select(model).order_by(model.id)))


def only_response(app: Flask) -> SurveyResponse:
    with app.app_context():
        found = responses.find_responses(OPERATOR)
        assert len(found) == 1
        return found[0]


def answers_by_step(response: SurveyResponse) -> dict[str, Answer]:
    return {answer.step_key: answer for answer in response.answers}


# -- flow files ---------------------------------------------------------------------------


def problems_for(
    folders: tuple[Path, Path], flow: dict | str, name: str = "post-call-csat.yaml"
) -> list[FlowProblem]:  # type: ignore[type-arg]
    flows, prompts = folders
    text = flow if isinstance(flow, str) else yaml.safe_dump(flow, sort_keys=False)
    (flows / name).write_text(text)
    with pytest.raises(FlowError) as caught:
        load_catalog(flows, prompts)
    return caught.value.problems


def step(flow: dict, key: str) -> dict:  # type: ignore[type-arg]
    return next(s for s in flow["steps"] if s["key"] == key)


def sign_in(page: Any, base_url: str, email: str, password: str = PASSWORD, path: str = "/") -> None:
    """Sign in through the page, as a person would (labels, not CSS paths)."""
    page.goto(base_url + path)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def make_user(
    app: Flask, email: str, role: str, agent: str | None = None, supervisor: str | None = None
) -> None:
    with app.app_context():
        users.create_user(email, PASSWORD, Role(role), agent, supervisor)


def scored_response(
    app: Flask,
    agent: str,
    csat: int | None,
    nps: int | None = None,
    resolved: bool | None = None,
    *,
    days_ago: float = 0,
    queue: str = "billing",
    caller: str | None = None,
    comment: str | None = None,
    disposition: Disposition = Disposition.completed,
) -> int:
    """A finished response about `agent` with these answers, written as a survey leaves it (call,
    agent leg, response, answers, a comment's transcript) and scored by the real scoring service."""
    from ivr.services.closed_loop import scoring
    from ivr.services.consent.privacy import number_hash
    from ivr.services.conversation.flow_versions import registry

    with app.app_context():
        published = registry().current("post-call-csat")
        assert published is not None
        version_id = published.version_id
        started = datetime.now(UTC) - timedelta(days=days_ago, minutes=5)
        agent_id = db.session.scalar(select(Agent.id).where(Agent.ref == agent))
        assert agent_id is not None, agent
        number = caller or f"+1555{uuid.uuid4().int % 10**7:07d}"
        call = Call(
            call_sid="CA" + uuid.uuid4().hex,
            from_number=number,
            from_hash=number_hash(number),
            queue=queue,
            status="completed",
            started_at=started - timedelta(minutes=4),
        )
        db.session.add(call)
        db.session.flush()
        db.session.add(
            AgentLeg(
                call_id=call.id,
                agent_id=agent_id,
                sequence=1,
                queue=queue,
                outcome="completed",
                started_at=call.started_at,
            )
        )
        response = SurveyResponse(
            call_id=call.id,
            survey_call_sid=call.call_sid,
            flow_version_id=version_id,
            agent_id=agent_id,
            queue=queue,
            language="en",
            language_source=LanguageSource.ivr,
            disposition=disposition,
            started_at=started,
            ended_at=started + timedelta(minutes=2),
        )
        db.session.add(response)
        db.session.flush()
        given: list[tuple[str, str, int | None]] = []
        if csat is not None:
            given.append(("csat", str(csat), csat))
        if nps is not None:
            given.append(("nps", str(nps), nps))
        if resolved is not None:
            given.append(("resolved", "yes" if resolved else "no", None))
        for key, value, number_value in given:
            db.session.add(
                Answer(
                    response_id=response.id,
                    step_key=key,
                    status=AnswerStatus.answered,
                    raw_input=value,
                    value=value,
                    number=number_value,
                    answered_at=started,
                )
            )
        if comment is not None:
            sid = "RE" + uuid.uuid4().hex
            db.session.add(
                Answer(
                    response_id=response.id,
                    step_key="comment",
                    status=AnswerStatus.answered,
                    raw_input=sid,
                    value="recorded",
                    answered_at=started,
                )
            )
            db.session.add(
                Recording(
                    response_id=response.id,
                    step_key="comment",
                    recording_sid=sid,
                    duration_seconds=5,
                    status="completed",
                    transcript_status=TranscriptStatus.completed,
                    transcript=comment,
                    transcribed_at=started,
                )
            )
        db.session.commit()
        response_id = response.id
        scoring.score(response_id)
        return response_id
