"""Prometheus metrics (prometheus-client): counted in process, queues and tasks read at scrape time.

Counters and histograms cost a lock and an addition, so the webhook path pays nothing more (no
database or Redis round trip). Queue depths, the oldest job's age and the open and overdue
callback tasks are read only when Prometheus scrapes /metrics. Under gunicorn (several
processes) set PROMETHEUS_MULTIPROC_DIR so that a scrape sums every process's samples.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Blueprint, Flask, Response, abort, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select
from sqlalchemy import event as sa_event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ivr.settings import Settings, settings

WEBHOOK_SECONDS = Histogram(
    "ivr_webhook_duration_seconds",
    "Time to answer a Twilio webhook, by route.",
    ["route"],
    # Twilio gives up at 15 s; the target is p99 under 100 ms.
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0),
)
SIGNATURE_FAILURES = Counter(
    "ivr_webhook_signature_failures_total", "Webhooks refused for a bad or missing X-Twilio-Signature."
)
ANSWERS_STORED = Counter(
    "ivr_answers_stored_total", "Survey answers stored (a repeated delivery counts once)."
)
RESPONSES_ENDED = Counter(
    "ivr_responses_ended_total", "Survey responses that reached a final disposition.", ["disposition"]
)
JOBS = Counter(
    "ivr_jobs_total",
    "Background jobs run, by queue, job and outcome (succeeded, failed, retried: failed and to run again).",
    ["queue", "job", "outcome"],
)
JOB_SECONDS = Histogram("ivr_job_duration_seconds", "Time a background job ran.", ["queue", "job"])
NOTIFICATION_ATTEMPTS = Counter(
    "ivr_notification_attempts_total", "Notification delivery attempts.", ["channel", "result"]
)

_AFTER_COMMIT = "ivr.ops.metrics"


def count_after_commit(counter: Any, session: Session) -> None:
    """Count `counter` (a child with its labels) once the session's transaction commits."""
    session.info.setdefault(_AFTER_COMMIT, []).append(counter)


@sa_event.listens_for(Session, "after_commit")
def _counted(session: Session) -> None:
    for counter in session.info.pop(_AFTER_COMMIT, ()):
        counter.inc()


@sa_event.listens_for(Session, "after_rollback")
def _not_counted(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)


class ScrapeTimeCollector(Collector):
    """What is read when Prometheus scrapes: RQ queues (Redis) and callback tasks (one COUNT)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from _queue_metrics()
        yield from _task_metrics()


def _queue_metrics() -> Iterator[GaugeMetricFamily]:
    from redis.exceptions import RedisError
    from rq.job import Job

    from ivr.jobs import QUEUES, job_queue

    jobs = job_queue()
    if jobs.inline:
        return
    depth = GaugeMetricFamily("ivr_rq_queue_depth", "Jobs waiting in each RQ queue.", labels=["queue"])
    age = GaugeMetricFamily(
        "ivr_rq_oldest_job_age_seconds", "Age of the oldest job waiting in each RQ queue.", labels=["queue"]
    )
    failed = GaugeMetricFamily(
        "ivr_rq_failed_jobs", "Jobs in each queue's failed registry.", labels=["queue"]
    )
    scheduled = GaugeMetricFamily(
        "ivr_rq_scheduled_jobs", "Jobs scheduled for later (deadlines, retries).", labels=["queue"]
    )
    up = GaugeMetricFamily("ivr_redis_up", "1 when Redis answered this scrape.")
    try:
        for name in QUEUES:
            queue = jobs.queue(name)
            depth.add_metric([name], queue.count)
            oldest = queue.get_job_ids(0, 0)
            job = Job.fetch(oldest[0], connection=queue.connection) if oldest else None
            enqueued = job.enqueued_at if job is not None else None
            age.add_metric([name], max(time.time() - enqueued.timestamp(), 0.0) if enqueued else 0.0)
            failed.add_metric([name], queue.failed_job_registry.count)
            scheduled.add_metric([name], queue.scheduled_job_registry.count)
    except RedisError:
        up.add_metric([], 0)
        yield up
        return
    up.add_metric([], 1)
    yield from (depth, age, failed, scheduled, up)


def _task_metrics() -> Iterator[GaugeMetricFamily]:
    from ivr.extensions import db
    from ivr.models import CallbackTask, TaskStatus, utcnow

    not_done = CallbackTask.status != TaskStatus.done
    overdue = case((CallbackTask.due_at < utcnow(), 1), else_=0)
    try:
        opened, late = db.session.execute(
            select(func.count(CallbackTask.id), func.coalesce(func.sum(overdue), 0)).where(not_done)
        ).one()
    except SQLAlchemyError:
        db.session.rollback()
        yield GaugeMetricFamily("ivr_database_up", "1 when the database answered this scrape.", value=0)
        return
    db.session.rollback()
    yield GaugeMetricFamily("ivr_database_up", "1 when the database answered this scrape.", value=1)
    yield GaugeMetricFamily("ivr_callback_tasks_open", "Callback tasks not yet done.", value=opened)
    yield GaugeMetricFamily(
        "ivr_callback_tasks_overdue", "Callback tasks not done whose deadline has passed.", value=late
    )


def process_registry() -> Any:
    """What this process exposes: every process's samples in multiprocess mode, else its own."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


class _Both(Collector):
    def __init__(self, *sources: Any) -> None:
        self.sources = sources

    def collect(self) -> Iterable[Any]:
        for source in self.sources:
            yield from source.collect()


bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    token = settings().metrics_token
    if not token:
        abort(404)
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return Response("unauthorized\n", 401, {"WWW-Authenticate": "Bearer"}, mimetype="text/plain")
    body = generate_latest(_Both(process_registry(), ScrapeTimeCollector()))
    return Response(body, mimetype=CONTENT_TYPE_LATEST)


def _start_timer() -> None:
    if request.blueprint == "voice":
        g.ivr_webhook_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.pop("ivr_webhook_started", None)
    if started is not None and request.url_rule is not None:
        WEBHOOK_SECONDS.labels(request.url_rule.rule).observe(time.perf_counter() - started)
    return response


def serve_worker_metrics(config: Settings) -> int | None:
    """`flask worker`: its own metrics on METRICS_HOST:METRICS_PORT (off without the port)."""
    if config.metrics_port is None:
        return None
    start_http_server(config.metrics_port, addr=config.metrics_host, registry=process_registry())
    return config.metrics_port


def init_app(app: Flask) -> None:
    app.before_request(_start_timer)
    app.after_request(_observe)
    app.register_blueprint(bp)
