"""How the worker runs one job: whatever happens, the job's database session ends with it.

`flask worker` keeps one app context for its whole life, so without this the session (and its
PostgreSQL transaction) outlives each job: a job whose last statement was a read leaves the
connection "idle in transaction" until the next job, holding a snapshot vacuum cannot pass and
locks a migration's ALTER TABLE waits for (and every webhook then queues behind the migration).
"""

from __future__ import annotations

import logging
from typing import Any

from rq.job import Job

from ivr.db import end_session

log = logging.getLogger(__name__)


class AppJob(Job):
    """An RQ job that commits (or, when it raised, rolls back) and removes its session at the end."""

    def perform(self) -> Any:
        ok = False
        try:
            result = super().perform()
            ok = True
            return result
        finally:
            end_session(commit=ok)
