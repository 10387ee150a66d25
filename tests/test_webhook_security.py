"""Every /voice/* route checks X-Twilio-Signature: 403 and no change when it does not match."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from ivr.extensions import db
from ivr.models import Base, SurveyResponse
from tests.helpers import AUTH_TOKEN, Twilio

START = "/voice/survey?agent=mallory&queue=billing"
SUPPORT = "+15005550001"  # a front-door number of the sample routing
# Every signed route, as Twilio would request it; {response} is a survey running in the test.
SIGNED_ROUTES = {
    "/voice/incoming": "/voice/incoming",
    "/voice/incoming/invitation": "/voice/incoming/invitation?queue=support",
    "/voice/incoming/agent-leg": "/voice/incoming/agent-leg?queue=support&agent=0&agreed=1",
    "/voice/survey": "/voice/survey?agent=a",
    "/voice/survey/<int:response_id>/<step_key>": "/voice/survey/{response}/csat?ni=0&nm=0",
    "/voice/recordings/<int:response_id>/<step_key>": "/voice/recordings/{response}/comment",
    "/voice/transcriptions/<int:response_id>/<step_key>": "/voice/transcriptions/{response}/comment",
    "/voice/status": "/voice/status",
    "/voice/fallback": "/voice/fallback",
}
UNSIGNED_ROUTES = {"/voice/prompts/<language>/<filename>": {"GET", "HEAD", "OPTIONS"}}  # public audio
# Whatever each route would act on, were the request genuine.
FORGED = {
    "CallSid": "CA-live",
    "From": "+15550001111",
    "To": SUPPORT,
    "CallStatus": "completed",
    "Digits": "1",
    "DialCallStatus": "completed",
    "DialCallDuration": "30",
    "RecordingSid": "RE" + "1" * 32,
    "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
    "RecordingStatus": "completed",
    "RecordingDuration": "5",
    "TranscriptionText": "forged words",
    "TranscriptionStatus": "completed",
    "ErrorCode": "11200",
}


def table_rows(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order."""
    with app.app_context():
        return {
            table.name: sorted((tuple(row) for row in db.session.execute(select(table))), key=repr)
            for table in Base.metadata.sorted_tables
        }


def row_counts(app: Flask) -> dict[str, int]:
    return {name: len(found) for name, found in table_rows(app).items()}


def no_rows(app: Flask) -> dict[str, int]:
    return dict.fromkeys(table_rows(app), 0)


def test_every_voice_route_that_takes_a_post_is_signed(app: Flask) -> None:
    """A new webhook fails here until it is added to SIGNED_ROUTES, and so to the tests below."""
    voice = {
        rule.rule: set(rule.methods or ())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/voice/")
    }
    assert {rule for rule, methods in voice.items() if "POST" in methods} == set(SIGNED_ROUTES)
    assert {rule: methods for rule, methods in voice.items() if rule not in SIGNED_ROUTES} == UNSIGNED_ROUTES
    assert len(SIGNED_ROUTES) == 9


def running_survey(app: Flask, twilio: Twilio) -> int:
    """A caller at the front door and a survey waiting for its first answer, on the forged CallSid."""
    status, _ = twilio.post("/voice/incoming", {"CallSid": "CA-front", "From": "+15550002222", "To": SUPPORT})
    assert status == 200
    status, _ = twilio.post(START, {"CallSid": FORGED["CallSid"], "From": FORGED["From"]})
    assert status == 200
    with app.app_context():
        response = db.session.scalar(select(SurveyResponse))
        assert response is not None
        return response.id


@pytest.mark.parametrize("route", SIGNED_ROUTES)
def test_missing_signature_is_refused(app: Flask, twilio: Twilio, route: str) -> None:
    status, body = twilio.post(
        SIGNED_ROUTES[route].format(response=1), {"CallSid": "CA-forged"}, signature=""
    )
    assert (status, body) == (403, None)
    assert row_counts(app) == no_rows(app)


