"""Structured logs: JSON lines carrying the CallSid, response id, request id and job id; numbers masked."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from rq import Queue, SimpleWorker
from twilio.request_validator import RequestValidator

from ivr.jobs import QUEUES
from ivr.jobs.running import AppJob
from tests.helpers import ALICE, AUTH_TOKEN, BASE_URL, LOW, Twilio, set_up_team

CALLER = "+15557654321"
CALL_SID = "CA" + "1" * 32


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def signed_post(app: Flask, path: str, form: dict[str, str], request_id: str | None = None) -> int:
    headers = {"X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(BASE_URL + path, form)}
    if request_id:
        headers["X-Request-Id"] = request_id
    reply = app.test_client().post(path, data=form, headers=headers)
    if request_id:
        assert reply.headers["X-Request-Id"] == request_id
    return reply.status_code


def test_webhook_lines_carry_the_call_and_request_and_never_a_full_number(
    app_factory: Callable[..., Flask], capfd: pytest.CaptureFixture[str]
) -> None:
    app = app_factory(log_format="json")
    capfd.readouterr()
    form = {"CallSid": CALL_SID, "From": CALLER, "To": "+15005550006"}
    assert signed_post(app, ALICE, form, request_id="req-start-1") == 200
    step = {**form, "Digits": "4"}
    assert signed_post(app, "/voice/survey/1/csat", step, request_id="req-step-1") == 200
    # Another call's CallSid on this survey is refused, and the refusal logged with the response id.
    other = {**step, "CallSid": "CA" + "2" * 32}
    assert signed_post(app, "/voice/survey/1/nps", other, request_id="req-step-2") == 200
    # The caller's number, logged on purpose here through Flask's logger, comes out masked.
    with app.test_request_context():
        app.logger.warning("caller %s on hold", CALLER)
    assert signed_post(app, "/voice/fallback", {**form, "ErrorCode": "11200"}) == 200
    output = capfd.readouterr().err

    lines = json_lines(output)
    assert lines, output
    first = [line for line in lines if "first seen" in line["event"]]
    assert first and first[0]["call_sid"] == CALL_SID and first[0]["request_id"] == "req-start-1"
    assert first[0]["level"] == "info" and "timestamp" in first[0] and "logger" in first[0]
    refused = [line for line in lines if "refused" in line["event"]]
    assert refused and refused[0]["call_sid"] == "CA" + "2" * 32
    assert refused[0]["response_id"] == 1 and refused[0]["request_id"] == "req-step-2"
    fallback = [line for line in lines if "fallback" in line["event"]]
    assert fallback and fallback[0]["call_sid"] == CALL_SID and len(fallback[0]["request_id"]) == 32
    assert any("+•••••••4321" in line["event"] for line in lines)
    assert CALLER not in output and CALLER[1:] not in output


def test_job_lines_carry_the_job_id(
    app_factory: Callable[..., Flask], redis_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    app = app_factory(redis_url=redis_url, log_format="json")
    set_up_team(app)
    Twilio(app, app.test_client()).play(ALICE, LOW, from_number=CALLER)
    capfd.readouterr()
    connection = Redis.from_url(redis_url)
    try:
        with app.app_context():
            queues = [Queue(name, connection=connection) for name in QUEUES]
            SimpleWorker(queues, connection=connection, job_class=AppJob).work(burst=True)
    finally:
        connection.close()
    output = capfd.readouterr().err
    scored = [line for line in json_lines(output) if "scored" in line["event"]]
    assert scored and scored[0]["job_id"] == "score-response-1" and scored[0]["queue"] == "scoring"
    assert CALLER not in output


def test_development_logs_are_for_people(
    app_factory: Callable[..., Flask], capfd: pytest.CaptureFixture[str]
) -> None:
    app = app_factory(log_format="console")
    capfd.readouterr()
    with app.test_request_context():
        app.logger.warning("caller %s on hold", CALLER)
    output = capfd.readouterr().err
    assert "caller +•••••••4321 on hold" in output and not output.lstrip().startswith("{")
