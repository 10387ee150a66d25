"""Whole survey calls through the Twilio-facing URLs, asserting TwiML (parsed) and rows."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import func, select

from ivr.extensions import db
from ivr.models import (
    Agent,
    AgentLeg,
    AnswerStatus,
    Call,
    Disposition,
    FlowVersion,
    Score,
    SurveyResponse,
)
from tests.helpers import Twilio, answers_by_step, only_response, says

START = "/voice/survey?agent=alice&queue=billing&flow=post-call-csat&lang=en"


def test_full_survey_with_valid_keys_is_completed_scored_and_linked(app: Flask, twilio: Twilio) -> None:
    call, transcript = twilio.play(START, ["4", "9", "1", "rec:5"], from_number="+15551230000")

    assert transcript.errors == []
    assert transcript.heard[0].startswith("Thank you for staying on the line")
    assert transcript.heard[-1] == "Thank you for your feedback. Goodbye."
    first = transcript.exchanges[0]
    gather = ET.fromstring(first.body).find("Gather")
    assert gather is not None and gather.get("numDigits") == "1" and gather.get("input") == "dtmf speech"
    assert gather.get("language") == "en-US" and "very satisfied" in gather.get("hints", "")

    response = only_response(app)
    assert response.disposition is Disposition.completed
    assert response.call.call_sid == call.call_sid
    assert response.call.from_number == "+15551230000"
    assert response.agent is not None and response.agent.ref == "alice"
    assert [leg.agent.ref for leg in response.call.legs] == ["alice"]
    assert response.queue == "billing" and response.language == "en"
    assert response.flow_version.flow_key == "post-call-csat" and response.flow_version.version == 1
    answers = answers_by_step(response)
    assert {k: (a.status, a.raw_input, a.value, a.number) for k, a in answers.items()} == {
        "csat": (AnswerStatus.answered, "4", "4", 4),
        "nps": (AnswerStatus.answered, "9", "9", 9),
        "resolved": (AnswerStatus.answered, "1", "yes", None),
        "comment": (AnswerStatus.answered, transcript.recording_sids[0], "recorded", None),
    }
    # "resolved == no" is false, so the follow-up was never asked.
    assert "unresolved_reason" not in answers
    score = response.score
    assert score is not None
    assert (score.csat, score.nps, score.nps_category, score.resolved, score.extreme_low) == (
        4,
        9,
        "promoter",
        True,
        False,
    )


def test_spanish_caller_hears_spanish_and_the_follow_up_when_not_resolved(app: Flask, twilio: Twilio) -> None:
    _, transcript = twilio.play(START.replace("lang=en", "lang=es"), ["1", "0", "2", "3", "rec:6"])
    assert transcript.heard[-1] == "Gracias por su opinión. Adiós."
    response = only_response(app)
    assert response.language == "es"
    answers = answers_by_step(response)
    assert answers["unresolved_reason"].value == "transferred_too_often"
    assert response.score is not None and response.score.extreme_low is True
    assert response.score.nps_category == "detractor"


def test_unknown_language_asks_the_caller_then_falls_back_to_the_flow_default(
    app: Flask, twilio: Twilio
) -> None:
    _, transcript = twilio.play(START.replace("lang=en", "lang=fr"), ["-", "-", "!"])
    assert transcript.heard[:2] == ["For English, press 1.", "Para español, oprima 2."]
    assert transcript.heard[-1].startswith("How satisfied were you")  # the menu gave up: English
    response = only_response(app)
    assert (response.language, response.language_source.value) == ("en", "default")


def test_wrong_key_reprompts_then_skips_past_the_limit(app: Flask, twilio: Twilio) -> None:
    status, first = twilio.post(START, {"CallSid": "CA-wrong-key"})
    assert status == 200 and first is not None
    action = first.find("Gather").get("action")  # type: ignore[union-attr]

    status, reprompt = twilio.post(action, {"CallSid": "CA-wrong-key", "Digits": "9"})
    assert reprompt is not None
    assert says(reprompt)[0] == "Sorry, that isn't one of the choices."
    gather = reprompt.find("Gather")
    assert gather is not None and gather.get("action", "").endswith("/csat?ni=0&nm=1")
    assert says(gather)[0].startswith("How satisfied were you")

    _, second = twilio.post(gather.get("action", ""), {"CallSid": "CA-wrong-key", "Digits": "7"})
    gather = second.find("Gather")  # type: ignore[union-attr]
    assert gather is not None and gather.get("action", "").endswith("/csat?ni=0&nm=2")

    # The third wrong key is past the step's limit (2 retries): the step is skipped.
    _, moved_on = twilio.post(gather.get("action", ""), {"CallSid": "CA-wrong-key", "Digits": "0"})
    assert moved_on is not None
    gather = moved_on.find("Gather")
    assert gather is not None and "/nps?" in gather.get("action", "")
    assert says(moved_on)[0] == "Sorry, that isn't one of the choices."
    assert says(gather)[0].startswith("How likely are you to recommend us")

    response = only_response(app)
    csat = answers_by_step(response)["csat"]
    assert (csat.status, csat.raw_input, csat.value, csat.no_match_count) == (
        AnswerStatus.skipped,
        "0",
        None,
        3,
    )
    assert response.current_step == "nps"


def test_silence_reprompts_and_ends_politely_when_the_step_says_so(app: Flask, twilio: Twilio) -> None:
    # csat answered, nps answered, then silence on "resolved" (1 no-input retry, then end).
    _, transcript = twilio.play(START, ["5", "8", "-", "-"])
    assert "Sorry, I didn't hear anything." in transcript.heard
    assert transcript.heard[-1] == "We'll end the survey here. Thank you for your time. Goodbye."
    assert sum(heard.startswith("Was your issue resolved today?") for heard in transcript.heard) == 2

    response = only_response(app)
    assert response.disposition is Disposition.partial
    resolved = answers_by_step(response)["resolved"]
    assert (resolved.status, resolved.no_input_count, resolved.raw_input) == (AnswerStatus.skipped, 2, None)
    assert response.score is not None and response.score.csat == 5 and response.score.resolved is None


def test_silence_then_an_answer_keeps_the_retry_count(app: Flask, twilio: Twilio) -> None:
    twilio.play(START, ["-", "3", "!"])
    csat = answers_by_step(only_response(app))["csat"]
    assert (csat.value, csat.no_input_count, csat.no_match_count) == ("3", 1, 0)


def test_nps_ten_takes_two_keys(app: Flask, twilio: Twilio) -> None:
    _status, first = twilio.post(START, {"CallSid": "CA-nps"})
    _, nps_question = twilio.post(first.find("Gather").get("action"), {"CallSid": "CA-nps", "Digits": "5"})  # type: ignore[union-attr]
    gather = nps_question.find("Gather")  # type: ignore[union-attr]
    assert gather is not None
    assert (gather.get("numDigits"), gather.get("finishOnKey"), gather.get("timeout")) == ("2", "#", "3")

    # Two keys beyond the range are a wrong key, not a 1.
    _, reprompt = twilio.post(gather.get("action", ""), {"CallSid": "CA-nps", "Digits": "11"})
    assert says(reprompt)[0] == "Sorry, that isn't one of the choices."  # type: ignore[arg-type]
    _, next_question = twilio.post(
        reprompt.find("Gather").get("action"), {"CallSid": "CA-nps", "Digits": "10"}
    )  # type: ignore[union-attr]
    assert "resolved" in next_question.find("Gather").get("action")  # type: ignore[union-attr]

    nps = answers_by_step(only_response(app))["nps"]
    assert (nps.raw_input, nps.number, nps.no_match_count) == ("10", 10, 1)


def test_single_digit_nps_ended_by_pound(app: Flask, twilio: Twilio) -> None:
    twilio.play(START, ["5", "7#", "!"])
    assert answers_by_step(only_response(app))["nps"].number == 7


def test_hang_up_after_the_first_answer_is_partial_and_scored(app: Flask, twilio: Twilio) -> None:
    _call, transcript = twilio.play(START, ["1", "!"])
    assert transcript.hung_up_by_caller
    assert transcript.exchanges[-1].url.endswith("/voice/status")
    assert transcript.exchanges[-1].status == 204

    response = only_response(app)
    assert response.disposition is Disposition.partial
    assert response.ended_at is not None
    assert list(answers_by_step(response)) == ["csat"]
    assert response.score is not None and response.score.csat == 1 and response.score.extreme_low is True
    assert response.call.status == "completed"


def test_hang_up_before_any_answer_is_a_breakoff(app: Flask, twilio: Twilio) -> None:
    twilio.play(START, ["!"])
    response = only_response(app)
    assert response.disposition is Disposition.breakoff
    assert response.answers == []
    assert response.score is not None and response.score.extreme_low is False


def test_duplicate_delivery_stores_one_answer_and_moves_one_step(app: Flask, twilio: Twilio) -> None:
    _, first = twilio.post(START, {"CallSid": "CA-dup"})
    action = first.find("Gather").get("action")  # type: ignore[union-attr]
    _, once = twilio.post(action, {"CallSid": "CA-dup", "Digits": "4"})
    _, twice = twilio.post(action, {"CallSid": "CA-dup", "Digits": "4"})
    for document in (once, twice):
        assert document is not None
        assert "/nps?" in document.find("Gather").get("action")  # type: ignore[union-attr]
    # Even a retry carrying a different key does not overwrite what was stored.
    twilio.post(action, {"CallSid": "CA-dup", "Digits": "2"})

    # A repeated start does not open a second response either.
    _, restarted = twilio.post(START, {"CallSid": "CA-dup"})
    assert "/nps?" in restarted.find("Gather").get("action")  # type: ignore[union-attr]

    response = only_response(app)
    assert [(a.step_key, a.value) for a in response.answers] == [("csat", "4")]
    assert response.current_step == "nps"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AgentLeg)) == 1


def test_duplicate_status_callback_scores_once(app: Flask, twilio: Twilio) -> None:
    twilio.post(START, {"CallSid": "CA-status"})
    for _ in range(2):
        status, _ = twilio.post(
            "/voice/status", {"CallSid": "CA-status", "CallStatus": "completed", "CallDuration": "31"}
        )
        assert status == 204
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Score)) == 1
        call = db.session.scalar(select(Call))
        assert call is not None and call.duration_seconds == 31


def test_status_callback_in_progress_does_not_close_the_survey(app: Flask, twilio: Twilio) -> None:
    twilio.post(START, {"CallSid": "CA-ringing"})
    twilio.post("/voice/status", {"CallSid": "CA-ringing", "CallStatus": "in-progress"})
    assert only_response(app).disposition is Disposition.in_progress


def test_unknown_agent_is_recorded_not_dropped(app: Flask, twilio: Twilio) -> None:
    with app.app_context():
        db.session.add(Agent(ref="alice", display_name="Alice"))
        db.session.commit()
    twilio.play(START.replace("agent=alice", "agent=sip%3Anew.hire%40pbx.example.com"), ["5", "!"])
    with app.app_context():
        agents = {a.ref: a.auto_created for a in db.session.scalars(select(Agent))}
    assert agents == {"alice": False, "sip:new.hire@pbx.example.com": True}
    assert only_response(app).agent.ref == "sip:new.hire@pbx.example.com"  # type: ignore[union-attr]


def test_original_call_sid_links_the_survey_leg_to_the_support_call(app: Flask, twilio: Twilio) -> None:
    twilio.play(START + "&call=CA-original-support-call", ["5", "!"], call_sid="CA-survey-leg")
    response = only_response(app)
    assert response.call.call_sid == "CA-original-support-call"
    assert response.survey_call_sid == "CA-survey-leg"
    assert response.disposition is Disposition.partial


def test_unknown_flow_gets_an_apology_and_no_rows(app: Flask, twilio: Twilio) -> None:
    status, document = twilio.post("/voice/survey?flow=no-such-flow", {"CallSid": "CA-noflow"})
    assert status == 200 and document is not None
    assert says(document)[0].startswith("We're sorry")
    assert document[-1].tag == "Hangup"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 0


def test_a_changed_flow_file_makes_a_new_version_and_running_surveys_keep_theirs(
    app_factory,
    tmp_path,
    twilio: Twilio,  # type: ignore[no-untyped-def]
) -> None:
    import shutil

    flows = tmp_path / "flows"
    shutil.copytree("callflows", flows)
    first_app = app_factory(callflows_dir=flows)
    first = Twilio(first_app, first_app.test_client())
    _, opened = first.post(START, {"CallSid": "CA-v1"})
    action = opened.find("Gather").get("action")  # type: ignore[union-attr]

    path = flows / "post-call-csat.yaml"
    path.write_text(
        path.read_text().replace("title: Post-call satisfaction", "title: Post-call satisfaction v2")
    )
    second_app = app_factory(callflows_dir=flows)
    second = Twilio(second_app, second_app.test_client())
    second.play(START, ["5", "!"], call_sid="CA-v2")
    # The survey started on version 1 goes on, on the new app, with version 1.
    _, moved = second.post(action, {"CallSid": "CA-v1", "Digits": "3"})
    assert "/nps?" in moved.find("Gather").get("action")  # type: ignore[union-attr]

    with second_app.app_context():
        versions = {
            r.survey_call_sid: r.flow_version.version for r in db.session.scalars(select(SurveyResponse))
        }
        assert versions == {"CA-v1": 1, "CA-v2": 2}
        titles = [
            v.definition["flow"]["title"]
            for v in db.session.scalars(select(FlowVersion).order_by(FlowVersion.version))
        ]
        assert titles == [
            "Post-call satisfaction (CSAT, NPS, resolution)",
            "Post-call satisfaction v2 (CSAT, NPS, resolution)",
        ]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_on_postgresql_a_key_costs_two_statements_outside_any_transaction(app: Flask, twilio: Twilio) -> None:
    """The hottest path: read the state, then write the answer and the next state in one
    statement, each on its own (no BEGIN and COMMIT round trips). A key asked again writes nothing."""
    _, first = twilio.post(START, {"CallSid": "CA-keys"})
    csat = first.find("Gather").get("action")  # type: ignore[union-attr]
    sent: list[tuple[str, bool]] = []

    def watch(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        sent.append((statement.split()[0], conn.connection.driver_connection.autocommit))

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", watch)
    twilio.post(csat, {"CallSid": "CA-keys", "Digits": "9"})
    assert sent == [("SELECT", True)]
    sent.clear()
    _, nps = twilio.post(csat, {"CallSid": "CA-keys", "Digits": "4"})
    assert sent == [("SELECT", True), ("WITH", True)]
    assert "/nps?" in nps.find("Gather").get("action")  # type: ignore[union-attr]
    with app.app_context():
        sa.event.remove(db.engine, "before_cursor_execute", watch)
    response = only_response(app)
    assert answers_by_step(response)["csat"].value == "4"
    assert response.current_step == "nps"
