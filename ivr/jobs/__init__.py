"""Background jobs on RQ, enqueued only after the commit that makes their rows visible.

Services ask for work with ivr.outbox.later(); after the commit, ivr.jobs.relay turns each
request into its job here. Three named queues: `scoring` (score a response, close the loop),
`notifications` (deliver one SMS, e-mail or webhook, place an outbound survey call) and
`scheduled` (deadlines, digests, the sweepers).

Without REDIS_URL (the embedded default) a job runs in the same process right after the
commit, and nothing is scheduled for later: run `flask jobs housekeeping` from cron instead.
With Redis, a failure to enqueue is logged and left to the sweepers: the database row is the
truth, so a lost job delays work and never loses it.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry

log = logging.getLogger(__name__)

SCORING_QUEUE = "scoring"
NOTIFICATIONS_QUEUE = "notifications"
SCHEDULED_QUEUE = "scheduled"
# A worker takes jobs in this order: a score waiting is a callback task waiting.
QUEUES = (SCORING_QUEUE, NOTIFICATIONS_QUEUE, SCHEDULED_QUEUE)

DEFAULT_RETRY = Retry(max=3, interval=[5, 30, 120])

# Finished responses waiting for the scoring job (ivr.jobs.scoring.score_waiting), in order; and
# the flag saying a job to take them is queued or running. The flag expires, so a job lost with
# it (Redis restarted, a worker killed mid-job) holds new responses up for a minute at most; the
# sweepers score what such a loss left. A job runs for a few seconds at most.
SCORES_WAITING = "ivr:scores:waiting"
SCORES_JOB_QUEUED = "ivr:scores:job-queued"
SCORES_JOB_FLAG_SECONDS = 60


class JobQueue:
    def __init__(self, redis_url: str | None) -> None:
        # Short socket timeouts: a webhook must answer Twilio within 15 s even if Redis hangs.
        self.redis = (
            Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=2) if redis_url else None
        )

    @property
    def inline(self) -> bool:
        return self.redis is None

    def queue(self, name: str) -> Queue:
        if self.redis is None:
            raise RuntimeError("jobs run inline: there is no Redis queue")
        return Queue(name, connection=self.redis)

    def enqueue(
        self,
        func: Callable[..., Any],
        *args: Any,
        job_id: str,
        queue: str = SCORING_QUEUE,
        retry: Retry | None = DEFAULT_RETRY,
        at: datetime | None = None,
    ) -> bool:
        """Hand the job over; True when it is on its queue (or, inline, ran without an error).

        False is not an error to raise: the row is the truth and the sweepers hand it over again;
        callers that report to a person (`flask jobs sweep`) say which ones are waiting.
        """
        if self.redis is None:
            if at is not None:
                log.info("%s is due at %s; without Redis, `flask jobs housekeeping` runs it", job_id, at)
                return True
            from ivr.jobs.running import observed

            try:
                with observed(job_id, queue, func, will_retry=False):
                    func(*args)
            except Exception:
                log.exception("inline job %s failed; the sweepers will try again", job_id)
                return False
            return True
        options: dict[str, Any] = {
            "args": args,
            "job_id": job_id,
            # The database row is the job's result: nothing needs RQ to keep it in Redis.
            "result_ttl": 0,
            "retry": retry,
        }
        try:
            target = self.queue(queue)
            if at is None:
                target.enqueue_call(func, **options)
            else:
                target.enqueue_at(at, func, *args, job_id=job_id, result_ttl=0, retry=retry)
        except RedisError as exc:
            log.warning("could not enqueue %s (%s); the sweepers will enqueue it later", job_id, exc)
            return False
        return True

    def wait_for_scoring(self, response_ids: Sequence[int], job: Callable[[], object]) -> bool:
        """Put responses on the scoring list and make sure one `job` is queued to take them:
        under load a job scores dozens in one go instead of paying RQ's own work for each.

        Only with Redis (inline, score each through `enqueue`). False when Redis refused: the
        sweepers find the responses unscored and hand them over again.
        """
        assert self.redis is not None
        try:
            with self.redis.pipeline() as pipe:  # the ids and the flag together (MULTI)
                if response_ids:
                    pipe.rpush(SCORES_WAITING, *response_ids)
                pipe.set(SCORES_JOB_QUEUED, "1", nx=True, ex=SCORES_JOB_FLAG_SECONDS)
                job_needed = pipe.execute()[-1]
            if job_needed:
                self.queue(SCORING_QUEUE).enqueue_call(
                    job, job_id=f"score-waiting-{uuid.uuid4().hex[:16]}", result_ttl=0, retry=None
                )
        except RedisError as exc:
            log.warning("could not hand over responses %s (%s); the sweepers will", list(response_ids), exc)
            with contextlib.suppress(RedisError):  # else the flag expires by itself
                self.redis.delete(SCORES_JOB_QUEUED)
            return False
        return True


def init_app(app: Flask) -> None:
    from ivr.jobs.relay import relay
    from ivr.outbox import RELAY

    settings = app.extensions["ivr.settings"]
    app.extensions["ivr.jobs"] = JobQueue(settings.redis_url)
    app.extensions[RELAY] = relay


def job_queue() -> JobQueue:
    queue: JobQueue = current_app.extensions["ivr.jobs"]
    return queue
