"""Voice comments, spoken answers, the language menu and recorded prompts, through whole calls."""

from __future__ import annotations

import shutil
import struct
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ivr.extensions import db
from ivr.flows.schema import ChoiceStep, RatingStep, YesNoStep
from ivr.flows.speech import Vocabulary, match, normalise
from ivr.models import CallbackTask, Sentiment, TranscriptStatus
from ivr.services.conversation.flow_versions import registry
from ivr.services.insight import responses
from ivr.services.policy import OPERATOR
from ivr.simulator import CallTranscript
from tests.helpers import API_KEY_HEADER, AUTH_TOKEN, Twilio, answers_by_step, only_response, says
from tests.local_servers import http_recorder

ROOT = Path(__file__).resolve().parent.parent
START = "/voice/survey?agent=alice&queue=billing&lang=en"
ANGRY = "The agent was rude and I am very angry. This was terrible service and a waste of my time."


def response_json(client: FlaskClient) -> dict:  # type: ignore[type-arg]
    [response] = client.get("/api/responses", headers=API_KEY_HEADER).json["responses"]  # type: ignore[index]
    return response  # type: ignore[no-any-return]


# -- voice comments ---------------------------------------------------------------------------


def test_comment_transcript_arriving_after_the_call_rescores_and_opens_a_callback_task(
    app: Flask, client: FlaskClient, twilio: Twilio
) -> None:
    call = twilio.call(from_number="+15557654321")
    # Middling keys (CSAT 3, NPS 6, resolved): not an extreme low by the keypad.
    transcript = call.run(START, iter(["3", "6", "1", f"rec:14:{ANGRY}"]), send_late_callbacks=False)

    record_turn = next(ET.fromstring(x.body) for x in transcript.exchanges if x.body.find("<Record") >= 0)
    assert says(record_turn) == [
        "Your comment will be recorded and transcribed so that we can follow up. "
        "If you would rather not be recorded, you can hang up now.",
        "Finally, please tell us in your own words how we did. "
        "Speak after the beep, and press the pound key when you are done.",
    ]
    record = record_turn.find("Record")
    assert record is not None
    assert (record.get("maxLength"), record.get("finishOnKey"), record.get("playBeep")) == ("60", "#", "true")
    assert record.get("transcribe") == "true" and record.get("transcribeCallback", "").endswith("/comment")
    assert record.get("recordingStatusCallback", "").startswith("/voice/recordings/")
    # Silence makes Twilio skip the action: the Redirect then reports it to the same step.
    assert record_turn.find("Redirect").text == record.get("action")  # type: ignore[union-attr]
    assert transcript.heard[-1] == "Thank you for your feedback. Goodbye."

    response = only_response(app)
    assert response.disposition.value == "completed"
    assert response.score is not None and response.score.extreme_low is False
    assert response.score.sentiment is None and response.score.sentiment_label is None
    [recording] = response.recordings
    assert recording.transcript_status is TranscriptStatus.pending and recording.duration_seconds == 14
    assert [t.agent_id for t in _tasks(app)] == []

    # After the call: the recording status callback, then the transcript.
    call.send_late_callbacks()
    assert [x.url.split("/voice/")[1].split("/")[0] for x in transcript.exchanges[-3:]] == [
        "status",
        "recordings",
        "transcriptions",
    ]
    response = only_response(app)
    [recording] = response.recordings
    assert recording.status == "completed" and recording.transcript == ANGRY
    assert recording.sentiment_label is Sentiment.negative and recording.sentiment <= -0.5  # type: ignore[operator]
    score = response.score
    assert score is not None and score.extreme_low is True and score.csat == 3
    assert score.sentiment == recording.sentiment and score.sentiment_label is Sentiment.negative
    [task] = _tasks(app)
    assert task.caller_number == "+15557654321"
    assert response.feedback_item is not None and response.feedback_item.verbatim == ANGRY
    assert response_json(client)["score"]["sentiment_label"] == "negative"


def test_a_kind_comment_does_not_tip_the_rule(app: Flask, twilio: Twilio) -> None:
    twilio.play(START, ["3", "6", "1", "rec:9:Thank you, the agent was great and very helpful."])
    response = only_response(app)
    assert response.score is not None and response.score.extreme_low is False
    assert response.score.sentiment_label is Sentiment.positive and response.score.sentiment > 0.5  # type: ignore[operator]


