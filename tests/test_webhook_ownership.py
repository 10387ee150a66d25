"""Webhooks cannot cross responses: a step, recording or transcription webhook changes a response
only when its CallSid (and RecordingSid) belong to the response in its URL."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from flask import Flask
from sqlalchemy import select

from ivr.extensions import db
from ivr.models import Answer, Recording, SurveyResponse
from ivr.simulator import SimulatedCall
from tests.helpers import Twilio, says

START = "/voice/survey?agent=alice&queue=billing&flow=post-call-csat&lang=en"
APOLOGY = "We're sorry, something went wrong on our side. Thank you for calling. Goodbye."


def snapshot(app: Flask) -> dict[str, Any]:
    """Every response, answer and recording as plain values, to compare before and after."""
    with app.app_context():
        responses = db.session.execute(
            select(
                SurveyResponse.id,
                SurveyResponse.survey_call_sid,
                SurveyResponse.disposition,
                SurveyResponse.current_step,
            ).order_by(SurveyResponse.id)
        ).all()
        answers = db.session.execute(
            select(
                Answer.response_id,
                Answer.step_key,
                Answer.status,
                Answer.raw_input,
                Answer.value,
                Answer.no_input_count,
                Answer.no_match_count,
            ).order_by(Answer.id)
        ).all()
        recordings = db.session.execute(
            select(
                Recording.response_id,
                Recording.step_key,
                Recording.recording_sid,
                Recording.media_url,
                Recording.duration_seconds,
                Recording.status,
                Recording.transcript_status,
                Recording.transcript,
            ).order_by(Recording.id)
        ).all()
        db.session.remove()
    return {
        "responses": [tuple(r) for r in responses],
        "answers": [tuple(a) for a in answers],
        "recordings": [tuple(r) for r in recordings],
    }


def response_of(app: Flask, call: SimulatedCall) -> int:
    with app.app_context():
        response_id = db.session.scalar(
            select(SurveyResponse.id).where(SurveyResponse.survey_call_sid == call.call_sid)
        )
        db.session.remove()
    assert response_id is not None
    return response_id


def recording_of(app: Flask, response_id: int) -> tuple[str, str | None, int | None, str | None, str | None]:
    with app.app_context():
        row = db.session.execute(
            select(
                Recording.recording_sid,
                Recording.media_url,
                Recording.duration_seconds,
                Recording.status,
                Recording.transcript,
            ).where(Recording.response_id == response_id)
        ).one()
        db.session.remove()
    return (row.recording_sid, row.media_url, row.duration_seconds, row.status, row.transcript)


def forged_recording(call_sid: str, recording_sid: str) -> dict[str, str]:
    return {
        "CallSid": call_sid,
        "RecordingSid": recording_sid,
        "RecordingUrl": "https://evil.example.com/other.mp3",
        "RecordingDuration": "59",
        "RecordingStatus": "completed",
    }


def forged_transcript(call_sid: str, recording_sid: str) -> dict[str, str]:
    return {
        "CallSid": call_sid,
        "RecordingSid": recording_sid,
        "TranscriptionStatus": "completed",
        "TranscriptionText": "Someone else's words.",
    }


def test_recording_and_transcription_callbacks_cannot_cross_responses(app: Flask, twilio: Twilio) -> None:
    # A recorded a comment; Twilio's callbacks for it are still to come.
    a = twilio.call()
    a_transcript = a.run(START, iter(["4", "9", "1", "rec:12:It was fine."]), send_late_callbacks=False)
    [a_sid] = a_transcript.recording_sids
    # B hung up at the beep: its comment can only come from the recording callback (the slow path).
    b = twilio.call()
    b.run(START, iter(["5", "9", "1"]))
    response_a, response_b = response_of(app, a), response_of(app, b)
    before = snapshot(app)

    crossings = [
        # B's URL and B's call, carrying A's RecordingSid: the slow path's UPDATE used to overwrite A.
        (f"/voice/recordings/{response_b}/comment", forged_recording(b.call_sid, a_sid)),
        # A's URL and A's RecordingSid, from B's call.
        (f"/voice/recordings/{response_a}/comment", forged_recording(b.call_sid, a_sid)),
        # A's URL, from no call at all.
        (f"/voice/recordings/{response_a}/comment", forged_recording("", a_sid)),
        # A transcript for A's recording, from B's call.
        (f"/voice/transcriptions/{response_a}/comment", forged_transcript(b.call_sid, a_sid)),
        # A transcript for A's recording on B's URL.
        (f"/voice/transcriptions/{response_b}/comment", forged_transcript(b.call_sid, a_sid)),
        # A's recording, A's call, but another step of A's flow.
        (f"/voice/transcriptions/{response_a}/csat", forged_transcript(a.call_sid, a_sid)),
    ]
    for path, form in crossings:
        status, document = twilio.post(path, form)
        assert (status, document) == (204, None), path
        assert snapshot(app) == before, path

    # The genuine callbacks still work: A's recording status and transcript ...
    a.send_late_callbacks()
    sid, url, duration, status, transcript = recording_of(app, response_a)
    assert (sid, duration, status, transcript) == (a_sid, 12, "completed", "It was fine.")
    assert url is not None and url.startswith("https://api.twilio.com/")
    # ... and B's comment saved from its own recording callback.
    b_sid = "RE" + "b" * 32
    status_code, _ = twilio.post(
        f"/voice/recordings/{response_b}/comment",
        {**forged_recording(b.call_sid, b_sid), "RecordingUrl": "https://api.twilio.com/b.mp3"},
    )
    assert status_code == 204
    assert recording_of(app, response_b) == (b_sid, "https://api.twilio.com/b.mp3", 59, "completed", None)
    after = snapshot(app)
    b_comment = [a for a in after["answers"] if a[0] == response_b and a[1] == "comment"]
    assert [(answer[3], answer[4]) for answer in b_comment] == [(b_sid, "recorded")]


def test_a_step_webhook_from_another_call_changes_nothing(app: Flask, twilio: Twilio) -> None:
    _, first_a = twilio.post(START, {"CallSid": "CA-survey-a"})
    _, first_b = twilio.post(START, {"CallSid": "CA-survey-b"})
    assert first_a is not None and first_b is not None
    action_a = first_a.find("Gather").get("action", "")  # type: ignore[union-attr]
    before = snapshot(app)

    for form in (
        {"CallSid": "CA-survey-b", "Digits": "1"},  # B's call answering A's question
        {"CallSid": "CA-unknown", "Digits": "1"},
        {"Digits": "1"},  # no CallSid at all
    ):
        status, document = twilio.post(action_a, form)
        assert status == 200 and document is not None
        assert says(document) == [APOLOGY] and document.find("Hangup") is not None
        assert snapshot(app) == before

    # A's own call still answers A's question and hears the next one.
    status, document = twilio.post(action_a, {"CallSid": "CA-survey-a", "Digits": "1"})
    assert status == 200 and document is not None
    assert document.find("Gather") is not None and APOLOGY not in says(document)
    after = snapshot(app)
    [answer] = after["answers"]
    assert (answer[1], answer[4]) == ("csat", "1")
    assert ET.tostring(document).decode().count("nps") >= 1
