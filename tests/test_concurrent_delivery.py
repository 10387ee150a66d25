"""The same webhook delivered several times at once stores one answer and moves one step."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from ivr.extensions import db
from ivr.models import Agent, AgentLeg, Answer, Call, SurveyResponse
from ivr.simulator import http_transport
from tests.helpers import AUTH_TOKEN

COPIES = 8


def burst(url: str, form: dict[str, str]) -> list[tuple[int, str]]:
    """COPIES identical signed posts, released together."""
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, form)
    post = http_transport()
    gate = threading.Barrier(COPIES)

    def one(_: int) -> tuple[int, str]:
        gate.wait()
        return post(url, form, {"X-Twilio-Signature": signature})

    with ThreadPoolExecutor(COPIES) as pool:
        return list(pool.map(one, range(COPIES)))


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_racing_duplicates_store_one_of_everything(app: Flask, live_server: str, backend: str) -> None:
    server = live_server
    started = burst(f"{server}/voice/survey?agent=new-agent&queue=billing&lang=en", {"CallSid": "CA-race"})
    assert [status for status, _ in started] == [200] * COPIES
    actions = {ET.fromstring(body).find("Gather").get("action") for _, body in started}  # type: ignore[union-attr]
    assert len(actions) == 1
    assert [count(app, model) for model in (Call, Agent, AgentLeg, SurveyResponse)] == [1, 1, 1, 1]

    answered = burst(server + actions.pop(), {"CallSid": "CA-race", "Digits": "4"})  # type: ignore[operator]
    assert [status for status, _ in answered] == [200] * COPIES
    next_steps = {ET.fromstring(body).find("Gather").get("action") for _, body in answered}  # type: ignore[union-attr]
    assert len(next_steps) == 1 and "/nps?" in next_steps.pop()  # type: ignore[operator]
    assert count(app, Answer) == 1
    with app.app_context():
        response = db.session.scalar(select(SurveyResponse))
        assert response is not None and response.current_step == "nps"
