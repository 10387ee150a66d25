"""A CTI or Flex button sends a live call into the survey: the real twilio client, real HTTP, a
stand-in for Twilio's API on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask

from tests.helpers import ACCOUNT_SID, Twilio
from tests.helpers import API_KEY_HEADER as KEY
from tests.local_servers import HttpRecorder

LIVE_LEG = "CA" + "1a" * 16
CA1, CA2 = "CA" + "1" * 32, "CA" + "2" * 32


@pytest.fixture
def cti_app(app_factory: Callable[..., Flask], twilio_api: HttpRecorder) -> Flask:
    return app_factory(
        twilio_api_base_url=twilio_api.url,
        twilio_account_sid=ACCOUNT_SID,
        public_base_url="https://survey.example.com",
    )


def test_the_caller_is_redirected_into_the_survey_with_agent_queue_flow_language_and_chain(
    cti_app: Flask, twilio_api: HttpRecorder
) -> None:
    client = cti_app.test_client()
    body = {"agent": "carol", "queue": "billing", "lang": "es", "chain": ["alice", "bob"]}
    sent = client.post(f"/api/calls/{LIVE_LEG}/survey", json=body, headers=KEY)
    assert sent.status_code == 202, sent.json
    [request] = twilio_api.received
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{LIVE_LEG}.json"
    form = request.form
    assert form["Method"] == "POST"
    url = urlsplit(form["Url"])
    assert (url.scheme, url.netloc, url.path) == ("https", "survey.example.com", "/voice/survey")
    assert parse_qs(url.query) == {
        "agent": ["carol"],
        "queue": ["billing"],
        "flow": ["post-call-csat"],
        "lang": ["es"],
        "chain": ["alice,bob"],
    }
    assert sent.json == {"call_sid": LIVE_LEG, "survey_url": form["Url"], "twilio_status": "in-progress"}

    # Twilio then requests that URL on the caller's leg: the survey runs as any other.
    twilio = Twilio(cti_app, cti_app.test_client(), base_url="https://survey.example.com")
    _, transcript = twilio.play(
        form["Url"].removeprefix("https://survey.example.com"), ["5", "!"], call_sid=LIVE_LEG
    )
    assert transcript.heard[0].startswith("Gracias por quedarse en la línea")
    listed = client.get(f"/api/responses?call_sid={LIVE_LEG}", headers=KEY).json["responses"]
    assert [(r["agent"], r["agent_chain"], r["queue"]) for r in listed] == [
        ("carol", ["alice", "bob", "carol"], "billing")
    ]


def test_bad_requests_and_twilio_refusals_are_explained(cti_app: Flask, twilio_api: HttpRecorder) -> None:
    client = cti_app.test_client()
    assert client.post(f"/api/calls/{CA1}/survey", json={}).status_code == 401
    unknown = client.post(f"/api/calls/{CA1}/survey", json={"flow": "nope"}, headers=KEY)
    assert unknown.status_code == 400 and "unknown flow 'nope'" in unknown.json["message"]
    french = client.post(f"/api/calls/{CA1}/survey", json={"lang": "fr"}, headers=KEY)
    assert french.status_code == 400 and "no language 'fr'" in french.json["message"]
    assert client.post(f"/api/calls/{CA1}/survey", json={"chain": "alice"}, headers=KEY).status_code == 400
    assert twilio_api.received == []  # nothing reached Twilio

    twilio_api.status, twilio_api.error_code = 400, 21220
    twilio_api.error_message = "Call is not in-progress. Cannot redirect."
    gone = client.post(f"/api/calls/{CA1}/survey", json={}, headers=KEY)
    assert gone.status_code == 409 and "the caller has hung up" in gone.json["message"]
    twilio_api.status, twilio_api.error_code = 404, 20404
    missing = client.post(f"/api/calls/{CA2}/survey", json={}, headers=KEY)
    assert missing.status_code == 404 and f"Twilio has no call {CA2}" in missing.json["message"]


def test_twilio_unreachable_is_a_502(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(twilio_api_base_url="http://127.0.0.1:9", public_base_url="https://survey.example.com")
    sent = app.test_client().post(f"/api/calls/{CA1}/survey", json={}, headers=KEY)
    assert sent.status_code == 502 and "could not be reached" in sent.json["message"]
    assert "127.0.0.1" not in sent.json["message"] and "AC" not in sent.json["message"]


def test_only_a_twilio_call_sid_is_redirected(cti_app: Flask, twilio_api: HttpRecorder) -> None:
    client = cti_app.test_client()
    for sid in ("CA1", "CA" + "g" * 32, "CA" + "1" * 33, "calls", "CA" + "1" * 31 + "%0A"):
        refused = client.post(f"/api/calls/{sid}/survey", json={}, headers=KEY)
        assert refused.status_code in (400, 404) and refused.is_json, sid
    too_long = client.post(f"/api/calls/{CA1}/survey", json={"agent": "a" * 256}, headers=KEY)
    assert too_long.status_code == 400 and "255" in too_long.json["message"]
    assert client.post(f"/api/calls/{CA1}/survey", json={"queue": ["q"]}, headers=KEY).status_code == 400
    assert twilio_api.received == []  # nothing reached Twilio


def test_the_survey_url_comes_from_configuration_not_from_the_request(
    cti_app: Flask, twilio_api: HttpRecorder
) -> None:
    """A key holder with a forged Host (or X-Forwarded-Host) cannot make Twilio fetch their TwiML."""
    client = cti_app.test_client()
    forged = {**KEY, "Host": "evil.example.net", "X-Forwarded-Host": "evil.example.net"}
    body = {"agent": "x&flow=evil", "queue": "q?call=CA0#"}
    sent = client.post(f"/api/calls/{CA1}/survey", json=body, headers=forged)
    assert sent.status_code == 202, sent.json
    [request] = twilio_api.received
    url = urlsplit(request.form["Url"])
    assert (url.scheme, url.netloc, url.path) == ("https", "survey.example.com", "/voice/survey")
    # Values are encoded: none can add a parameter of its own.
    assert parse_qs(url.query) == {
        "agent": ["x&flow=evil"],
        "queue": ["q?call=CA0#"],
        "flow": ["post-call-csat"],
    }