def test_too_short_and_empty_recordings_are_silence(app: Flask, twilio: Twilio) -> None:
    # A 1-second comment (below min_length 2), then a comment long enough.
    _, transcript = twilio.play(START, ["5", "9", "1", "rec:1", "rec:6"])
    assert transcript.heard.count("Sorry, I didn't hear anything.") == 1
    comment = answers_by_step(only_response(app))["comment"]
    assert (comment.status.value, comment.value, comment.no_input_count) == ("answered", "recorded", 1)
    assert [r.duration_seconds for r in only_response(app).recordings] == [6]


def test_no_comment_at_all_skips_the_step_and_still_completes(
    app_factory: Callable[..., Flask],
) -> None:
    app = app_factory()
    twilio = Twilio(app, app.test_client())
    # Nothing recorded (Twilio follows the Redirect), then a 1-second one: past the retry.
    _, transcript = twilio.play(START, ["5", "9", "1", "rec:0", "rec:1"])
    assert transcript.heard[-2:] == [
        "Sorry, I didn't hear anything.",
        "Thank you for your feedback. Goodbye.",
    ]
    response = only_response(app)
    comment = answers_by_step(response)["comment"]
    assert (comment.status.value, comment.value, comment.no_input_count) == ("skipped", None, 2)
    assert response.disposition.value == "completed" and response.recordings == []


def test_recording_callback_saves_the_comment_when_the_caller_hangs_up_as_it_ends(
    app: Flask, twilio: Twilio
) -> None:
    call = twilio.call()
    call.run(START, iter(["5", "9", "1"]))  # the caller hangs up at the beep ...
    assert only_response(app).disposition.value == "partial"
    response_id = only_response(app).id
    form = {
        "CallSid": call.call_sid,
        "RecordingSid": "RE" + "1" * 32,
        "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE" + "1" * 32,
        "RecordingDuration": "7",
        "RecordingStatus": "completed",
    }
    # ... but Twilio kept 7 seconds, and tells us so: the comment is saved and the response rescored.
    for _ in range(2):  # delivered twice: stored once
        status, _ = twilio.post(f"/voice/recordings/{response_id}/comment", form)
        assert status == 204
    response = only_response(app)
    comment = answers_by_step(response)["comment"]
    assert (comment.value, comment.raw_input) == ("recorded", "RE" + "1" * 32)
    assert [r.status for r in response.recordings] == ["completed"]


def test_spanish_comment_is_not_scored_never_neutral(app: Flask, twilio: Twilio) -> None:
    call, transcript = twilio.play(START.replace("lang=en", "lang=es"), ["3", "6", "1", "rec:8"])
    record = _record_verb(transcript)
    assert record is not None and record.get("transcribe") is None  # Twilio transcribes English only
    response = only_response(app)
    [recording] = response.recordings
    assert recording.transcript_status is TranscriptStatus.not_requested
    # A transcript from elsewhere (a speech provider posting the same callback) is kept, not judged.
    twilio.post(
        f"/voice/transcriptions/{response.id}/comment",
        {
            "CallSid": call.call_sid,  # the survey's own call: another call's would be ignored
            "RecordingSid": recording.recording_sid,
            "TranscriptionStatus": "completed",
            "TranscriptionText": "El agente fue muy grosero, un servicio terrible.",
        },
    )
    response = only_response(app)
    assert response.recordings[0].sentiment_label is Sentiment.not_scored
    assert response.recordings[0].sentiment is None
    assert response.score is not None and response.score.sentiment_label is Sentiment.not_scored
    assert response.score.sentiment is None and response.score.extreme_low is False


# -- recordings are streamed, never linked --------------------------------------------------


def test_recording_audio_needs_a_key_and_is_streamed_with_the_account_credentials(
    app_factory: Callable[..., Flask],
) -> None:
    audio = b"ID3" + bytes(range(256)) * 40
    account = "AC" + "7" * 32
    with http_recorder(account_sid=account, auth_token=AUTH_TOKEN) as twilio_api:
        app = app_factory(twilio_api_base_url=twilio_api.url, twilio_account_sid=account)
        client = app.test_client()
        _, transcript = Twilio(app, client).play(START, ["5", "9", "1", "rec:6"])
        [sid] = transcript.recording_sids
        twilio_api.recordings[sid] = audio
        url = response_json(client)["recordings"][0]["audio_url"]
        assert url == f"/api/recordings/{sid}" and "twilio.com" not in str(response_json(client))

        assert client.get(url).status_code == 401
        assert client.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert twilio_api.received == []  # refused before anything reached Twilio

        played = client.get(url, headers=API_KEY_HEADER)
        assert played.status_code == 200 and played.mimetype == "audio/mpeg"
        assert played.data == audio and played.headers["Cache-Control"] == "private, no-store"
        [fetch] = twilio_api.received
        assert fetch.path == f"/2010-04-01/Accounts/{account}/Recordings/{sid}.mp3"

        seek = client.get(url, headers={**API_KEY_HEADER, "Range": "bytes=100-199"})
        assert seek.status_code == 206 and seek.data == audio[100:200]
        assert seek.headers["Content-Range"] == f"bytes 100-199/{len(audio)}"

        assert client.get("/api/recordings/RE" + "0" * 32, headers=API_KEY_HEADER).status_code == 404
        del twilio_api.recordings[sid]
        gone = client.get(url, headers=API_KEY_HEADER)
        assert gone.status_code == 502 and "404" in gone.json["message"]  # type: ignore[index]


