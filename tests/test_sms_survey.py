"""The survey by text message, end to end over real HTTP: a live server on 127.0.0.1 takes signed
Messaging webhooks from a texting phone (ivr.simulator.SimulatedPhone), and a stand-in for
Twilio's REST API receives the real twilio client's requests (the invitations). Voice calls reach
the same server as Twilio's webhooks would. On SQLite with jobs in process, and on PostgreSQL with
jobs on Redis run by an RQ worker."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import select, update
from werkzeug.serving import make_server

from ivr.extensions import db
from ivr.jobs.scheduled import housekeeping
from ivr.models import (
    Call,
    CallbackTask,
    Direction,
    Disposition,
    DoNotSurvey,
    OutboundState,
    OutboundSurvey,
    SurveyChannel,
    SurveyResponse,
    TextMessage,
    TextStatus,
)
from ivr.services.call_control import outbound
from ivr.services.consent import do_not_survey as consent
from ivr.services.consent import privacy
from ivr.services.insight import responses
from ivr.services.policy import OPERATOR
from ivr.simulator import SimulatedCall, SimulatedPhone, http_transport
from tests.helpers import ACCOUNT_SID, AUTH_TOKEN, run_worker
from tests.helpers import API_KEY_HEADER as KEY
from tests.local_servers import HttpRecorder, free_port

PHONE = "+15557654321"
SURVEY_NUMBER = "+15005550100"
SUPPORT = "+15005550001"  # the sample routing's support queue: invites by text, 5 minutes later
BILLING = "+15005550002"  # the billing queue: no text invitation


@dataclass
class Texting:
    """A live server, the phone that texts it, and Twilio's REST API stand-in."""

    app: Flask
    url: str
    twilio_api: HttpRecorder
    phone: SimulatedPhone
    redis_url: str | None
    delivered: int = 0

    def settle(self) -> None:
        """Run the jobs the last requests asked for (in process already, without Redis)."""
        if self.redis_url:
            run_worker(self.app, self.redis_url)

    def call(self, to: str, actions: list[str], from_number: str = PHONE) -> SimulatedCall:
        call = SimulatedCall(http_transport(), self.url, AUTH_TOKEN, from_number=from_number, to_number=to)
        call.run("/voice/incoming", iter(actions))
        self.settle()
        return call

    def time_passes(self) -> list[int]:
        """The invitation's delay has passed: housekeeping finds the survey due and sends it."""
        with self.app.app_context():
            db.session.execute(
                update(OutboundSurvey).values(call_at=datetime.now(UTC) - timedelta(minutes=1))
            )
            db.session.commit()
            due = housekeeping(min_age_seconds=0).outbound
        self.settle()
        return due

    def deliver(self, status: str = "delivered", error_code: str | None = None) -> list[str]:
        """Twilio delivers the texts sent through its API since the last call, and says so."""
        bodies = []
        for message in self.twilio_api.messages[self.delivered :]:
            assert message["to"] == self.phone.from_number
            assert urlsplit(message["status_callback"]).path == "/sms/status"
            self.phone.report(message["status_callback"], message["sid"], "sent")
            if status == "delivered":
                self.phone.receive(message["body"], message["status_callback"], message["sid"])
            else:
                self.phone.report(message["status_callback"], message["sid"], status, error_code)
            bodies.append(message["body"])
        self.delivered = len(self.twilio_api.messages)
        self.settle()
        return bodies

    def reply(self, body: str, message_sid: str | None = None) -> list[str]:
        exchange = self.phone.text(body, message_sid)
        assert exchange.status == 200
        self.settle()
        return exchange.replies

    def response(self) -> SurveyResponse:
        with self.app.app_context():
            [found] = [
                r for r in responses.find_responses(OPERATOR, limit=50) if r.channel is SurveyChannel.sms
            ]
            return found

    def rows(self, model: type) -> list:  # type: ignore[type-arg]
        with self.app.app_context():
            return list(db.session.scalars(select(model).order_by(model.id)))


