"""Outbound survey calls: placed by a job with the real twilio client against a stand-in for
Twilio's API, held back during quiet hours, refused for suppressed numbers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from redis import Redis
from rq import Queue
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select, update

from ivr.extensions import db
from ivr.jobs import NOTIFICATIONS_QUEUE
from ivr.jobs.scheduled import housekeeping
from ivr.models import OutboundState, OutboundSurvey
from ivr.services.call_control.outbound import next_allowed, parse_quiet_hours
from ivr.services.consent import do_not_survey as consent
from tests.helpers import ACCOUNT_SID, AUTH_TOKEN, POSTGRES_URL, Twilio, run_worker
from tests.helpers import API_KEY_HEADER as KEY
from tests.local_servers import HttpRecorder, private_redis

PUBLIC = "https://survey.example.com"
ORIGINAL = "CA" + "0a" * 16


def make_app(app_factory: Callable[..., Flask], twilio_api: HttpRecorder, **settings: object) -> Flask:
    return app_factory(
        twilio_api_base_url=twilio_api.url,
        twilio_account_sid=ACCOUNT_SID,
        twilio_caller_id="+15005550100",
        public_base_url=PUBLIC,
        **settings,
    )


def test_a_job_places_the_call_and_the_survey_links_to_the_original_call(
    app_factory: Callable[..., Flask], twilio_api: HttpRecorder, redis_url: str
) -> None:
    app = make_app(app_factory, twilio_api, redis_url=redis_url)
    client = app.test_client()
    body = {
        "to": "+15557654321",
        "call_sid": ORIGINAL,
        "agent": "alice",
        "queue": "billing",
        "lang": "en",
    }
    asked = client.post("/api/surveys", json=body, headers=KEY)
    assert asked.status_code == 202
    assert (asked.json["state"], asked.json["to"], asked.json["attempts"]) == ("scheduled", "+•••••••4321", 0)
    assert asked.json["url"] == f"/api/surveys/{asked.json['id']}"
    assert twilio_api.received == []  # the job places it, not the request
    run_worker(app, redis_url)
    shown = client.get(asked.json["url"], headers=KEY).json
    assert (shown["state"], shown["attempts"], shown["last_error"]) == ("placed", 1, None)
    assert shown["call_sid"] == twilio_api.calls[0]["sid"]

    [placed] = twilio_api.received
    assert placed.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    form = placed.form
    assert (form["To"], form["From"], form["Method"]) == ("+15557654321", "+15005550100", "POST")
    assert form["StatusCallback"] == f"{PUBLIC}/voice/status"
    url = urlsplit(form["Url"])
    assert parse_qs(url.query) == {
        "agent": ["alice"],
        "queue": ["billing"],
        "flow": ["post-call-csat"],
        "lang": ["en"],
        "call": [ORIGINAL],
    }

    # The caller answers: Twilio requests the URL on the new call.
    twilio = Twilio(app, client, base_url=PUBLIC)
    twilio.play(
        form["Url"].removeprefix(PUBLIC), ["4", "!"], call_sid="CA-outbound", from_number="+15557654321"
    )
    [response] = client.get(f"/api/responses?call_sid={ORIGINAL}", headers=KEY).json["responses"]
    assert (response["survey_call_sid"], response["agent"], response["disposition"]) == (
        "CA-outbound",
        "alice",
        "partial",
    )


def test_quiet_hours_in_the_callers_time_zone_hold_the_call(
    app_factory: Callable[..., Flask], twilio_api: HttpRecorder, redis_url: str
) -> None:
    now = datetime.now(UTC)
    quiet = f"{(now - timedelta(hours=1)):%H}:00-{(now + timedelta(hours=2)):%H}:00"  # now is inside
    app = make_app(app_factory, twilio_api, redis_url=redis_url, quiet_hours=quiet)
    asked = app.test_client().post(
        "/api/surveys", json={"to": "+15557654321", "time_zone": "Etc/UTC"}, headers=KEY
    )
    assert asked.status_code == 202 and asked.json["state"] == "scheduled"
    when = datetime.fromisoformat(asked.json["scheduled_for"])
    assert when.minute == 0 and timedelta(hours=1) <= when - now <= timedelta(hours=2)
    registry = ScheduledJobRegistry(queue=Queue(NOTIFICATIONS_QUEUE, connection=Redis.from_url(redis_url)))
    job_id = f"outbound-survey-{asked.json['id']}"
    assert registry.get_job_ids() == [job_id]
    assert registry.get_scheduled_time(job_id) == when
    run_worker(app, redis_url)
    assert twilio_api.received == []  # still quiet
    with app.app_context():
        assert housekeeping(min_age_seconds=0).outbound == []  # not due: housekeeping leaves it too

    no_zone = app.test_client().post("/api/surveys", json={"to": "+15557654322"}, headers=KEY)
    # Time zone unknown: no quiet hours to honour, due now.
    assert datetime.fromisoformat(no_zone.json["scheduled_for"]) - now < timedelta(minutes=1)


def test_quiet_hours_arithmetic() -> None:
    new_york, quiet = ZoneInfo("America/New_York"), parse_quiet_hours("21:00-09:00")
    late = datetime(2026, 11, 23, 22, 30, tzinfo=new_york)
    assert next_allowed(late, new_york, quiet) == datetime(2026, 11, 24, 9, 0, tzinfo=new_york)
    early = datetime(2026, 11, 23, 7, 45, tzinfo=new_york)
    assert next_allowed(early, new_york, quiet) == datetime(2026, 11, 23, 9, 0, tzinfo=new_york)
    assert next_allowed(datetime(2026, 11, 23, 12, 0, tzinfo=new_york), new_york, quiet) is None
    lunch = parse_quiet_hours("12:00-13:30")
    assert next_allowed(datetime(2026, 11, 23, 12, 10, tzinfo=UTC), ZoneInfo("UTC"), lunch) == datetime(
        2026, 11, 23, 13, 30, tzinfo=UTC
    )


def test_refusals_say_why(app_factory: Callable[..., Flask], twilio_api: HttpRecorder) -> None:
    app = make_app(app_factory, twilio_api)
    client = app.test_client()
    assert client.post("/api/surveys", json={"to": "+15557654321"}).status_code == 401
    assert client.post("/api/surveys", json={}, headers=KEY).status_code == 400
    bad = client.post("/api/surveys", json={"to": "5557654321"}, headers=KEY)
    assert bad.status_code == 400 and "E.164" in bad.json["message"]
    zone = client.post("/api/surveys", json={"to": "+15557654321", "time_zone": "Mars/Olympus"}, headers=KEY)
    assert zone.status_code == 400 and "unknown time zone" in zone.json["message"]
    with app.app_context():
        consent.add_number("+15557654321")
    listed = client.post("/api/surveys", json={"to": "+15557654321"}, headers=KEY)
    assert listed.status_code == 409 and "do-not-survey" in listed.json["message"]
    for bad in (
        {"to": "+15557654321", "call_sid": "CA-original"},
        {"to": "+15557654321", "agent": "a" * 256},
    ):
        refused = client.post("/api/surveys", json=bad, headers=KEY)
        assert refused.status_code == 400, bad
    assert client.post("/api/surveys", json={"to": "+15557654321", "lang": 5}, headers=KEY).status_code == 400
    assert twilio_api.received == []
    no_caller_id = app_factory(twilio_api_base_url=twilio_api.url)
    refused = no_caller_id.test_client().post("/api/surveys", json={"to": "+15550000001"}, headers=KEY)
    assert refused.status_code == 409 and "TWILIO_CALLER_ID" in refused.json["message"]


def outbound_rows(app: Flask) -> list[OutboundSurvey]:
    with app.app_context():
        rows = list(db.session.scalars(select(OutboundSurvey).order_by(OutboundSurvey.id)))
        db.session.expunge_all()
        return rows


def test_without_redis_a_held_call_waits_for_housekeeping(
    app_factory: Callable[..., Flask], twilio_api: HttpRecorder
) -> None:
    """Embedded default: the row holds the call through quiet hours; housekeeping (cron) places it."""
    app = make_app(app_factory, twilio_api, quiet_hours="00:00-23:59")
    held = app.test_client().post(
        "/api/surveys", json={"to": "+15550000001", "time_zone": "UTC"}, headers=KEY
    )
    assert held.status_code == 202 and held.json["state"] == "scheduled"
    assert twilio_api.calls == []
    with app.app_context():
        db.session.execute(update(OutboundSurvey).values(call_at=datetime.now(UTC) - timedelta(minutes=5)))
        db.session.commit()
        assert housekeeping(min_age_seconds=60).outbound == [held.json["id"]]
    [row] = outbound_rows(app)
    assert row.state is OutboundState.placed and len(twilio_api.calls) == 1


def test_redis_down_when_asked_loses_no_call(
    app_factory: Callable[..., Flask], twilio_api: HttpRecorder
) -> None:
    """Today's bug: 202 with nothing queued. Now the row is there, and housekeeping places it later."""
    with private_redis() as redis_server:
        app = make_app(app_factory, twilio_api, redis_url=redis_server.url)
        redis_server.stop()
        asked = app.test_client().post("/api/surveys", json={"to": "+15557654321"}, headers=KEY)
        assert asked.status_code == 202 and asked.json["state"] == "scheduled"
        redis_server.start()
        with app.app_context():
            assert housekeeping(min_age_seconds=0).outbound == [asked.json["id"]]
        run_worker(app, redis_server.url)
        with app.app_context():
            assert housekeeping(min_age_seconds=0).outbound == []  # placed: nothing left to do
        run_worker(app, redis_server.url)
    [row] = outbound_rows(app)
    assert row.state is OutboundState.placed and row.call_sid == twilio_api.calls[0]["sid"]
    assert len(twilio_api.calls) == 1


