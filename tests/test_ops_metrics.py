"""/metrics: Prometheus series after a whole call, behind a bearer token."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from rq import Queue, SimpleWorker

from ivr.jobs import QUEUES
from ivr.jobs.running import AppJob
from tests.helpers import ALICE, LOW, Twilio, set_up_team

TOKEN = "scrape-token-0123456789"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: FlaskClient) -> Samples:
    reply = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    assert reply.mimetype == "text/plain"
    found: Samples = {}
    for family in text_string_to_metric_families(reply.get_data(as_text=True)):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def work(app: Flask, redis_url: str) -> None:
    """What `flask worker` does, in this process: jobs run as AppJob (sessions ended, counted)."""
    connection = Redis.from_url(redis_url)
    try:
        with app.app_context():
            queues = [Queue(name, connection=connection) for name in QUEUES]
            SimpleWorker(queues, connection=connection, job_class=AppJob).work(burst=True)
    finally:
        connection.close()


def test_metrics_after_a_whole_call(app_factory: Callable[..., Flask], redis_url: str) -> None:
    app = app_factory(redis_url=redis_url, metrics_token=TOKEN)
    set_up_team(app, channels=["email"])  # no SMTP_HOST: the e-mail attempt fails, RQ retries it
    client = app.test_client()
    before = scrape(client)

    twilio = Twilio(app, client)
    _, transcript = twilio.play(ALICE, LOW)  # CSAT 1, NPS 0, hang-up: partial, extreme low
    assert twilio.post("/voice/status", {"CallSid": "CA" + "0" * 32}, signature="forged")[0] == 403
    queued = scrape(client)
    work(app, redis_url)
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    steps = sum(1 for x in transcript.exchanges if "/voice/survey/" in x.url)
    assert grew("ivr_webhook_duration_seconds_count", route="/voice/survey") == 1
    assert (
        grew("ivr_webhook_duration_seconds_count", route="/voice/survey/<int:response_id>/<step_key>")
        == steps
    )
    assert (
        grew("ivr_webhook_duration_seconds_count", route="/voice/status") == 2
    )  # the call's, the forged one
    assert value(after, "ivr_webhook_duration_seconds_bucket", route="/voice/survey", le="+Inf") >= 1
    assert grew("ivr_webhook_signature_failures_total") == 1
    assert grew("ivr_answers_stored_total") == 2
    assert grew("ivr_responses_ended_total", disposition="partial") == 1
    assert grew("ivr_jobs_total", queue="scoring", job="score_response", outcome="succeeded") == 1
    assert grew("ivr_jobs_total", queue="notifications", job="deliver_notification", outcome="retried") >= 1
    assert grew("ivr_job_duration_seconds_count", queue="scoring", job="score_response") == 1
    assert grew("ivr_notification_attempts_total", channel="email", result="failed") >= 1

    # Read at scrape time: the queue before and after the worker, the task the low score opened.
    assert value(queued, "ivr_rq_queue_depth", queue="scoring") == 1
    assert value(queued, "ivr_rq_oldest_job_age_seconds", queue="scoring") >= 0
    assert value(after, "ivr_rq_queue_depth", queue="scoring") == 0
    assert value(after, "ivr_rq_oldest_job_age_seconds", queue="scoring") == 0
    assert value(after, "ivr_rq_scheduled_jobs", queue="notifications") >= 1  # the retry
    assert value(after, "ivr_redis_up") == 1 and value(after, "ivr_database_up") == 1
    assert value(after, "ivr_callback_tasks_open") == 1
    assert value(after, "ivr_callback_tasks_overdue") == 0


def test_metrics_need_the_token(app_factory: Callable[..., Flask]) -> None:
    client = app_factory(metrics_token=TOKEN).test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_metrics_are_off_without_a_token(client: FlaskClient) -> None:
    assert client.get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 404