@pytest.fixture
def texting(
    app_factory: Callable[..., Flask], twilio_api: HttpRecorder, backend: str, request: pytest.FixtureRequest
) -> Iterator[Texting]:
    redis_url = request.getfixturevalue("redis_url") if backend == "postgresql" else None
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = app_factory(
        twilio_api_base_url=twilio_api.url,
        twilio_account_sid=ACCOUNT_SID,
        twilio_sms_survey_from=SURVEY_NUMBER,
        public_base_url=url,
        redis_url=redis_url,
    )
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    phone = SimulatedPhone(http_transport(), url, AUTH_TOKEN, from_number=PHONE, to_number=SURVEY_NUMBER)
    try:
        yield Texting(app, url, twilio_api, phone, redis_url)
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_a_caller_who_hangs_up_at_the_invitation_answers_by_text_and_a_callback_task_quotes_them(
    texting: Texting,
) -> None:
    # Agrees to the survey, talks to alice, and hangs up as the survey's invitation begins.
    call = texting.call(SUPPORT, ["1", "dial:completed:60", "!"])
    call.post("/voice/status", {"CallStatus": "completed", "CallDuration": "9"})  # Twilio again
    [scheduled] = texting.rows(OutboundSurvey)
    assert (scheduled.channel, scheduled.state, scheduled.queue) == (
        SurveyChannel.sms,
        OutboundState.scheduled,
        "support",
    )
    assert texting.twilio_api.messages == []  # not before the queue's delay
    assert texting.time_passes() == [scheduled.id]

    [invitation] = texting.deliver()
    assert invitation.startswith(
        "Thanks for calling Acme Support today. Reply STOP to opt out. How satisfied"
    )
    assert "Reply 1 (very dissatisfied) to 5" in invitation
    [sent] = texting.twilio_api.messages
    assert (sent["from"], sent["to"]) == (SURVEY_NUMBER, PHONE)

    r = texting.reply("1")
    assert r[0].startswith("How likely are you to recommend us")
    assert texting.reply("zero") == ["Was your issue resolved? Reply YES or NO."]
    assert texting.reply("no")[0].startswith("Sorry to hear that. What went wrong?")
    assert texting.reply("still waiting") == ["Anything else you'd like to tell us? Reply in your own words."]
    assert texting.reply("they never called me back") == ["Thank you for your feedback!"]

    voice, response = texting.rows(SurveyResponse)
    assert (voice.channel, voice.disposition) == (SurveyChannel.voice, Disposition.breakoff)
    response = texting.response()
    assert (response.channel, response.disposition, response.queue) == (
        SurveyChannel.sms,
        Disposition.completed,
        "support",
    )
    assert response.agent is not None and response.agent.ref == "client:alice"
    assert response.call.call_sid == call.call_sid and response.survey_call_sid == f"sms-{scheduled.id}"
    values = {a.step_key: (a.value, a.raw_input) for a in response.answers}
    assert values == {
        "csat": ("1", "1"),
        "nps": ("0", "zero"),
        "resolved": ("no", "no"),
        "unresolved_reason": ("still_waiting", "still waiting"),
        "comment": ("recorded", response.recordings[0].recording_sid),
    }
    assert response.recordings[0].transcript == "they never called me back"
    assert response.score is not None and response.score.extreme_low
    [task] = texting.rows(CallbackTask)
    assert task.response_id == response.id and task.caller_number == PHONE
    assert response.feedback_item is not None
    assert response.feedback_item.verbatim == "they never called me back"
    # Every text of ours was delivered, and Twilio's callbacks said so.
    ours = [t for t in response.texts if t.direction is Direction.outbound]
    assert len(ours) == 6 and {t.status for t in ours} == {TextStatus.delivered}
    assert all(t.message_sid for t in ours)


@pytest.mark.parametrize(
    ("actions", "agent"),
    [
        (["!"], None),  # hangs up at the front door's "press 1 to take the survey"
        (["1", "dial:hangup:90"], "client:alice"),  # agrees, then hangs up on alice
    ],
)
def test_the_survey_by_text_is_linked_to_the_call_its_agent_and_queue(
    texting: Texting, actions: list[str], agent: str | None
) -> None:
    call = texting.call(SUPPORT, actions)
    texting.time_passes()
    texting.deliver()
    texting.reply("5 - great")
    response = texting.response()
    assert response.call.call_sid == call.call_sid
    assert (response.agent.ref if response.agent else None) == agent
    assert response.queue == "support" and response.flow_version.flow_key == "post-call-csat"
    assert response.language == "en" and response.answers[0].number == 5
    client = texting.app.test_client()
    listed = client.get("/api/responses?channel=sms", headers=KEY).json["responses"]
    assert [r["id"] for r in listed] == [response.id]
    assert listed[0]["channel"] == "sms" and listed[0]["texts"][0]["kind"] == "invitation"
    assert client.get("/api/responses?channel=voice", headers=KEY).json["responses"] == []


def test_callers_who_took_the_survey_by_voice_or_whose_queue_does_not_text_get_no_text(
    texting: Texting,
) -> None:
    texting.call(BILLING, ["!"], from_number="+15557650001")  # billing does not invite by text
    texting.call(SUPPORT, ["2", "dial:completed:60"], from_number="+15557650002")  # declined
    assert texting.rows(OutboundSurvey) == []