# -- spoken answers ---------------------------------------------------------------------------


def test_spoken_answers_in_english_with_a_low_confidence_one_asked_again(app: Flask, twilio: Twilio) -> None:
    _, transcript = twilio.play(
        START, ["say:Very satisfied!", "say:nine@0.2", "say:Nine.", "say:yes, it was", "rec:4"]
    )
    assert transcript.heard.count("Sorry, that isn't one of the choices.") == 1
    answers = answers_by_step(only_response(app))
    assert {k: (a.value, a.speech_result, a.raw_input) for k, a in answers.items() if k != "comment"} == {
        "csat": ("5", "Very satisfied!", None),
        "nps": ("9", "Nine.", None),
        "resolved": ("yes", "yes, it was", None),
    }
    assert answers["nps"].no_match_count == 1 and answers["nps"].speech_confidence == 0.9
    assert only_response(app).score.csat == 5  # type: ignore[union-attr]


def test_spoken_answers_in_spanish(app: Flask, twilio: Twilio) -> None:
    _, transcript = twilio.play(
        START.replace("lang=en", "lang=es"),
        ["say:Muy insatisfecho", "say:dos", "say:No, para nada", "say:me transfirieron tres veces", "rec:5"],
    )
    gather = ET.fromstring(transcript.exchanges[0].body).find("Gather")
    assert (
        gather is not None
        and gather.get("language") == "es-US"
        and "muy satisfecho" in gather.get("hints", "")
    )
    answers = answers_by_step(only_response(app))
    assert {k: a.value for k, a in answers.items()} == {
        "csat": "1",
        "nps": "2",
        "resolved": "no",
        "unresolved_reason": "transferred_too_often",
        "comment": "recorded",
    }


def test_an_unclear_or_contradictory_phrase_is_asked_again(app: Flask, twilio: Twilio) -> None:
    twilio.play(START, ["say:I want a pizza", "say:four or five", "say:four", "!"])
    csat = answers_by_step(only_response(app))["csat"]
    assert (csat.value, csat.no_match_count) == ("4", 2)


def test_matching_rules() -> None:
    csat = RatingStep(kind="rating", key="csat", prompt="csat.question", min=1, max=5, speech=True)
    words = Vocabulary(
        numbers={"one": 1, "five": 5, "ten": 10},
        yes=("yes", "sí"),
        no=("no", "not really"),
        answers={"csat.question": {"satisfied": 4, "not satisfied": 2, "very satisfied": 5}},
    )
    assert normalise("¡Sí, CLARO!") == "si claro"
    assert match(csat, words, "Not satisfied.") == ("2", 2)  # the longest phrase wins
    assert match(csat, words, "very satisfied, five") == ("5", 5)  # two ways to say one value
    assert match(csat, words, "3") == ("3", 3)
    assert match(csat, words, "ten") is None  # off the scale
    assert match(csat, words, "satisfied or not satisfied") is None
    yes_no = YesNoStep(kind="yes_no", key="resolved", prompt="resolved.question", speech=True)
    assert match(yes_no, words, "Si") == ("yes", None)
    assert match(yes_no, words, "not really, no") == ("no", None)
    choice = ChoiceStep(kind="choice", key="r", prompt="r.q", options={1: "billing", 2: "other"}, speech=True)
    assert match(choice, Vocabulary(answers={"r.q": {"my bill": "billing"}}), "About my bill.") == (
        "billing",
        None,
    )


# -- languages ---------------------------------------------------------------------------------


