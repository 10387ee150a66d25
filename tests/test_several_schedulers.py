"""Two `flask worker --with-scheduler` on one Redis (the README's scaling guide): every deadline
escalates once and housekeeping, run by both at once, does its work once.

On PostgreSQL only: several worker machines means PostgreSQL (SQLite is the one-laptop default,
where two writer processes meet "database is locked")."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select, text, update

from ivr import create_app
from ivr.extensions import db
from ivr.jobs import SCORING_QUEUE
from ivr.jobs.scheduled import schedule_deadline
from ivr.models import Base, CallbackTask, CallbackTaskEvent, Score, SurveyResponse, utcnow
from tests.helpers import (
    ALICE,
    AUTH_TOKEN,
    LOW,
    POSTGRES_URL,
    SECRET_KEY,
    Twilio,
    make_settings,
    run_worker,
    set_up_team,
    unavailable,
)
from tests.local_servers import private_redis, running

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_two_workers_with_schedulers_escalate_each_deadline_once(
    database_urls: dict[str, str], tmp_path: Path
) -> None:
    if "postgresql" not in database_urls:
        unavailable(f"PostgreSQL at {POSTGRES_URL}")
    with private_redis() as redis:
        app = create_app(make_settings(database_urls["postgresql"], tmp_path, redis_url=redis.url))
        try:
            _two_workers(app, redis.url, tmp_path)
        finally:
            with app.app_context():
                db.session.remove()
                tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
                with db.engine.begin() as conn:
                    conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
                db.engine.dispose()


def _two_workers(app: Flask, redis_url: str, tmp_path: Path) -> None:
    if True:
        set_up_team(app)  # no channels: notifications are not what this test is about
        twilio = Twilio(app, app.test_client())
        for _ in range(3):
            twilio.play(ALICE, LOW)
        run_worker(app, redis_url, queues=[SCORING_QUEUE])  # three extreme lows: three tasks
        twilio.play(ALICE, ["4", "9", "1", "!"])  # a fourth response, left for housekeeping to score
        with app.app_context():
            tasks = list(db.session.scalars(select(CallbackTask.id).order_by(CallbackTask.id)))
            assert len(tasks) == 3
            past, soon = utcnow() - timedelta(minutes=1), utcnow() + timedelta(seconds=2)
            # One deadline already missed (its job gone: housekeeping finds it), two falling due
            # in 2 s through RQ's scheduler.
            db.session.execute(update(CallbackTask).where(CallbackTask.id == tasks[0]).values(due_at=past))
            db.session.execute(update(CallbackTask).where(CallbackTask.id != tasks[0]).values(due_at=soon))
            db.session.execute(update(SurveyResponse).values(ended_at=past))
            db.session.commit()
            for task_id in tasks[1:]:
                schedule_deadline(task_id, soon)

        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("IVR_", "FLASK_"))},
            "IVR_ENV": "test",
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": redis_url,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "SECRET_KEY": SECRET_KEY,
            "HOUSEKEEPING_INTERVAL_SECONDS": "1",
            "INSTANCE_DIR": str(tmp_path),
        }
        command = [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--with-scheduler"]
        logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
        with (
            logs[0].open("w") as out1,
            logs[1].open("w") as out2,
            running(command, cwd=PROJECT_ROOT, env=env, stdout=out1, stderr=subprocess.STDOUT),
            running(command, cwd=PROJECT_ROOT, env=env, stdout=out2, stderr=subprocess.STDOUT),
        ):
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and _escalated(app) < 3:
                time.sleep(0.2)
            time.sleep(3)  # a few more housekeeping rounds from both workers

        with app.app_context():
            events = db.session.scalars(
                select(CallbackTaskEvent.task_id).where(CallbackTaskEvent.action == "escalated")
            ).all()
            assert sorted(events) == tasks  # each deadline escalated exactly once
            levels = db.session.scalars(select(CallbackTask.escalation_level)).all()
            assert levels == [1, 1, 1]
            assert (
                db.session.scalar(select(func.count()).select_from(Score)) == 4
            )  # housekeeping scored it once
        for log in logs:
            # The only failures: feedback e-mail to the agent with no SMTP server (RQ logs them).
            output = log.read_text()
            assert output.count("Traceback") == output.count("DeliveryFailed: notification"), output


def _escalated(app: Flask) -> int:
    with app.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(CallbackTask).where(CallbackTask.escalation_level > 0)
        )
        db.session.remove()
        return int(count or 0)
