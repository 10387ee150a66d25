"""The front door on a Twilio number, as whole calls: invitation, agents rung in turn, the survey
on the same call after the agent leg, and which agent a response credits."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from ivr.db import upsert_id
from ivr.extensions import db
from ivr.models import Agent, AgentLeg, Call, SurveyResponse, utcnow
from ivr.services.consent import do_not_survey as consent
from ivr.simulator import CallTranscript
from tests.helpers import Twilio

ROOT = Path(__file__).resolve().parent.parent
SUPPORT = "+15005550001"  # opt-in invitation, English, rings client:alice then client:bob
BILLING = "+15005550002"  # always announced, Spanish, rings client:carol, a SIP URI, a number


def legs(app: Flask) -> list[tuple[str, str | None, float | None]]:
    with app.app_context():
        found = db.session.scalars(select(AgentLeg).order_by(AgentLeg.call_id, AgentLeg.sequence))
        return [
            (
                leg.agent.ref,
                leg.outcome,
                (leg.ended_at - leg.started_at).total_seconds() if leg.ended_at else None,
            )
            for leg in found
        ]


def responses(app: Flask) -> list[tuple[str, str | None, str]]:
    with app.app_context():
        found = db.session.scalars(select(SurveyResponse).order_by(SurveyResponse.id))
        return [(r.disposition.value, r.agent.ref if r.agent else None, r.language) for r in found]


def dials(transcript: CallTranscript) -> list[ET.Element]:
    return [d for x in transcript.exchanges if "<Dial" in x.body for d in ET.fromstring(x.body).iter("Dial")]


def test_opt_in_then_the_agent_then_the_survey_on_the_same_call(app: Flask, twilio: Twilio) -> None:
    call, transcript = twilio.play(
        "/voice/incoming", ["1", "dial:completed:125", "4", "9", "1", "rec:6"], to_number=SUPPORT
    )
    assert transcript.heard[:3] == [
        "Thank you for calling. This call may be monitored.",
        "After your call, we would like your feedback in a short survey. To take it, press 1 now.",
        "Connecting you to an agent.",
    ]
    assert transcript.heard[3].startswith("Thank you for staying on the line for a short survey")
    assert transcript.heard[-1] == "Thank you for your feedback. Goodbye."
    [dial] = dials(transcript)
    assert [(c.tag, c.text) for c in dial] == [("Client", "alice")]
    assert dial.get("timeout") == "20" and "agreed=1" in dial.get("action", "")
    assert responses(app) == [("completed", "client:alice", "en")]
    assert legs(app) == [("client:alice", "completed", 125.0)]
    with app.app_context():
        response = db.session.scalar(select(SurveyResponse))
        assert response is not None and response.survey_call_sid == call.call_sid
        assert response.call.queue == "support" and response.score is not None and response.score.csat == 4


def test_silence_at_the_opt_in_is_declined_and_no_survey_follows(app: Flask, twilio: Twilio) -> None:
    _, transcript = twilio.play("/voice/incoming", ["-", "dial:completed:40"], to_number=SUPPORT)
    assert transcript.heard[-1] == "Connecting you to an agent."
    assert ET.fromstring(transcript.exchanges[-2].body).find("Hangup") is not None
    assert responses(app) == [("declined", None, "en")]
    assert legs(app) == [("client:alice", "completed", 40.0)]


def test_a_busy_agent_rings_the_next_and_the_response_credits_who_answered(
    app: Flask, twilio: Twilio
) -> None:
    _, transcript = twilio.play(
        "/voice/incoming", ["1", "dial:busy", "dial:completed:60", "2", "!"], to_number=SUPPORT
    )
    assert [[c.text for c in d] for d in dials(transcript)] == [["alice"], ["bob"]]
    assert legs(app) == [("client:alice", "busy", 0.0), ("client:bob", "completed", 60.0)]
    assert responses(app) == [("partial", "client:bob", "en")]


def test_a_repeated_dial_callback_records_the_leg_once(app: Flask, twilio: Twilio) -> None:
    call = twilio.call(to_number=SUPPORT)
    twilio.post("/voice/incoming", {"CallSid": call.call_sid, "To": SUPPORT})
    form = {"CallSid": call.call_sid, "DialCallStatus": "busy", "CallStatus": "in-progress"}
    for _ in range(2):
        status, document = twilio.post("/voice/incoming/agent-leg?queue=support&agent=0&agreed=1", form)
        assert status == 200 and [c.text for c in document.iter("Client")] == ["bob"]  # type: ignore[union-attr]
    assert legs(app) == [("client:alice", "busy", 0.0)]


def test_no_agent_answers(app: Flask, twilio: Twilio) -> None:
    _, transcript = twilio.play("/voice/incoming", ["1", "dial:no-answer", "dial:failed"], to_number=SUPPORT)
    assert transcript.heard[-1] == "Sorry, all our agents are busy. Please call again later. Goodbye."
    assert legs(app) == [("client:alice", "no-answer", 0.0), ("client:bob", "failed", 0.0)]
    assert responses(app) == []  # agreed, but never reached an agent: nothing to ask about


def test_the_caller_hangs_up_on_the_agent_or_while_it_rings(app: Flask, twilio: Twilio) -> None:
    twilio.play("/voice/incoming", ["1", "dial:hangup:30"], to_number=SUPPORT)
    twilio.play("/voice/incoming", ["1", "dial:canceled"], to_number=SUPPORT)
    assert legs(app) == [("client:alice", "completed", 30.0), ("client:alice", "canceled", 0.0)]
    assert responses(app) == []


def test_always_announced_in_spanish_with_sip_and_number_agents(app: Flask, twilio: Twilio) -> None:
    _, transcript = twilio.play(
        "/voice/incoming",
        ["dial:no-answer", "dial:no-answer", "dial:completed:30", "3", "!"],
        to_number=BILLING,
    )
    assert transcript.heard[1] == "Después de su llamada, escuchará una breve encuesta sobre ella."
    assert [[(c.tag, c.text) for c in d] for d in dials(transcript)] == [
        [("Client", "carol")],
        [("Sip", "sip:dave@pbx.example.com")],
        [("Number", "+15005550009")],
    ]
    assert responses(app) == [("partial", "+15005550009", "es")]


def test_a_caller_on_the_do_not_survey_list_is_not_invited(app: Flask, twilio: Twilio) -> None:
    with app.app_context():
        consent.add_number("+15557654321")
    _, transcript = twilio.play(
        "/voice/incoming", ["dial:completed:50"], to_number=SUPPORT, from_number="+15557654321"
    )
    assert transcript.heard == [
        "Thank you for calling. This call may be monitored.",
        "Connecting you to an agent.",
    ]
    assert responses(app) == [("suppressed", None, "en")]
    assert legs(app) == [("client:alice", "completed", 50.0)]


def _call_with_legs(app: Flask, call_sid: str, seconds: dict[str, int]) -> None:
    """A call that went through agents before reaching the survey (as a CTI would report)."""
    with app.app_context():
        call_id, _ = upsert_id(Call, {"call_sid": call_sid}, ["call_sid"])
        now = utcnow()
        for sequence, (ref, length) in enumerate(seconds.items(), start=1):
            agent_id, _ = upsert_id(Agent, {"ref": ref}, ["ref"])
            db.session.add(
                AgentLeg(
                    call_id=call_id,
                    agent_id=agent_id,
                    sequence=sequence,
                    outcome="completed",
                    started_at=now - timedelta(seconds=length),
                    ended_at=now,
                )
            )
        db.session.commit()


def test_credit_rules(app_factory: Callable[..., Flask]) -> None:
    for rule, credited in (("last", "carol"), ("first", "alice"), ("longest", "bob")):
        app = app_factory(agent_credit_rule=rule)
        _call_with_legs(app, f"CA-{rule}", {"alice": 30, "bob": 400})
        Twilio(app, app.test_client()).play(
            f"/voice/survey?agent=carol&lang=en&call=CA-{rule}", ["5", "!"], call_sid=f"CA-{rule}-survey"
        )
        with app.app_context():
            response = db.session.scalar(
                select(SurveyResponse).where(SurveyResponse.survey_call_sid == f"CA-{rule}-survey")
            )
            assert response is not None and response.agent is not None
            assert (rule, response.agent.ref) == (rule, credited)
            assert [leg.agent.ref for leg in response.call.legs] == ["alice", "bob", "carol"]


def test_a_transfer_chain_on_the_survey_url(app: Flask, twilio: Twilio) -> None:
    twilio.play("/voice/survey?chain=alice,bob&agent=carol&lang=en", ["4", "!"])
    assert [ref for ref, _outcome, _seconds in legs(app)] == ["alice", "bob", "carol"]
    assert responses(app) == [("partial", "carol", "en")]


def test_a_recorded_greeting_is_played(app_factory: Callable[..., Flask], tmp_path: Path) -> None:
    prompts = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts", prompts)
    (prompts / "en" / "audio").mkdir()
    (prompts / "en" / "audio" / "front_door.greeting.mp3").write_bytes(b"ID3 greeting")
    app = app_factory(prompts_dir=prompts)
    _, transcript = Twilio(app, app.test_client()).play("/voice/incoming", ["!"], to_number=SUPPORT)
    assert transcript.heard[0].startswith("[audio /voice/prompts/en/front_door.greeting.mp3?v=")
    assert transcript.heard[1].startswith("After your call, we would like your feedback")