def test_language_menu_when_the_ivr_did_not_say(app: Flask, twilio: Twilio) -> None:
    status, menu = twilio.post("/voice/survey?agent=alice", {"CallSid": "CA-menu"})
    assert status == 200 and menu is not None
    spoken = [(s.text, s.get("language"), s.get("voice")) for s in menu.iter("Say")]
    assert spoken == [
        ("For English, press 1.", "en-US", "Polly.Joanna"),
        ("Para español, oprima 2.", "es-US", "Polly.Lupe"),
    ]
    _, transcript = twilio.play("/voice/survey?agent=alice", ["7", "2", "5", "!"])
    assert transcript.heard[2] == "Sorry, that isn't one of the choices."  # 7 is not on the menu
    assert transcript.heard[5].startswith("Gracias por quedarse en la línea")
    response = next(r for r in _responses(app) if r.survey_call_sid != "CA-menu")
    assert (response.language, response.language_source.value) == ("es", "menu")
    assert answers_by_step(response)["language"].value == "es"
    assert answers_by_step(response)["csat"].number == 5


def test_the_ivr_language_skips_the_menu(app: Flask, twilio: Twilio) -> None:
    _, transcript = twilio.play("/voice/survey?agent=alice&lang=es", ["!"])
    assert transcript.heard[0].startswith("Gracias por quedarse")
    response = only_response(app)
    assert response.language_source.value == "ivr" and "language" not in answers_by_step(response)


def _wav() -> bytes:
    samples = b"\x00\x00" * 800
    header = b"RIFF" + struct.pack("<I", 36 + len(samples)) + b"WAVEfmt "
    header += (
        struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16) + b"data" + struct.pack("<I", len(samples))
    )
    return header + samples


@pytest.fixture
def recorded_prompts(tmp_path: Path) -> Path:
    prompts = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts", prompts)
    (prompts / "en" / "audio").mkdir()
    (prompts / "en" / "audio" / "csat.question.wav").write_bytes(_wav())
    return prompts


def test_a_recorded_prompt_is_played_and_served_with_caching_headers(
    app_factory: Callable[..., Flask], recorded_prompts: Path
) -> None:
    app = app_factory(prompts_dir=recorded_prompts)
    client = app.test_client()
    twilio = Twilio(app, client)
    _, english = twilio.post(START, {"CallSid": "CA-audio"})
    gather = english.find("Gather")  # type: ignore[union-attr]
    assert gather is not None and [s.text for s in gather.iter("Say")] == []
    [play] = gather.iter("Play")
    assert play.text is not None and play.text.startswith("/voice/prompts/en/csat.question.wav?v=")
    # The intro has no recording: it is spoken.
    assert says(english)[0].startswith("Thank you for staying on the line")  # type: ignore[arg-type]
    _, spanish = twilio.post(START.replace("lang=en", "lang=es"), {"CallSid": "CA-audio-es"})
    assert list(spanish.iter("Play")) == []  # type: ignore[union-attr]

    with client.get(play.text) as served:
        assert served.status_code == 200 and served.data == _wav() and "wav" in served.mimetype
        assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        etag = served.headers["ETag"]
    with client.get(play.text, headers={"If-None-Match": etag}) as again:
        assert again.status_code == 304
    assert client.get("/voice/prompts/en/missing.wav").status_code == 404
    assert client.get("/voice/prompts/en/..%2Flanguage.yaml").status_code == 404


def test_a_new_recording_is_a_new_flow_version(
    app_factory: Callable[..., Flask], recorded_prompts: Path
) -> None:
    app = app_factory(prompts_dir=recorded_prompts)
    with app.app_context():
        first = registry().flows["post-call-csat"].audio["en"]["csat.question"]
    (recorded_prompts / "en" / "audio" / "csat.question.wav").write_bytes(_wav() + b"\x01\x00")
    app = app_factory(prompts_dir=recorded_prompts)
    with app.app_context():
        second = registry().flows["post-call-csat"].audio["en"]["csat.question"]
    assert first != second and first.split("?v=")[0] == second.split("?v=")[0]


def _tasks(app: Flask) -> list[CallbackTask]:
    with app.app_context():
        return list(db.session.scalars(select(CallbackTask)))


def _responses(app: Flask) -> list:  # type: ignore[type-arg]
    with app.app_context():
        found = responses.find_responses(OPERATOR)
        for response in found:
            _ = response.answers  # loaded while the session is open
        return found


def _record_verb(transcript: CallTranscript) -> ET.Element | None:
    return next(ET.fromstring(x.body).find("Record") for x in transcript.exchanges if "<Record" in x.body)
