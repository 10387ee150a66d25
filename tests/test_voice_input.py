"""Odd input from Twilio's form is asked again (or cut to size and recorded), never hung up on;
on SQLite and PostgreSQL alike."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from flask import Flask
from sqlalchemy import select

from ivr.extensions import db
from ivr.models import Agent, AgentLeg, Answer, Call, DoNotSurvey, SurveyResponse
from tests.helpers import Twilio, says

START = "/voice/survey?agent=alice&queue=billing&flow=post-call-csat&lang=en"
CALL = "CA-odd-input"
APOLOGY = "We're sorry, something went wrong on our side. Thank you for calling. Goodbye."
NO_MATCH = "Sorry, that isn't one of the choices."
NO_INPUT = "Sorry, I didn't hear anything."
CSAT = (
    "How satisfied were you with the agent who helped you? "
    "Press or say a number from 1 for very dissatisfied, up to 5 for very satisfied."
)
NPS = (
    "How likely are you to recommend us to a friend, from 0 to 10? "
    "Say the number, or press it. For 10, press 1 then 0, then the pound key."
)
COMMENT = (
    "Finally, please tell us in your own words how we did. "
    "Speak after the beep, and press the pound key when you are done."
)

ODD_DIGITS = [
    pytest.param("²", id="superscript-two"),  # str.isdigit() is True, int() fails
    pytest.param("٣", id="arabic-indic-three"),  # int() reads 3: still no key
    pytest.param("\uff15", id="fullwidth-five"),
    pytest.param("5" * 5000, id="5000-digits"),  # longer than answers.raw_input
    pytest.param("\x005", id="nul-then-five"),
    pytest.param("3\x00", id="three-then-nul"),
    pytest.param("1.5", id="decimal"),
    pytest.param("-1", id="negative"),
    pytest.param("4 4", id="inner-space"),
    pytest.param("abc", id="letters"),
]


def start(twilio: Twilio) -> str:
    """A survey on CALL; the step URL of its first question (CSAT)."""
    status, document = twilio.post(START, {"CallSid": CALL})
    assert status == 200 and document is not None
    gather = document.find("Gather")
    assert gather is not None and says(gather) == [CSAT]
    return gather.get("action", "")


def asked_again(document: ET.Element | None, prompt: str, question: str) -> dict[str, list[str]]:
    """Asserts the TwiML says `prompt`, then asks `question` again; returns the new step URL's query."""
    assert document is not None and document.tag == "Response"
    assert APOLOGY not in says(document) and document.find("Hangup") is None
    assert [node.text for node in document.findall("Say")] == [prompt]
    gather = document.find("Gather")
    assert gather is not None and says(gather) == [question]
    return parse_qs(urlsplit(gather.get("action", "")).query)


def rows(app: Flask) -> dict[str, Any]:
    with app.app_context():
        response = db.session.execute(
            select(SurveyResponse.disposition, SurveyResponse.current_step, SurveyResponse.queue)
        ).one()
        answers = db.session.execute(
            select(Answer.step_key, Answer.status, Answer.raw_input, Answer.value, Answer.speech_result)
        ).all()
        call = db.session.execute(select(Call.from_number, Call.to_number, Call.queue)).one()
        agents = db.session.scalars(select(Agent.ref)).all()
        db.session.remove()
    return {
        "response": tuple(response),
        "answers": [tuple(a) for a in answers],
        "call": tuple(call),
        "agents": list(agents),
    }


@pytest.mark.parametrize("digits", ODD_DIGITS)
def test_odd_keys_are_a_wrong_key(app: Flask, twilio: Twilio, digits: str) -> None:
    action = start(twilio)
    status, document = twilio.post(action, {"CallSid": CALL, "Digits": digits})
    assert status == 200
    query = asked_again(document, NO_MATCH, CSAT)
    assert (query["ni"], query["nm"]) == (["0"], ["1"])
    stored = rows(app)
    assert stored["response"][:2] == ("in_progress", "csat") and stored["answers"] == []


@pytest.mark.parametrize("digits", ODD_DIGITS)
def test_odd_keys_past_the_last_retry_are_stored_as_a_skip(app: Flask, twilio: Twilio, digits: str) -> None:
    start(twilio)
    # CSAT allows two wrong keys: the third runs out, the step is skipped and NPS asked.
    status, document = twilio.post(
        "/voice/survey/1/csat?ni=0&nm=2", {"CallSid": CALL, "Digits": digits, "From": "+1555"}
    )
    assert status == 200
    query = asked_again(document, NO_MATCH, NPS)
    assert (query["ni"], query["nm"]) == (["0"], ["0"])
    [(step, answer_status, raw, value, speech)] = rows(app)["answers"]
    assert (step, answer_status, value, speech) == ("csat", "skipped", None, None)
    assert raw is not None and len(raw) <= 64 and "\x00" not in raw


