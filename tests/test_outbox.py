"""One way to enqueue: work asked for in a transaction reaches RQ after its commit, never after a
rollback, and no service reaches for the job layer itself."""

from __future__ import annotations

import ast
from pathlib import Path

from flask import Flask
from redis import Redis
from rq import Queue

from ivr.extensions import db
from ivr.jobs import SCORES_WAITING, SCORING_QUEUE
from ivr.outbox import Work, later

SERVICES = Path(__file__).resolve().parent.parent / "ivr" / "services"


def _queued(redis_url: str) -> list[str]:
    """The scoring queue's jobs (by kind) and the responses on the scoring list."""
    redis = Redis.from_url(redis_url)
    jobs = [job_id.rsplit("-", 1)[0] for job_id in Queue(SCORING_QUEUE, connection=redis).get_job_ids()]
    return jobs + [f"response {int(i)}" for i in redis.lrange(SCORES_WAITING, 0, -1)]


def test_work_is_enqueued_after_the_commit_and_dropped_with_a_rollback(
    app_factory,
    redis_url: str,  # type: ignore[no-untyped-def]
) -> None:
    app: Flask = app_factory(redis_url=redis_url)
    with app.app_context():
        later(Work.score_response, 41)
        db.session.rollback()
        later(Work.score_response, 42)
        assert _queued(redis_url) == []  # asked for, not yet committed
        db.session.commit()
        assert _queued(redis_url) == ["score-waiting", "response 42"]
        later(Work.score_response, 43)
        db.session.remove()  # a request's session ending without a commit
        db.session.commit()
        assert _queued(redis_url) == ["score-waiting", "response 42"]


def test_services_do_not_import_the_job_layer() -> None:
    offenders = []
    for path in sorted(SERVICES.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            if any(name == "ivr.jobs" or name.startswith("ivr.jobs.") for name in names):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