@pytest.mark.parametrize("route", SIGNED_ROUTES)
def test_signature_made_with_another_token_is_refused(app: Flask, twilio: Twilio, route: str) -> None:
    path = SIGNED_ROUTES[route].format(response=1)
    form = {"CallSid": "CA-forged", "CallStatus": "completed"}
    forged = RequestValidator("not-our-token").compute_signature("http://localhost" + path, form)
    status, _ = twilio.post(path, form, signature=forged)
    assert status == 403
    assert row_counts(app) == no_rows(app)


@pytest.mark.parametrize("signed_by", ["nobody", "another token"])
@pytest.mark.parametrize("route", SIGNED_ROUTES)
def test_a_forged_request_changes_no_row_of_a_running_call(
    app: Flask, twilio: Twilio, route: str, signed_by: str
) -> None:
    path = SIGNED_ROUTES[route].format(response=running_survey(app, twilio))
    before = table_rows(app)
    signature = (
        ""
        if signed_by == "nobody"
        else RequestValidator("not-our-token").compute_signature("http://localhost" + path, FORGED)
    )
    status, body = twilio.post(path, FORGED, signature=signature)
    assert (status, body) == (403, None)
    assert table_rows(app) == before
    # The same request genuinely signed does reach the route (so the refusal above was the signature's).
    status, _ = twilio.post(path, FORGED)
    assert status != 403


def test_a_real_signature_replayed_with_a_changed_parameter_is_refused(app: Flask, twilio: Twilio) -> None:
    genuine = {"CallSid": "CA-genuine", "From": "+15550001111"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature("http://localhost" + START, genuine)
    status, _ = twilio.post(START, {**genuine, "From": "+15559999999"}, signature=signature)
    assert status == 403
    status, _ = twilio.post(START.replace("mallory", "eve"), genuine, signature=signature)
    assert status == 403
    assert row_counts(app) == no_rows(app)
    status, _ = twilio.post(START, genuine, signature=signature)
    assert status == 200
    counts = row_counts(app)
    assert (counts["agents"], counts["calls"], counts["survey_responses"]) == (1, 1, 1)


def test_forged_answer_does_not_change_a_running_survey(app: Flask, twilio: Twilio) -> None:
    _, opened = twilio.post(START, {"CallSid": "CA-live"})
    action = opened.find("Gather").get("action")  # type: ignore[union-attr]
    status, _ = twilio.post(action, {"CallSid": "CA-live", "Digits": "1"}, signature="AAAA")
    assert status == 403
    status, _ = twilio.post(
        "/voice/status", {"CallSid": "CA-live", "CallStatus": "completed"}, signature="AAAA"
    )
    assert status == 403
    with app.app_context():
        response = db.session.scalar(select(SurveyResponse))
        assert response is not None and response.answers == [] and response.disposition.value == "in_progress"


def test_behind_a_proxy_the_public_base_url_is_what_is_signed(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(public_base_url="https://survey.example.com/")
    client = app.test_client()
    form = {"CallSid": "CA-proxied"}
    public = RequestValidator(AUTH_TOKEN).compute_signature(
        "https://survey.example.com/voice/survey?agent=a", form
    )
    internal = RequestValidator(AUTH_TOKEN).compute_signature("http://localhost/voice/survey?agent=a", form)
    assert (
        client.post("/voice/survey?agent=a", data=form, headers={"X-Twilio-Signature": internal}).status_code
        == 403
    )
    assert (
        client.post("/voice/survey?agent=a", data=form, headers={"X-Twilio-Signature": public}).status_code
        == 200
    )


def test_proxy_hops_trust_forwarded_scheme_and_host(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(proxy_hops=1)
    client = app.test_client()
    form = {"CallSid": "CA-fwd"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        "https://ivr.example.org/voice/survey?agent=a", form
    )
    headers = {
        "X-Twilio-Signature": signature,
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "ivr.example.org",
    }
    assert client.post("/voice/survey?agent=a", data=form, headers=headers).status_code == 200


def test_sha256_signatures_are_accepted_when_twilio_says_so(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    form = {"CallSid": "CA-sha256"}
    url = "http://localhost/voice/survey?agent=a"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, form, "HMAC_SHA256")
    headers = {
        "X-Twilio-Signature": signature,
        "X-Twilio-Webhooks-Signature-Settings": "algorithm=HMAC_SHA256",
    }
    assert client.post("/voice/survey?agent=a", data=form, headers=headers).status_code == 200
