"""Each notification channel against a real server on 127.0.0.1, and retries that end in failure."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import select

from ivr.extensions import db
from ivr.jobs import NOTIFICATIONS_QUEUE, QUEUES, SCORING_QUEUE
from ivr.models import Channel, Notification, NotificationStatus
from ivr.services.organisation import teams as organisation
from tests.helpers import ACCOUNT_SID, ALICE, AUTH_TOKEN, LOW, Twilio, set_up_team
from tests.local_servers import crm_verifies, http_recorder, smtp_server

SECRET = "crm-shared-secret"


def notifications(app: Flask) -> dict[Channel, Notification]:
    with app.app_context():
        found = db.session.scalars(select(Notification).filter_by(event="task_opened")).all()
        for note in found:
            note.attempt_log  # noqa: B018  (load before the session closes)
        return {note.channel: note for note in found}


def test_a_callback_task_is_announced_by_sms_email_and_signed_webhook(
    app_factory: Callable[..., Flask],
) -> None:
    with (
        smtp_server() as (smtp_port, inbox),
        http_recorder(secret=SECRET) as crm,
        http_recorder(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN) as twilio_api,
    ):
        app = app_factory(
            smtp_host="127.0.0.1",
            smtp_port=smtp_port,
            smtp_from="surveys@example.com",
            twilio_api_base_url=twilio_api.url,
            twilio_account_sid=ACCOUNT_SID,
            twilio_sms_from="+15550009999",
            public_base_url="https://survey.example.com",
        )
        set_up_team(
            app,
            channels=["sms", "email", "webhook"],
            webhook_url=crm.url + "/hooks/survey",
            webhook_secret=SECRET,
        )
        Twilio(app, app.test_client(), "https://survey.example.com").play(
            ALICE, LOW, from_number="+15551234567"
        )

        sent = notifications(app)
        assert {note.status for note in sent.values()} == {NotificationStatus.sent}
        assert all(note.attempts == 1 and note.attempt_log[0].ok for note in sent.values())

        # SMS: the real twilio client posted to the Messages API of the account, with its credentials.
        [sms] = twilio_api.received
        assert sms.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
        assert sms.form["To"] == "+15550000001" and sms.form["From"] == "+15550009999"
        assert "Callback needed" in sms.form["Body"] and "+15551234567" in sms.form["Body"]
        assert sent[Channel.sms].attempt_log[0].detail == "message SM" + "1".zfill(32)

        # E-mail: through SMTP to the team supervisor, with a link to the task.
        [mail] = [m for m in inbox if m["To"] == "sam@example.com"]
        assert mail["From"] == "surveys@example.com"
        assert mail["Subject"].startswith("Callback needed: alice, task ")
        assert "https://survey.example.com/api/callback-tasks/" in mail.get_payload(decode=True).decode()

        # Webhook: signed JSON the CRM can verify, with the answers and the agent chain.
        [hook] = crm.received
        assert hook.path == "/hooks/survey" and hook.valid_signature is True
        event = hook.json()
        assert event["event"] == "task_opened" and event["agent_chain"] == ["alice"]
        assert event["response"]["answers"] == {"csat": 1, "nps": 0}
        assert event["task"]["caller_number"] == "+15551234567"


def test_a_tampered_webhook_body_fails_the_signature_check() -> None:
    from ivr.channels.webhook import signature

    good = signature(SECRET, "1700000000", b'{"task": 1}')
    assert good != signature(SECRET, "1700000000", b'{"task": 2}')
    assert good != signature(SECRET, "1700000001", b'{"task": 1}')
    assert good != signature("another-secret", "1700000000", b'{"task": 1}')


def test_a_webhook_changed_in_transit_fails_the_crms_check(app: Flask) -> None:
    """The CRM's own check (as the README gives it) passes the genuine delivery, and nothing else."""
    with http_recorder(secret=SECRET) as crm:
        set_up_team(app, channels=["webhook"], webhook_url=crm.url + "/hooks/survey", webhook_secret=SECRET)
        Twilio(app, app.test_client()).play(ALICE, LOW)
    [genuine] = crm.received
    headers, body = genuine.headers, genuine.body
    timestamp = headers["X-Survey-Timestamp"]
    assert genuine.valid_signature is True and crm_verifies(SECRET, headers, body)

    tampered = body.replace(b'"caller_number": "+', b'"caller_number": "+1')
    assert tampered != body and not crm_verifies(SECRET, headers, tampered)
    later = {**headers, "X-Survey-Timestamp": str(int(timestamp) + 1)}
    assert not crm_verifies(SECRET, later, body)
    assert not crm_verifies("another-secret", headers, body)
    assert not crm_verifies(SECRET, {**headers, "X-Survey-Signature": ""}, body)
    # Replayed once its timestamp is more than five minutes old: refused though signed correctly.
    assert crm_verifies(SECRET, headers, body, now=int(timestamp) + 299)
    assert not crm_verifies(SECRET, headers, body, now=int(timestamp) + 301)


