"""A database connection cut between webhooks (restart, failover) costs the caller nothing."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from ivr.extensions import db
from ivr.services.insight import responses
from ivr.services.policy import OPERATOR
from tests.helpers import POSTGRES_URL, Twilio

START = "/voice/survey?agent=alice&queue=billing&lang=en"


def kill_app_connections(app: Flask) -> int:
    """Terminate every server-side connection of the app's pool, as a PostgreSQL restart would."""
    killer = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with killer.connect() as conn:
        killed = conn.scalar(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND application_name = 'ivr-under-test'"
            )
        )
    killer.dispose()
    return int(killed or 0)


def _tag(connection: Any, _record: Any) -> None:
    connection.execute("SET application_name = 'ivr-under-test'")
    connection.commit()


# Only a database server has connections to cut.
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_webhooks_survive_their_connections_being_killed(app_factory, backend: str) -> None:  # type: ignore[no-untyped-def]
    app = app_factory()
    with app.app_context():
        # Tag this app's connections so only they are killed (committed: a hook that left a
        # transaction open would hand the app a connection already in one).
        sa.event.listen(db.engine, "connect", _tag)
    twilio = Twilio(app, app.test_client())
    _, first = twilio.post(START, {"CallSid": "CA-cut"})
    action = first.find("Gather").get("action")  # type: ignore[union-attr]

    assert kill_app_connections(app) >= 1
    status, document = twilio.post(action, {"CallSid": "CA-cut", "Digits": "4"})
    assert status == 200 and document is not None
    assert "/nps?" in document.find("Gather").get("action")  # type: ignore[union-attr]

    assert kill_app_connections(app) >= 1
    status, _ = twilio.post("/voice/status", {"CallSid": "CA-cut", "CallStatus": "completed"})
    assert status == 204
    with app.app_context():
        [response] = responses.find_responses(OPERATOR, call_sid="CA-cut")
        assert [(a.step_key, a.value) for a in response.answers] == [("csat", "4")]
        assert response.disposition.value == "partial"
        assert response.score is not None and response.score.csat == 4
