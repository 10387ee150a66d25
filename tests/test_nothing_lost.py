"""Nothing acknowledged is lost: Redis stopped or restarted empty, a worker killed mid-job, deadlines on RQ.

These run real processes: a private redis-server that the test stops and starts again, and a
`flask worker` subprocess that the test kills.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from redis import Redis
from rq import Queue
from rq.registry import ScheduledJobRegistry
from sqlalchemy import update

from ivr.extensions import db
from ivr.jobs import SCHEDULED_QUEUE, SCORING_QUEUE
from ivr.jobs.scheduled import housekeeping, schedule_deadline
from ivr.models import CallbackTask, FeedbackItem, Score, TaskStatus
from tests.helpers import (
    ALICE,
    AUTH_TOKEN,
    LOW,
    POSTGRES_URL,
    SECRET_KEY,
    Twilio,
    rows,
    run_worker,
    set_up_team,
    utc,
)
from tests.local_servers import private_redis, running

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def test_redis_stopped_during_surveys_loses_nothing(app_factory: Callable[..., Flask]) -> None:
    with private_redis() as redis_server:
        app = app_factory(redis_url=redis_server.url)
        set_up_team(app)
        redis_server.stop()

        twilio = Twilio(app, app.test_client())
        for n in range(3):
            _, transcript = twilio.play(ALICE, ["1", "0", "1", "rec:4"], from_number=f"+1555000100{n}")
            # Every webhook still answered with TwiML, to the end of the survey.
            assert transcript.errors == [] and all(x.status in (200, 204) for x in transcript.exchanges)
            assert transcript.heard[-1] == "Thank you for your feedback. Goodbye."
        assert rows(app, Score) == [] and rows(app, CallbackTask) == []

        redis_server.start()
        with app.app_context():
            # What the scheduler does every minute (min_age 60 s in production).
            assert housekeeping(min_age_seconds=0).rescored == [1, 2, 3]
        run_worker(app, redis_server.url)

    assert [score.csat for score in rows(app, Score)] == [1, 1, 1]
    assert [task.caller_number for task in rows(app, CallbackTask)] == [
        "+15550001000",
        "+15550001001",
        "+15550001002",
    ]
    assert len(rows(app, FeedbackItem)) == 3


def test_a_scoring_job_redis_accepted_then_lost_is_enqueued_again(app_factory: Callable[..., Flask]) -> None:
    with private_redis() as redis_server:
        app = app_factory(redis_url=redis_server.url)
        set_up_team(app)
        Twilio(app, app.test_client()).play(ALICE, LOW, from_number="+15550001000")
        # Redis was up: the survey's scoring job is in the queue, and nothing has scored it yet.
        assert queued(redis_server.url, SCORING_QUEUE) == 1
        assert rows(app, Score) == [] and rows(app, CallbackTask) == []

        redis_server.stop()
        redis_server.start()  # no persistence: it comes back empty, the accepted job gone with it
        assert queued(redis_server.url, SCORING_QUEUE) == 0 and keys(redis_server.url) == 0

        with app.app_context():
            # What the scheduler does every minute (min_age 60 s in production).
            assert housekeeping(min_age_seconds=0).rescored == [1]
        assert queued(redis_server.url, SCORING_QUEUE) == 1
        run_worker(app, redis_server.url)

    assert [score.csat for score in rows(app, Score)] == [1]
    assert len(rows(app, FeedbackItem)) == 1
    assert [task.caller_number for task in rows(app, CallbackTask)] == ["+15550001000"]


def queued(redis_url: str, name: str) -> int:
    connection = Redis.from_url(redis_url)
    try:
        return Queue(name, connection=connection).count
    finally:
        connection.close()


def keys(redis_url: str) -> int:
    connection = Redis.from_url(redis_url)
    try:
        return int(connection.dbsize())
    finally:
        connection.close()


def _backends_busy(connection: psycopg.Connection) -> int:
    """Other sessions on this database inside a transaction (the worker's, until it is gone)."""
    row = connection.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        " AND backend_type = 'client backend' AND state IN ('active', 'idle in transaction')"
    ).fetchone()
    assert row is not None
    return int(row[0])