def test_a_failing_channel_retries_with_rq_and_ends_visibly_failed(
    app_factory: Callable[..., Flask], redis_url: str
) -> None:
    with http_recorder(status=503, secret=SECRET) as crm:
        app = app_factory(redis_url=redis_url, notification_retry_intervals=[0, 0])
        set_up_team(app, channels=["webhook"], webhook_url=crm.url, webhook_secret=SECRET)
        Twilio(app, app.test_client()).play(ALICE, LOW)

        connection = Redis.from_url(redis_url)
        with app.app_context():
            SimpleWorker([Queue(name, connection=connection) for name in QUEUES], connection=connection).work(
                burst=True
            )
        note = notifications(app)[Channel.webhook]
        # One attempt and two retries, each recorded, each reaching the CRM.
        assert len(crm.received) == 3 and all(r.valid_signature for r in crm.received)
        assert note.status is NotificationStatus.failed and note.attempts == 3
        assert [a.ok for a in note.attempt_log] == [False, False, False]
        assert note.last_error == f"POST {crm.url}: HTTP 503"
        assert Queue(NOTIFICATIONS_QUEUE, connection=connection).count == 0


def test_a_channel_that_recovers_is_sent_on_a_retry(
    app_factory: Callable[..., Flask], redis_url: str
) -> None:
    with http_recorder(account_sid=ACCOUNT_SID, auth_token="wrong-token") as twilio_api:
        app = app_factory(
            redis_url=redis_url,
            notification_retry_intervals=[0, 0],
            twilio_api_base_url=twilio_api.url,
            twilio_account_sid=ACCOUNT_SID,
            twilio_sms_from="MG" + "0" * 32,
        )
        set_up_team(app, channels=["sms"])
        with app.app_context():
            organisation.save_agent("alice", email="")  # only the supervisor's SMS is queued
        Twilio(app, app.test_client()).play(ALICE, LOW)
        connection = Redis.from_url(redis_url)
        queue = Queue(NOTIFICATIONS_QUEUE, connection=connection)
        with app.app_context():
            SimpleWorker([Queue(SCORING_QUEUE, connection=connection)], connection=connection).work(
                burst=True
            )
            # First attempt: Twilio refuses the credentials.
            SimpleWorker([queue], connection=connection).work(burst=True, max_jobs=1)
            note = notifications(app)[Channel.sms]
            assert note.status is NotificationStatus.pending and note.attempts == 1
            assert "Twilio refused the SMS: HTTP 401" in (note.last_error or "")
            twilio_api.auth_token = AUTH_TOKEN  # the account is fixed
            SimpleWorker([queue], connection=connection).work(burst=True)
        note = notifications(app)[Channel.sms]
        assert note.status is NotificationStatus.sent and note.attempts == 2
        assert [a.ok for a in note.attempt_log] == [False, True]
        assert twilio_api.received[-1].form["MessagingServiceSid"] == "MG" + "0" * 32