@pytest.mark.parametrize(
    "form",
    [
        pytest.param({"SpeechResult": "five", "Confidence": "NaN"}, id="nan-confidence"),
        pytest.param({"SpeechResult": "five", "Confidence": "inf"}, id="inf-confidence"),
        pytest.param({"SpeechResult": "five", "Confidence": "-inf"}, id="minus-inf-confidence"),
        pytest.param({"SpeechResult": "five", "Confidence": "1e999"}, id="overflowing-confidence"),
        pytest.param({"SpeechResult": "five", "Confidence": "7"}, id="confidence-above-one"),
        pytest.param({"SpeechResult": "blah " * 20_000, "Confidence": "0.9"}, id="100k-speech"),
        pytest.param({"SpeechResult": "五", "Confidence": "0.9"}, id="unknown-word"),
    ],
)
def test_odd_speech_is_asked_again(app: Flask, twilio: Twilio, form: dict[str, str]) -> None:
    action = start(twilio)
    status, document = twilio.post(action, {"CallSid": CALL, **form})
    assert status == 200
    query = asked_again(document, NO_MATCH, CSAT)
    assert query["nm"] == ["1"]
    assert rows(app)["answers"] == []


def test_nul_bytes_in_speech_are_dropped_and_the_answer_kept(app: Flask, twilio: Twilio) -> None:
    action = start(twilio)
    status, document = twilio.post(action, {"CallSid": CALL, "SpeechResult": "fi\x00ve", "Confidence": "0.9"})
    assert status == 200 and document is not None
    gather = document.find("Gather")
    assert gather is not None and says(gather) == [NPS]
    assert rows(app)["answers"] == [("csat", "answered", None, "5", "five")]


@pytest.mark.parametrize("speech", ["blah " * 20_000, "fi\x00ve"])
def test_odd_speech_past_the_last_retry_is_stored_cut_and_clean(
    app: Flask, twilio: Twilio, speech: str
) -> None:
    start(twilio)
    status, document = twilio.post(
        "/voice/survey/1/csat?ni=0&nm=2", {"CallSid": CALL, "SpeechResult": speech, "Confidence": "NaN"}
    )
    assert status == 200
    asked_again(document, NO_MATCH, NPS)
    [(_step, answer_status, _raw, _value, stored)] = rows(app)["answers"]
    assert answer_status == "skipped"
    assert stored is not None and "\x00" not in stored and 0 < len(stored) <= 2000


@pytest.mark.parametrize("duration", ["NaN", "inf", "-inf", "1e999", "-5", "²", "9" * 400])
def test_odd_recording_duration_at_the_comment_is_asked_again(
    app: Flask, twilio: Twilio, duration: str
) -> None:
    start(twilio)
    for step, keys in (("csat", "4"), ("nps", "9"), ("resolved", "1")):
        twilio.post(f"/voice/survey/1/{step}?ni=0&nm=0", {"CallSid": CALL, "Digits": keys})
    status, document = twilio.post(
        "/voice/survey/1/comment?ni=0&nm=0",
        {
            "CallSid": CALL,
            "RecordingSid": "RE" + "1" * 32,
            "RecordingUrl": "https://api.twilio.com/recording",
            "RecordingDuration": duration,
            "Digits": "#",
        },
    )
    assert status == 200 and document is not None
    assert APOLOGY not in says(document)
    assert [node.text for node in document.findall("Say")] == [NO_INPUT, COMMENT]
    record = document.find("Record")
    assert record is not None and "ni=1" in record.get("action", "")
    assert [a[0] for a in rows(app)["answers"]] == ["csat", "nps", "resolved"]


@pytest.mark.parametrize(
    ("ni", "nm"),
    [("²", "0"), ("0", "٣"), ("9" * 40, "0"), ("0", "9" * 5000), ("-1", "x"), ("1e3", "")],
)
def test_odd_retry_counters_in_the_step_url_count_as_none(
    app: Flask, twilio: Twilio, ni: str, nm: str
) -> None:
    start(twilio)
    path = f"/voice/survey/1/csat?ni={quote(ni)}&nm={quote(nm)}"
    status, document = twilio.post(path, {"CallSid": CALL, "Digits": "9"})
    assert status == 200
    query = asked_again(document, NO_MATCH, CSAT)
    assert (query["ni"], query["nm"]) == (["0"], ["1"])
    assert rows(app)["answers"] == []