def _wait_for(predicate: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # a second process holds a lock
def test_a_worker_killed_mid_job_leaves_one_feedback_item_and_one_task(
    app_factory: Callable[..., Flask], redis_url: str, tmp_path: Path
) -> None:
    app = app_factory(redis_url=redis_url)
    set_up_team(app)
    Twilio(app, app.test_client()).play(ALICE, LOW)

    plain_url = POSTGRES_URL.replace("+psycopg", "")
    with psycopg.connect(plain_url, autocommit=False) as blocker:
        # Hold the task table: the job gets as far as the score and feedback item, then waits.
        blocker.execute("LOCK TABLE callback_tasks IN ACCESS EXCLUSIVE MODE")
        env = {
            **os.environ,
            "IVR_ENV": "test",
            "DATABASE_URL": POSTGRES_URL,
            "REDIS_URL": redis_url,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "SECRET_KEY": SECRET_KEY,
            "INSTANCE_DIR": str(tmp_path),
        }
        worker_command = [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst"]
        with (
            running(worker_command, cwd=PROJECT_ROOT, env=env) as worker,
            psycopg.connect(plain_url, autocommit=True) as watcher,
        ):
            _wait_for(
                lambda: (
                    watcher.execute(
                        "SELECT count(*) FROM pg_locks"
                        " WHERE relation = 'callback_tasks'::regclass AND NOT granted"
                    ).fetchone()
                    == (1,)
                ),
                30,
                "the scoring job to reach the callback task",
            )
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
            blocker.rollback()
            _wait_for(lambda: _backends_busy(watcher) == 0, 10, "PostgreSQL to roll back the killed job")

    # The killed job committed nothing: its score and feedback item went with it.
    assert rows(app, Score) == [] and rows(app, FeedbackItem) == []
    with app.app_context():
        # The scheduler's next housekeeping run (within two minutes) finds the response unscored.
        assert housekeeping(min_age_seconds=0).rescored == [1]
        assert housekeeping(min_age_seconds=0).rescored == [1]  # enqueued twice before any worker ran
    run_worker(app, redis_url)
    assert len(rows(app, Score)) == 1
    assert len(rows(app, FeedbackItem)) == 1
    assert len(rows(app, CallbackTask)) == 1


def test_a_deadline_is_an_rq_scheduled_job_that_escalates_once(
    app_factory: Callable[..., Flask], redis_url: str
) -> None:
    app = app_factory(redis_url=redis_url)
    set_up_team(app, channels=["email"])
    Twilio(app, app.test_client()).play(ALICE, LOW)
    run_worker(app, redis_url)
    [task] = rows(app, CallbackTask)

    connection = Redis.from_url(redis_url)
    registry = ScheduledJobRegistry(queue=Queue(SCHEDULED_QUEUE, connection=connection))
    assert registry.get_job_ids() == [f"escalate-task-{task.id}"]
    assert registry.get_scheduled_time(f"escalate-task-{task.id}") == utc(task.due_at).replace(microsecond=0)

    # Let the deadline pass: move it (and the scheduled job) a minute into the past.
    past = datetime.now(UTC) - timedelta(minutes=1)
    with app.app_context():
        db.session.execute(update(CallbackTask).values(due_at=past))
        db.session.commit()
        schedule_deadline(task.id, past)
    run_worker(app, redis_url, with_scheduler=True)  # RQ's scheduler moves the due job onto the queue

    [task] = rows(app, CallbackTask)
    assert task.status is TaskStatus.escalated and task.escalation_level == 1
    with app.app_context():
        schedule_deadline(task.id, past)  # the same deadline job again: no second escalation
    run_worker(app, redis_url, with_scheduler=True)
    [task] = rows(app, CallbackTask)
    assert task.escalation_level == 1
    with app.app_context():
        task = db.session.get(CallbackTask, task.id)
        assert [event.action for event in task.events] == ["opened", "escalated"]
