"""Outbound survey calls: placed by a job with the real twilio client against a stand-in for
Twilio's API, held back during quiet hours, refused for suppressed numbers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from flask import Flask
from redis import Redis
from rq import Queue
from rq.registry import ScheduledJobRegistry

from ivr.jobs import NOTIFICATIONS_QUEUE
from ivr.services import consent
from ivr.services.outbound import next_allowed, parse_quiet_hours
from tests.helpers import ACCOUNT_SID, API_KEY_HEADER, Twilio, run_worker
from tests.local_servers import HttpRecorder

PUBLIC = "https://survey.example.com"


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
        "call_sid": "CA-original",
        "agent": "alice",
        "queue": "billing",
        "lang": "en",
    }
    asked = client.post("/api/surveys", json=body, headers=API_KEY_HEADER)
    assert asked.status_code == 202 and asked.json["scheduled_for"] is None
    assert twilio_api.received == []  # the job places it, not the request
    run_worker(app, redis_url)

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
        "call": ["CA-original"],
    }

    # The caller answers: Twilio requests the URL on the new call.
    twilio = Twilio(app, client, base_url=PUBLIC)
    twilio.play(
        form["Url"].removeprefix(PUBLIC), ["4", "!"], call_sid="CA-outbound", from_number="+15557654321"
    )
    [response] = client.get("/api/responses?call_sid=CA-original", headers=API_KEY_HEADER).json["responses"]
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
        "/api/surveys", json={"to": "+15557654321", "time_zone": "Etc/UTC"}, headers=API_KEY_HEADER
    )
    assert asked.status_code == 202
    when = datetime.fromisoformat(asked.json["scheduled_for"])
    assert when.minute == 0 and timedelta(hours=1) <= when - now <= timedelta(hours=2)
    registry = ScheduledJobRegistry(queue=Queue(NOTIFICATIONS_QUEUE, connection=Redis.from_url(redis_url)))
    assert registry.get_job_ids() == [asked.json["job_id"]]
    assert registry.get_scheduled_time(asked.json["job_id"]) == when
    run_worker(app, redis_url)
    assert twilio_api.received == []  # still quiet

    no_zone = app.test_client().post("/api/surveys", json={"to": "+15557654322"}, headers=API_KEY_HEADER)
    assert no_zone.json["scheduled_for"] is None  # time zone unknown: no quiet hours to honour


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
    assert client.post("/api/surveys", json={}, headers=API_KEY_HEADER).status_code == 400
    bad = client.post("/api/surveys", json={"to": "5557654321"}, headers=API_KEY_HEADER)
    assert bad.status_code == 400 and "E.164" in bad.json["message"]
    zone = client.post(
        "/api/surveys", json={"to": "+15557654321", "time_zone": "Mars/Olympus"}, headers=API_KEY_HEADER
    )
    assert zone.status_code == 400 and "unknown time zone" in zone.json["message"]
    with app.app_context():
        consent.add_number("+15557654321")
    listed = client.post("/api/surveys", json={"to": "+15557654321"}, headers=API_KEY_HEADER)
    assert listed.status_code == 409 and "do-not-survey" in listed.json["message"]
    quiet = make_app(app_factory, twilio_api, quiet_hours="00:00-23:59")
    held = quiet.test_client().post(
        "/api/surveys", json={"to": "+15550000001", "time_zone": "UTC"}, headers=API_KEY_HEADER
    )
    assert held.status_code == 503 and "needs Redis" in held.json["message"]
    assert twilio_api.received == []
    no_caller_id = app_factory(twilio_api_base_url=twilio_api.url)
    refused = no_caller_id.test_client().post(
        "/api/surveys", json={"to": "+15550000001"}, headers=API_KEY_HEADER
    )
    assert refused.status_code == 409 and "TWILIO_CALLER_ID" in refused.json["message"]