def test_consent_is_checked_again_when_the_call_is_placed(
    app_factory: Callable[..., Flask], twilio_api: HttpRecorder, redis_url: str
) -> None:
    now = datetime.now(UTC)
    quiet = f"{(now - timedelta(hours=1)):%H}:00-{(now + timedelta(hours=2)):%H}:00"
    app = make_app(app_factory, twilio_api, redis_url=redis_url, quiet_hours=quiet)
    asked = app.test_client().post(
        "/api/surveys", json={"to": "+15557654321", "time_zone": "Etc/UTC"}, headers=KEY
    )
    assert asked.json["state"] == "scheduled"
    with app.app_context():
        consent.add_number("+15557654321", note="asked by phone while the call waited")
        db.session.execute(update(OutboundSurvey).values(call_at=now - timedelta(minutes=1)))
        db.session.commit()
        housekeeping(min_age_seconds=0)
    run_worker(app, redis_url)
    [row] = outbound_rows(app)
    assert row.state is OutboundState.refused and "do-not-survey" in (row.last_error or "")
    assert twilio_api.calls == []


def test_a_lost_reply_from_twilio_does_not_dial_twice(
    app_factory: Callable[..., Flask], twilio_api: HttpRecorder, redis_url: str
) -> None:
    """Twilio created the call but its answer was lost: the retry finds the call on Twilio."""
    app = make_app(app_factory, twilio_api, redis_url=redis_url)
    twilio_api.lose_create_reply = True
    asked = app.test_client().post("/api/surveys", json={"to": "+15557654321"}, headers=KEY)
    run_worker(app, redis_url)  # the job fails uncertainly; RQ schedules its retry
    [row] = outbound_rows(app)
    assert row.state is OutboundState.placing and "HTTP 500" in (row.last_error or "")
    twilio_api.lose_create_reply = False
    with app.app_context():
        assert housekeeping(min_age_seconds=0).outbound == [asked.json["id"]]
    run_worker(app, redis_url)
    [row] = outbound_rows(app)
    assert row.state is OutboundState.placed and row.call_sid == twilio_api.calls[0]["sid"]
    assert len(twilio_api.calls) == 1  # asked Twilio, did not dial again


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # a second process holds the row
def test_a_worker_killed_mid_placement_does_not_dial_twice(
    app_factory: Callable[..., Flask], twilio_api: HttpRecorder, redis_url: str, tmp_path: Path
) -> None:
    app = make_app(app_factory, twilio_api, redis_url=redis_url)
    asked = app.test_client().post("/api/surveys", json={"to": "+15557654321"}, headers=KEY)
    twilio_api.create_delay = 30  # Twilio takes the call, and the worker dies before it hears back
    env = {
        **os.environ,
        "IVR_ENV": "test",
        "DATABASE_URL": POSTGRES_URL,
        "REDIS_URL": redis_url,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_API_BASE_URL": twilio_api.url,
        "TWILIO_CALLER_ID": "+15005550100",
        "PUBLIC_BASE_URL": PUBLIC,
        "SECRET_KEY": "test-secret-key-0123456789",
        "INSTANCE_DIR": str(tmp_path),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not twilio_api.calls:
            assert time.monotonic() < deadline, "the worker never asked Twilio to call"
            time.sleep(0.05)
    finally:
        worker.kill()
        worker.wait(timeout=10)
    twilio_api.create_delay = 0
    [row] = outbound_rows(app)
    assert row.state is OutboundState.placing and row.call_sid is None
    with app.app_context():
        assert housekeeping(min_age_seconds=0).outbound == []  # the attempt may still be in flight
        # Time passes: longer than any attempt can take.
        db.session.execute(
            update(OutboundSurvey).values(placing_started_at=datetime.now(UTC) - timedelta(minutes=2))
        )
        db.session.commit()
        assert housekeeping(min_age_seconds=0).outbound == [asked.json["id"]]
    run_worker(app, redis_url)
    [row] = outbound_rows(app)
    assert row.state is OutboundState.placed and row.call_sid == twilio_api.calls[0]["sid"]
    assert len(twilio_api.calls) == 1