def test_over_long_and_nul_values_at_the_start_are_cut_to_their_columns(app: Flask, twilio: Twilio) -> None:
    long = "x" * 5000
    path = (
        f"/voice/survey?agent={long}&queue=q{long}&lang=e{long}&flow=post-call-csat"
        f"&chain={','.join(['a' + long] * 50)}&call=CA{long}"
    )
    status, document = twilio.post(
        path, {"CallSid": "CA" + "\x00" * 3 + long, "From": "+1" + "5" * 5000, "To": "+1\x00" + "6" * 300}
    )
    assert status == 200 and document is not None
    gather = document.find("Gather")  # no language we know: the language menu comes first
    assert gather is not None and "/language?" in gather.get("action", "")
    stored = rows(app)
    assert stored["response"] == ("in_progress", "language", "q" + "x" * 127)
    assert stored["call"] == ("+1" + "5" * 62, "+1" + "6" * 62, "q" + "x" * 127)
    assert sorted(len(ref) for ref in stored["agents"]) == [255, 255]  # the chain, then the agent
    with app.app_context():
        call_sid = db.session.scalar(select(SurveyResponse.survey_call_sid))
        db.session.remove()
    assert call_sid == ("CA" + long)[:64]


def test_opting_out_with_an_over_long_caller_number_is_remembered(app: Flask, twilio: Twilio) -> None:
    long_number = "+1" + "5" * 300
    status, document = twilio.post(START, {"CallSid": CALL, "From": long_number})
    assert status == 200 and document is not None
    status, document = twilio.post("/voice/survey/1/csat?ni=0&nm=0", {"CallSid": CALL, "Digits": "*"})
    assert status == 200 and document is not None
    assert says(document) == ["Understood. We won't ask you to take our surveys again. Goodbye."]
    with app.app_context():
        [masked] = db.session.scalars(select(DoNotSurvey.masked)).all()
        db.session.remove()
    assert masked is not None and len(masked) <= 32 and masked.endswith("5555")


@pytest.mark.parametrize(
    "form",
    [
        {"DialCallStatus": "x" * 500, "DialCallDuration": "inf"},
        {"DialCallStatus": "busy\x00", "DialCallDuration": "²"},
        {"DialCallStatus": "no-answer", "DialCallDuration": "9" * 400},
    ],
)
def test_odd_dial_callbacks_ring_the_next_agent(app: Flask, twilio: Twilio, form: dict[str, str]) -> None:
    twilio.post("/voice/incoming", {"CallSid": CALL, "From": "+15005550006", "To": "+15005550001"})
    status, document = twilio.post(
        "/voice/incoming/agent-leg?queue=support&agent=0&agreed=1", {"CallSid": CALL, **form}
    )
    assert status == 200 and document is not None
    dial = document.find("Dial")
    assert dial is not None and dial.findtext("Client") == "bob"
    with app.app_context():
        [(outcome, started, ended)] = db.session.execute(
            select(AgentLeg.outcome, AgentLeg.started_at, AgentLeg.ended_at)
        ).all()
        db.session.remove()
    assert outcome is not None and len(outcome) <= 32 and "\x00" not in outcome
    assert started == ended  # no duration we could believe


@pytest.mark.parametrize("agent", ["²", "٣", "7", "9" * 50])
def test_an_odd_agent_index_on_the_dial_callback_is_not_a_crash(
    app: Flask, twilio: Twilio, agent: str
) -> None:
    twilio.post("/voice/incoming", {"CallSid": CALL, "From": "+15005550006", "To": "+15005550001"})
    status, document = twilio.post(
        f"/voice/incoming/agent-leg?queue=support&agent={quote(agent)}&agreed=1",
        {"CallSid": CALL, "DialCallStatus": "no-answer"},
    )
    assert status == 200 and document is not None
    assert document.find("Dial") is not None or document.find("Hangup") is not None


def test_a_turn_document_is_built_once_and_carries_each_callers_own_urls(app: Flask, twilio: Twilio) -> None:
    """Two callers at the same question get the same document but for their own response id,
    and it is exactly what building the turn from scratch gives (here: the voice comment, whose
    document has three URLs)."""
    from ivr.services.conversation.flow_versions import registry
    from ivr.services.conversation.turns import Turn
    from ivr.voice.twiml import render_turn, turn_xml

    documents = []
    for call_sid in ("CA-first-caller", "CA-second-caller"):
        status, document = twilio.post(START, {"CallSid": call_sid})
        assert status == 200 and document is not None
        documents.append(ET.tostring(document, encoding="unicode"))
    with app.app_context():
        first, second = db.session.scalars(select(SurveyResponse).order_by(SurveyResponse.id)).all()
    assert f"/voice/survey/{first.id}/csat" in documents[0]
    assert documents[1] == documents[0].replace(f"/{first.id}/", f"/{second.id}/")

    with app.test_request_context("/voice/survey"):
        compiled = registry().for_version(first.flow_version_id)
        comment = compiled.question("comment")
        for response_id in (first.id, second.id):
            turn = Turn(compiled, "en", response_id, ask=comment)
            built = turn_xml(turn)
            assert built == render_turn(turn).to_xml()
            # the action, the recording and transcription callbacks, the redirect after silence
            assert built.count(f"/{response_id}/comment") == 4
        assert len(compiled.rendered) == 2  # the first question's and the comment's, built once each
