"""A CTI or Flex button sends a live call into the survey: the real twilio client, real HTTP, a
stand-in for Twilio's API on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask

from tests.helpers import ACCOUNT_SID, API_KEY_HEADER, Twilio
from tests.local_servers import HttpRecorder


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
    sent = client.post("/api/calls/CA-live-leg/survey", json=body, headers=API_KEY_HEADER)
    assert sent.status_code == 202, sent.json
    [request] = twilio_api.received
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/CA-live-leg.json"
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
    assert sent.json == {"call_sid": "CA-live-leg", "survey_url": form["Url"], "twilio_status": "in-progress"}

    # Twilio then requests that URL on the caller's leg: the survey runs as any other.
    twilio = Twilio(cti_app, cti_app.test_client(), base_url="https://survey.example.com")
    _, transcript = twilio.play(
        form["Url"].removeprefix("https://survey.example.com"), ["5", "!"], call_sid="CA-live-leg"
    )
    assert transcript.heard[0].startswith("Gracias por quedarse en la línea")
    listed = client.get("/api/responses?call_sid=CA-live-leg", headers=API_KEY_HEADER).json["responses"]
    assert [(r["agent"], r["agent_chain"], r["queue"]) for r in listed] == [
        ("carol", ["alice", "bob", "carol"], "billing")
    ]


def test_bad_requests_and_twilio_refusals_are_explained(cti_app: Flask, twilio_api: HttpRecorder) -> None:
    client = cti_app.test_client()
    assert client.post("/api/calls/CA1/survey", json={}).status_code == 401
    unknown = client.post("/api/calls/CA1/survey", json={"flow": "nope"}, headers=API_KEY_HEADER)
    assert unknown.status_code == 400 and "unknown flow 'nope'" in unknown.json["message"]
    french = client.post("/api/calls/CA1/survey", json={"lang": "fr"}, headers=API_KEY_HEADER)
    assert french.status_code == 400 and "no language 'fr'" in french.json["message"]
    assert (
        client.post("/api/calls/CA1/survey", json={"chain": "alice"}, headers=API_KEY_HEADER).status_code
        == 400
    )
    assert twilio_api.received == []  # nothing reached Twilio

    twilio_api.status, twilio_api.error_code = 400, 21220
    twilio_api.error_message = "Call is not in-progress. Cannot redirect."
    gone = client.post("/api/calls/CA1/survey", json={}, headers=API_KEY_HEADER)
    assert gone.status_code == 409 and "the caller has hung up" in gone.json["message"]
    twilio_api.status, twilio_api.error_code = 404, 20404
    missing = client.post("/api/calls/CA2/survey", json={}, headers=API_KEY_HEADER)
    assert missing.status_code == 404 and "Twilio has no call CA2" in missing.json["message"]


def test_twilio_unreachable_is_a_502(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(twilio_api_base_url="http://127.0.0.1:9", public_base_url="https://survey.example.com")
    sent = app.test_client().post("/api/calls/CA1/survey", json={}, headers=API_KEY_HEADER)
    assert sent.status_code == 502 and "could not be reached" in sent.json["message"]
