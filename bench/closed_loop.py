"""The closed loop under load: from the webhook that ends a low-score survey to its callback task.

The team is set up as a customer would (a supervisor, a team with a CRM webhook), so the one RQ
worker scores, opens the task and delivers the notification, as in production.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import sqlalchemy as sa

from ivr import create_app
from ivr.extensions import db
from ivr.models import SurveyResponse
from ivr.services.organisation import teams as organisation


class _Sink(BaseHTTPRequestHandler):
    received = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).received += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def crm_webhook() -> Iterator[tuple[str, type[_Sink]]]:
    """A CRM on loopback that accepts every notification."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/crm", _Sink
    finally:
        server.shutdown()
        server.server_close()


def set_up_team(database_url: str, webhook_url: str) -> None:
    app = create_app(database_url=database_url, redis_url=None, ivr_env="test")
    with app.app_context():
        organisation.save_supervisor("Bench Supervisor", email="sup@example.test")
        organisation.save_team(
            "Bench Team",
            supervisor="Bench Supervisor",
            channels=["webhook"],
            webhook_url=webhook_url,
            webhook_secret="bench-webhook-secret",
        )
        organisation.save_agent("alice", team="Bench Team")
        db.engine.dispose()


def wait_until_scored(database_url: str, timeout: float = 120.0) -> int:
    """Let the worker finish the backlog the saturating sweeps left; returns what is still unscored."""
    engine = sa.create_engine(database_url)
    query = sa.select(sa.func.count()).select_from(SurveyResponse).where(SurveyResponse.awaiting_score())
    deadline = time.monotonic() + timeout
    left = -1
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            left = int(conn.scalar(query) or 0)
        if left == 0:
            break
        time.sleep(1)
    engine.dispose()
    return left


def task_lags(database_url: str, ends: dict[str, float], wait: float = 60.0) -> list[float]:
    """Seconds from each low-score survey's final webhook to its callback task's row (written in
    the scoring job's only transaction, just before its commit)."""
    engine = sa.create_engine(database_url)
    query = sa.text(
        "SELECT r.survey_call_sid, t.created_at FROM survey_responses r"
        " JOIN callback_tasks t ON t.response_id = r.id WHERE r.survey_call_sid = ANY(:sids)"
    )
    deadline = time.monotonic() + wait
    found: dict[str, datetime] = {}
    while time.monotonic() < deadline and len(found) < len(ends):
        with engine.connect() as conn:
            found = dict(conn.execute(query, {"sids": list(ends)}).all())
        time.sleep(1)
    engine.dispose()
    return [max(0.0, found[sid].timestamp() - ends[sid]) for sid in found]
