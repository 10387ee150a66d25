"""How the worker runs one job: its session ends with it, its log lines carry its id, it is counted.

`flask worker` keeps one app context for its whole life, so without this the session (and its
PostgreSQL transaction) outlives each job: a job whose last statement was a read leaves the
connection "idle in transaction" until the next job, holding a snapshot vacuum cannot pass and
locks a migration's ALTER TABLE waits for (and every webhook then queues behind the migration).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rq.job import Job

from ivr.db import end_session
from ivr.ops import logs
from ivr.ops.metrics import JOB_SECONDS, JOBS


@contextmanager
def observed(job_id: str, queue: str, func: Callable[..., Any] | str, will_retry: bool) -> Iterator[None]:
    """Log context and metrics for one run of a job (on RQ, or inline without Redis)."""
    name = func if isinstance(func, str) else getattr(func, "__name__", str(func))
    name = name.rsplit(".", 1)[-1]
    started = time.perf_counter()
    outcome = "retried" if will_retry else "failed"
    try:
        with logs.job_context(job_id, queue):
            yield
        outcome = "succeeded"
    finally:
        JOBS.labels(queue, name, outcome).inc()
        JOB_SECONDS.labels(queue, name).observe(time.perf_counter() - started)


class AppJob(Job):
    """An RQ job that commits (or, when it raised, rolls back) and removes its session at the end."""

    def perform(self) -> Any:
        ok = False
        try:
            name = self.func_name or "unknown"
            with observed(self.id, self.origin, name, will_retry=bool(self.retries_left)):
                result = super().perform()
            ok = True
            return result
        finally:
            end_session(commit=ok)
