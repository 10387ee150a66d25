"""Every /voice/* route checks X-Twilio-Signature: 403 and no change when it does not match."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from ivr.extensions import db
from ivr.models import Agent, Call, SurveyResponse
from tests.helpers import AUTH_TOKEN, Twilio

START = "/voice/survey?agent=mallory&queue=billing"
VOICE_ROUTES = ["/voice/survey?agent=a", "/voice/survey/1/csat?ni=0&nm=0", "/voice/status", "/voice/fallback"]


def row_counts(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(  # type: ignore[return-value]
            db.session.scalar(select(func.count()).select_from(model))
            for model in (Agent, Call, SurveyResponse)
        )


@pytest.mark.parametrize("path", VOICE_ROUTES)
def test_missing_signature_is_refused(app: Flask, twilio: Twilio, path: str) -> None:
    status, body = twilio.post(path, {"CallSid": "CA-forged"}, signature="")
    assert (status, body) == (403, None)
    assert row_counts(app) == (0, 0, 0)


@pytest.mark.parametrize("path", VOICE_ROUTES)
def test_signature_made_with_another_token_is_refused(app: Flask, twilio: Twilio, path: str) -> None:
    form = {"CallSid": "CA-forged", "CallStatus": "completed"}
    forged = RequestValidator("not-our-token").compute_signature("http://localhost" + path, form)
    status, _ = twilio.post(path, form, signature=forged)
    assert status == 403
    assert row_counts(app) == (0, 0, 0)


def test_a_real_signature_replayed_with_a_changed_parameter_is_refused(app: Flask, twilio: Twilio) -> None:
    genuine = {"CallSid": "CA-genuine", "From": "+15550001111"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature("http://localhost" + START, genuine)
    status, _ = twilio.post(START, {**genuine, "From": "+15559999999"}, signature=signature)
    assert status == 403
    status, _ = twilio.post(START.replace("mallory", "eve"), genuine, signature=signature)
    assert status == 403
    assert row_counts(app) == (0, 0, 0)
    status, _ = twilio.post(START, genuine, signature=signature)
    assert status == 200
    assert row_counts(app) == (1, 1, 1)


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
