"""The API never answers 500 for bad input and always answers JSON, the database being down included."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ivr import create_app
from tests.helpers import Twilio, make_settings

KEY = {"Authorization": "Bearer test-api-key"}
TWENTY_DIGITS = "99999999999999999999"


def assert_error(response, status: int) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    assert set(response.json) == {"error", "message"} and response.json["message"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/api/responses/{TWENTY_DIGITS}", 404),  # past PostgreSQL's integer: no such response
        (f"/api/callback-tasks/{TWENTY_DIGITS}", 404),
        (f"/api/responses?before_id={TWENTY_DIGITS}", 400),
        (f"/api/agents/alice/feedback?before_id={TWENTY_DIGITS}", 400),
        ("/api/responses?before_id=abc", 400),
        ("/api/responses?agent=a%00b", 400),  # PostgreSQL refuses NUL in text
        ("/api/responses?call_sid=%00", 400),
        ("/api/callback-tasks?agent=%00", 400),
        ("/api/agents/a%00b/feedback", 400),
        ("/api/recordings/RE%00", 400),
        ("/api/responses?limit=-5", 400),
        ("/api/responses?limit=abc", 400),
        ("/api/callback-tasks?status=closed", 400),
        ("/api/callback-tasks?overdue=perhaps", 400),
        ("/api/responses/abc", 404),
        ("/api/responses/0", 404),
        ("/api/no-such-thing", 404),
        ("/api", 404),
    ],
)
def test_bad_input_is_a_json_4xx(client: FlaskClient, path: str, status: int) -> None:
    assert_error(client.get(path, headers=KEY), status)


def test_a_wrong_method_is_a_json_405_with_allow(client: FlaskClient) -> None:
    for method, path in (("delete", "/api/responses"), ("post", "/api/responses/1"), ("put", "/api/surveys")):
        response = getattr(client, method)(path, headers=KEY)
        assert_error(response, 405)
        assert "GET" in response.headers["Allow"] or "POST" in response.headers["Allow"]


def test_bodies_must_be_a_json_object(client: FlaskClient) -> None:
    for path in ("/api/surveys", "/api/calls/CA123/survey"):
        assert_error(client.post(path, headers=KEY, data="to=%2B15551234567"), 415)  # a form
        assert_error(client.post(path, headers=KEY, data='{"to": ', content_type="application/json"), 400)
        assert_error(client.post(path, headers=KEY, json=["+15551234567"]), 400)


def test_pages_outside_the_api_keep_their_own_errors(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404 and response.mimetype == "text/html"


@pytest.mark.parametrize(
    "database_url",
    [
        "postgresql+psycopg://postgres@127.0.0.1:1/nothing_listens_here",
        "sqlite:///{tmp}/no/such/directory/ivr.sqlite3",
    ],
)
def test_a_database_that_cannot_be_reached_is_a_json_503(tmp_path: Path, database_url: str) -> None:
    app = create_app(make_settings(database_url.format(tmp=tmp_path), tmp_path))
    client = app.test_client()
    for path in ("/api/responses", "/api/callback-tasks/1", "/api/agents/alice/feedback"):
        response = client.get(path, headers=KEY)
        assert_error(response, 503)
        assert response.json["error"] == "database_unavailable" and response.headers["Retry-After"]
    # A stored key cannot be checked either: that is the database's fault, not the caller's (no 401).
    response = client.get("/api/responses", headers={"Authorization": "Bearer ivr_somekeythatisstored"})
    assert_error(response, 503)


def test_an_unreachable_twilio_is_a_502_that_names_neither_its_url_nor_the_account(
    app_factory, client: FlaskClient, twilio: Twilio
) -> None:  # type: ignore[no-untyped-def]
    twilio.play("/voice/survey?agent=alice&lang=en", ["1", "1", "1", "rec:5"])
    sid = client.get("/api/responses", headers=KEY).json["responses"][0]["recordings"][0]["recording_sid"]
    offline: Flask = app_factory(twilio_api_base_url="http://127.0.0.1:9", twilio_account_sid="AC" + "7" * 32)
    response = offline.test_client().get(f"/api/recordings/{sid}", headers=KEY)
    assert_error(response, 502)
    assert response.json["error"] == "upstream_unavailable"
    body = response.get_data(as_text=True)
    assert "127.0.0.1" not in body and "AC7777" not in body and "Recordings" not in body