def test_an_unclear_reply_is_asked_again_once_with_the_valid_answers(texting: Texting) -> None:
    texting.call(SUPPORT, ["!"])
    texting.time_passes()
    texting.deliver()
    again = texting.reply("which agent?")
    assert again == [
        "Sorry, we didn't get that. How satisfied were you with the agent who helped you? "
        "Reply 1 (very dissatisfied) to 5 (very satisfied)."
    ]
    # A second unclear reply uses up the step: it is skipped and the next question asked.
    assert texting.reply("hmm")[0].startswith("Sorry, we didn't get that. How likely are you")
    assert texting.reply("ten") == ["Was your issue resolved? Reply YES or NO."]
    response = texting.response()
    answers = {a.step_key: a for a in response.answers}
    assert answers["csat"].status.value == "skipped" and answers["csat"].no_match_count == 2
    assert answers["nps"].number == 10
    kinds = [t.kind for t in response.texts if t.direction is Direction.inbound]
    assert kinds == ["unclear", "unclear", "answer"]


@pytest.mark.parametrize("when", ["at the invitation", "half-way"])
def test_stop_at_any_point_lists_the_number_and_is_confirmed_once(texting: Texting, when: str) -> None:
    texting.call(SUPPORT, ["!"])
    texting.time_passes()
    texting.deliver()
    if when == "half-way":
        texting.reply("4")
    assert texting.reply("Stop") == [
        "You're unsubscribed from Acme Support surveys and won't get any more. Thank you."
    ]
    assert texting.reply("STOP") == []  # confirmed once
    assert texting.reply("5") == []  # no survey is open any more
    response = texting.response()
    assert response.disposition is Disposition.refused
    assert [a.step_key for a in response.answers] == (["csat"] if when == "half-way" else [])
    assert response.score is not None  # scored like any survey that ended
    with texting.app.app_context():
        assert consent.is_listed(consent.number_hash(PHONE))
    [listed] = texting.rows(DoNotSurvey)
    assert listed.source.value == "opt_out"
    # The next call's caller is not texted: the list applies to calls and texts alike.
    texting.call(SUPPORT, ["!"])
    assert len(texting.rows(OutboundSurvey)) == 1


@pytest.mark.parametrize("word", ["unsubscribe", "CANCEL", "end", "Quit."])
def test_every_opt_out_word_stops(texting: Texting, word: str) -> None:
    texting.call(SUPPORT, ["!"])
    texting.time_passes()
    texting.deliver()
    assert len(texting.reply(word)) == 1
    assert texting.response().disposition is Disposition.refused


def test_help_says_who_is_asking_and_how_to_stop_and_keeps_the_question_open(texting: Texting) -> None:
    texting.call(SUPPORT, ["!"])
    texting.time_passes()
    texting.deliver()
    [help_text] = texting.reply("help")
    assert "Acme Support" in help_text and "STOP" in help_text
    assert texting.reply("3")[0].startswith("How likely")
    assert texting.response().answers[0].number == 3


def test_a_repeated_delivery_stores_one_answer_and_repeats_the_reply(texting: Texting) -> None:
    texting.call(SUPPORT, ["!"])
    texting.time_passes()
    texting.deliver()
    first = texting.phone.text("4")
    again = texting.phone.text("4", message_sid=first.message_sid)
    texting.settle()
    assert first.replies == again.replies and first.replies[0].startswith("How likely")
    response = texting.response()
    assert [a.step_key for a in response.answers] == ["csat"]
    inbound = [t for t in response.texts if t.direction is Direction.inbound]
    assert [t.message_sid for t in inbound] == [first.message_sid]


def test_a_survey_left_unanswered_expires_as_partial_and_is_scored(texting: Texting) -> None:
    texting.call(SUPPORT, ["!"])
    texting.time_passes()
    texting.deliver()
    texting.reply("2")
    with texting.app.app_context():
        assert housekeeping(min_age_seconds=0).expired_texts == []  # not yet 24 h
        db.session.execute(
            update(SurveyResponse).values(started_at=datetime.now(UTC) - timedelta(hours=24, minutes=1))
        )
        db.session.commit()
        [expired] = housekeeping(min_age_seconds=0).expired_texts
    texting.settle()
    response = texting.response()
    assert response.id == expired and response.disposition is Disposition.partial
    assert response.score is not None and response.score.csat == 2
    assert texting.reply("9") == []  # too late: nothing is open
    # The export says which channel each response came by.
    exported = texting.app.test_client().get("/api/exports/responses.jsonl", headers=KEY)
    assert exported.status_code == 200, exported.text
    assert [json.loads(line)["channel"] for line in exported.text.splitlines()] == ["sms"]


def test_quiet_hours_hold_the_invitation_until_morning_in_the_callers_time_zone(texting: Texting) -> None:
    with texting.app.app_context():
        evening = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)  # 21:30 in New York
        row = outbound.request_call(
            outbound.OutboundRequest(
                to=PHONE, queue="support", time_zone="America/New_York", channel=SurveyChannel.sms
            ),
            now=evening,
        )
        morning = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # 09:00 in New York
        assert row.call_at.replace(tzinfo=UTC) == morning and row.state is OutboundState.scheduled
        assert outbound.place(row.id, now=evening + timedelta(hours=3)) is None  # 00:30: still quiet
        assert texting.twilio_api.messages == []
        assert outbound.place(row.id, now=morning) is OutboundState.placed
    assert len(texting.deliver()) == 1


