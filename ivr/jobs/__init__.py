"""Background jobs on RQ, enqueued only after the commit that makes their rows visible.

Without REDIS_URL (the embedded default) a job runs in the same process right after the
commit. With Redis, a failure to enqueue is logged and left to the sweeper: the database row
is the truth, so a lost job delays work and never loses it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry

log = logging.getLogger(__name__)

SCORING_QUEUE = "scoring"
QUEUES = (SCORING_QUEUE,)


class JobQueue:
    def __init__(self, redis_url: str | None) -> None:
        # Short socket timeouts: a webhook must answer Twilio within 15 s even if Redis hangs.
        self.redis = (
            Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=2) if redis_url else None
        )

    def queue(self, name: str) -> Queue:
        if self.redis is None:
            raise RuntimeError("jobs run inline: there is no Redis queue")
        return Queue(name, connection=self.redis)

    def enqueue(self, func: Callable[..., Any], *args: Any, job_id: str, queue: str = SCORING_QUEUE) -> None:
        if self.redis is None:
            try:
                func(*args)
            except Exception:
                log.exception("inline job %s failed; the sweeper will try again", job_id)
            return
        try:
            # The database row is the job's result: nothing needs RQ to keep it in Redis.
            self.queue(queue).enqueue_call(
                func, args=args, job_id=job_id, result_ttl=0, retry=Retry(max=3, interval=[5, 30, 120])
            )
        except RedisError as exc:
            log.warning("could not enqueue %s (%s); the sweeper will enqueue it later", job_id, exc)


def init_app(app: Flask) -> None:
    settings = app.extensions["ivr.settings"]
    app.extensions["ivr.jobs"] = JobQueue(settings.redis_url)


def job_queue() -> JobQueue:
    queue: JobQueue = current_app.extensions["ivr.jobs"]
    return queue


def enqueue(func: Callable[..., Any], *args: Any, job_id: str, queue: str = SCORING_QUEUE) -> None:
    job_queue().enqueue(func, *args, job_id=job_id, queue=queue)
