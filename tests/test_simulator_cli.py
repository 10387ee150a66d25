"""`flask simulate` against a live HTTP server, as the README's quick start runs it."""

from __future__ import annotations

from flask import Flask

from ivr.services.insight import responses
from ivr.services.policy import OPERATOR


def test_simulate_plays_a_whole_survey_over_http(app: Flask, live_server: str) -> None:
    result = app.test_cli_runner().invoke(
        args=[
            "simulate",
            "--url",
            live_server,
            "--agent",
            "bob",
            "--lang",
            "es",
            "--keys",
            '6 2 "say:diez" 1 rec:9',
            "--call-sid",
            "CA-cli",
        ]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "  caller hears: Disculpe, esa no es una de las opciones." in lines
    assert lines[-3] == "  caller hears: Gracias por su opinión. Adiós."
    assert "call ended; 8 webhooks sent." in lines  # and the recording's status callback
    with app.app_context():
        [response] = responses.find_responses(OPERATOR, call_sid="CA-cli")
        assert response.agent is not None and response.agent.ref == "bob"
        assert {a.step_key: a.value for a in response.answers} == {
            "csat": "2",
            "nps": "10",
            "resolved": "yes",
            "comment": "recorded",
        }
        nps = next(a for a in response.answers if a.step_key == "nps")
        assert (nps.speech_result, nps.speech_confidence, nps.raw_input) == ("diez", 0.9, None)
        [recording] = response.recordings
        assert recording.duration_seconds == 9 and recording.status == "completed"
        assert recording.transcript_status.value == "not_requested"  # Twilio transcribes English only
        assert response.score is not None and response.score.csat == 2


def test_simulate_interactively_with_a_hang_up(app: Flask, live_server: str) -> None:
    result = app.test_cli_runner().invoke(
        args=["simulate", "--url", live_server, "--call-sid", "CA-typed"], input="\n4\nh\n"
    )
    assert result.exit_code == 0, result.output
    assert "caller hung up; 4 webhooks sent." in result.output
    with app.app_context():
        [response] = responses.find_responses(OPERATOR, call_sid="CA-typed")
        assert response.disposition.value == "partial"
        assert [(a.step_key, a.value, a.no_input_count) for a in response.answers] == [("csat", "4", 1)]


def test_simulate_says_clearly_when_the_server_is_not_running(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["simulate", "--url", "http://127.0.0.1:9", "--keys", "5"])
    assert result.exit_code == 1
    assert "Cannot reach http://127.0.0.1:9" in result.output and "make run" in result.output


def test_simulate_sms_plays_a_text_conversation_over_http(app: Flask, live_server: str) -> None:
    result = app.test_cli_runner().invoke(
        args=[
            "simulate",
            "--sms",
            "--url",
            live_server,
            "--from",
            "+15557650042",
            "--keys",
            '"5 - great" maybe 9 yes "Quick and friendly"',
        ]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].startswith("  caller reads: Thanks for calling Acme Support today.")
    assert "  caller reads: Sorry, we didn't get that. How likely are you to recommend us to a friend?" in (
        " ".join(lines)
    )
    assert lines[-2] == "  caller reads: Thank you for your feedback!"
    with app.app_context():
        [response] = responses.find_responses(OPERATOR)
        assert response.channel.value == "sms" and response.disposition.value == "completed"
        assert response.agent is not None and response.agent.ref == "client:alice"
        assert {a.step_key: a.value for a in response.answers} == {
            "csat": "5",
            "nps": "9",
            "resolved": "yes",
            "comment": "recorded",
        }
        assert response.recordings[0].transcript == "Quick and friendly"
        assert [t.status.value for t in response.texts if t.direction.value == "outbound"] == [
            "delivered"
        ] * 6
