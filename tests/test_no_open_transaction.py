"""No connection of the app sits "idle in transaction": jobs, webhooks and commands end their sessions.

A worker that keeps a transaction open between jobs holds a snapshot (vacuum cannot clean behind
it) and locks that make a deploy's ALTER TABLE wait, and every webhook then queues behind that.
"""

from __future__ import annotations

import os
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from rq import Queue

from ivr.jobs import QUEUES
from ivr.models import FeedbackItem, Score
from tests.helpers import ALICE, AUTH_TOKEN, LOW, POSTGRES_URL, SECRET_KEY, Twilio, rows, set_up_team
from tests.local_servers import free_port, running

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PLAIN_URL = POSTGRES_URL.replace("+psycopg", "")


def _idle_in_transaction(watcher: psycopg.Connection) -> list[str]:
    """The last statement of every other connection to this database that sits in a transaction."""
    found = watcher.execute(
        "SELECT left(query, 100) FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
    ).fetchall()
    return [str(row[0]) for row in found]


def _wait_for(predicate: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # pg_stat_activity and real locks
def test_a_running_worker_holds_no_transaction_between_jobs(
    app_factory: Callable[..., Flask], redis_url: str, tmp_path: Path
) -> None:
    app = app_factory(redis_url=redis_url)
    set_up_team(app)
    twilio = Twilio(app, app.test_client())
    metrics_port = free_port()
    env = {
        **os.environ,
        "IVR_ENV": "test",
        "DATABASE_URL": POSTGRES_URL,
        "REDIS_URL": redis_url,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "SECRET_KEY": SECRET_KEY,
        "INSTANCE_DIR": str(tmp_path),
        "METRICS_PORT": str(metrics_port),
    }
    # No scheduler: nothing periodic runs to end a transaction left open by accident.
    worker_command = [sys.executable, "-m", "flask", "--app", "wsgi", "worker"]
    with (
        open(tmp_path / "worker.log", "wb") as worker_log,  # read it when this test fails
        running(worker_command, cwd=PROJECT_ROOT, env=env, stderr=worker_log),
        psycopg.connect(PLAIN_URL, autocommit=True) as watcher,
    ):
        # A burst of webhooks: whole calls whose scoring (then notification) jobs the worker runs.
        for n in range(5):
            twilio.play(ALICE, LOW, from_number=f"+1555000200{n}")
        _wait_for(lambda: len(rows(app, FeedbackItem)) == 5, 30, "the worker to score every response")
        _wait_for(lambda: _worker_idle(redis_url), 30, "the worker to finish every job")
        assert len(rows(app, Score)) == 5
        # The worker's own metrics (METRICS_PORT): the five scoring jobs it ran.
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as reply:
            exported = reply.read().decode()
        scored = [
            sample.value
            for family in text_string_to_metric_families(exported)
            for sample in family.samples
            if sample.name == "ivr_jobs_total"
            and sample.labels == {"queue": "scoring", "job": "score_response", "outcome": "succeeded"}
        ]
        assert scored == [5.0]

        # Every job has finished; nobody (worker, web) may be inside a transaction, now or while
        # the worker waits for the next job.
        for _ in range(10):
            assert _idle_in_transaction(watcher) == [], "a connection was left inside a transaction"
            time.sleep(0.1)

        # A deploy's migration takes an exclusive lock on a table the scoring jobs read: it must
        # get it at once while the worker is running, not wait for the worker's next job.
        started = time.monotonic()
        with psycopg.connect(PLAIN_URL, autocommit=False) as migration:
            migration.execute("SET lock_timeout = '5s'")
            migration.execute("ALTER TABLE notifications ADD COLUMN lock_probe integer")
            migration.execute("ALTER TABLE feedback_items ADD COLUMN lock_probe integer")
            migration.rollback()  # leave the schema as the migrations made it
        assert time.monotonic() - started < 5


def _worker_idle(redis_url: str) -> bool:
    connection = Redis.from_url(redis_url)
    try:
        queues = [Queue(name, connection=connection) for name in QUEUES]
        return all(queue.count == 0 and queue.started_job_registry.count == 0 for queue in queues)
    finally:
        connection.close()
