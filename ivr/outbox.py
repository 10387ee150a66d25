"""After this commit, run that job: the one way anything asks for background work.

A service names the work inside its transaction (`later(Work.score_response, response_id)`).
The request waits on the database session and is handed to the job layer right after the
commit that makes its rows visible; a rollback drops it. So nothing is ever enqueued for a row
that was not committed, and services need not know how jobs run (ivr.jobs registers the relay).

If the process dies between the commit and the relay, the request is lost with it: the
database row is the truth, and the sweepers find whatever it left undone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from flask import current_app
from flask_sqlalchemy.session import Session
from sqlalchemy import event

log = logging.getLogger(__name__)

_PENDING = "ivr.outbox"
RELAY = "ivr.outbox.relay"


class Work(StrEnum):
    """Every kind of background work there is."""

    score_response = "score_response"  # args: response id
    deliver_notification = "deliver_notification"  # args: notification id
    escalate_task = "escalate_task"  # args: task id; at: its deadline
    place_outbound_survey = "place_outbound_survey"  # args: outbound survey id; at: when to call
    # args: feedback item id; at: when its agent may see it (rated the call, or the window is over)
    deliver_feedback = "deliver_feedback"


@dataclass(frozen=True)
class Request:
    work: Work
    args: tuple[int, ...]
    # None: as soon as possible; else not before this time.
    at: datetime | None = None


Relay = Callable[[Sequence[Request]], None]


def later(work: Work, *args: int, at: datetime | None = None) -> None:
    """Run `work` after the current transaction commits (never, if it rolls back)."""
    session = current_app.extensions["sqlalchemy"].session()
    session.info.setdefault(_PENDING, []).append(Request(work, args, at))


class OutboxSession(Session):
    """The app's database session: after each commit it relays the work asked for in it."""

    def commit(self) -> None:
        super().commit()
        pending: list[Request] = self.info.pop(_PENDING, [])
        if pending:
            relay: Relay = current_app.extensions[RELAY]
            relay(pending)

    def rollback(self) -> None:
        self.info.pop(_PENDING, None)
        super().rollback()

    def close(self) -> None:
        self.info.pop(_PENDING, None)
        super().close()


@event.listens_for(OutboxSession, "after_rollback")
def _forget(session: Any) -> None:
    """Work asked for in a transaction that rolled back was never asked for."""
    session.info.pop(_PENDING, None)