def test_a_spanish_conversation(texting: Texting) -> None:
    client = texting.app.test_client()
    asked = client.post("/api/surveys", json={"to": PHONE, "lang": "es", "channel": "sms"}, headers=KEY)
    assert asked.status_code == 202 and asked.json["channel"] == "sms"
    texting.settle()
    [invitation] = texting.deliver()
    assert invitation.startswith("Gracias por llamar hoy a Soporte Acme.")
    assert "¿Cómo le atendió el agente?" in invitation
    assert texting.reply("cinco")[0].startswith("¿Qué tan probable")
    assert texting.reply("10 - excelente") == ["¿Se resolvió su problema? Responda SI o NO."]
    assert texting.reply("Sí") == ["¿Algo más que quiera contarnos? Responda con sus propias palabras."]
    assert texting.reply("Todo muy bien, gracias") == ["¡Gracias por su opinión!"]
    response = texting.response()
    assert response.language == "es" and response.disposition is Disposition.completed
    assert {a.step_key: a.value for a in response.answers} == {
        "csat": "5",
        "nps": "10",
        "resolved": "yes",
        "comment": "recorded",
    }
    shown = client.get(asked.json["url"], headers=KEY).json
    assert (shown["state"], shown["response_id"]) == ("placed", response.id)


def test_a_failed_invitation_is_recorded_on_its_text_and_the_response(texting: Texting) -> None:
    texting.call(SUPPORT, ["!"])
    texting.time_passes()
    texting.deliver(status="undelivered", error_code="30003")
    response = texting.response()
    [invitation] = response.texts
    assert (invitation.kind, invitation.status, invitation.error_code) == (
        "invitation",
        TextStatus.undelivered,
        "30003",
    )
    assert response.disposition is Disposition.failed and response.score is not None
    [row] = texting.rows(OutboundSurvey)
    assert row.state is OutboundState.failed and "undelivered" in (row.last_error or "")
    shown = texting.app.test_client().get(f"/api/responses/{response.id}", headers=KEY).json
    assert shown["texts"][0]["status"] == "undelivered" and shown["disposition"] == "failed"


def test_twilio_refusing_the_invitation_fails_it_at_once(texting: Texting) -> None:
    texting.twilio_api.status, texting.twilio_api.error_code = 400, 21211
    texting.twilio_api.error_message = "The 'To' number is not a valid phone number."
    texting.call(SUPPORT, ["!"])
    texting.time_passes()
    [row] = texting.rows(OutboundSurvey)
    assert row.state is OutboundState.failed and "not a valid phone number" in (row.last_error or "")
    response = texting.response()
    assert response.disposition is Disposition.failed
    assert response.texts[0].status is TextStatus.failed and response.texts[0].error_code == "21211"


def test_webhooks_without_a_valid_signature_change_nothing(texting: Texting) -> None:
    forged = SimulatedPhone(http_transport(), texting.url, "not-the-auth-token", from_number=PHONE)
    exchange = forged.text("STOP")
    assert exchange.status == 403
    assert forged.report("/sms/status?m=1", "SM" + "0" * 32, "failed") == 403
    assert texting.rows(TextMessage) == [] and texting.rows(DoNotSurvey) == []


def test_the_api_says_what_is_missing_for_a_survey_by_text(
    app_factory: Callable[..., Flask],
) -> None:
    client = app_factory().test_client()
    asked = client.post("/api/surveys", json={"to": PHONE, "channel": "sms"}, headers=KEY)
    assert asked.status_code == 409 and "TWILIO_SMS_SURVEY_FROM" in asked.json["message"]
    wrong = client.post("/api/surveys", json={"to": PHONE, "channel": "fax"}, headers=KEY)
    assert wrong.status_code == 400


def test_the_retention_purge_removes_the_texts_words(texting: Texting) -> None:
    texting.call(SUPPORT, ["!"])
    texting.time_passes()
    texting.deliver()
    for reply in ("2", "3", "yes", "slow but fine"):
        texting.reply(reply)
    with texting.app.app_context():
        long_ago = datetime.now(UTC) - timedelta(days=40)
        db.session.execute(update(Call).values(started_at=long_ago))
        db.session.commit()
        assert privacy.purge_personal_data(30).responses == 1
    response = texting.response()
    assert response.texts and all(text.body is None for text in response.texts)
    assert response.recordings[0].transcript is None
    assert [a.value for a in response.answers] == ["2", "3", "yes", "recorded"]  # values stay
