"""Probes for load balancers and orchestrators: /healthz (alive) and /readyz (able to serve).

/healthz does no I/O at all: a process that answers it is alive. /readyz checks what a webhook
needs: the database answers and its schema is at the migrations' head, Redis answers (when
REDIS_URL is set) and the call flows are loaded; otherwise 503 with each failing check's reason.
"""

from __future__ import annotations

from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, Flask, current_app, jsonify
from flask.typing import ResponseReturnValue
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ivr.settings import PROJECT_ROOT

bp = Blueprint("health", __name__)
_HEADS = "ivr.ops.migration_heads"


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    checks = {"database": _database(), "redis": _redis(), "flows": _flows()}
    ready = all(result == "ok" for result in checks.values())
    body = {"status": "ready" if ready else "unavailable", "checks": checks}
    return jsonify(body), 200 if ready else 503


def _database() -> str:
    from ivr.extensions import db

    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as exc:
        return f"unreachable: {_first_line(exc)}"
    heads: set[str] = current_app.extensions[_HEADS]
    if current != heads:
        have = ", ".join(sorted(current)) or "none"
        want = ", ".join(sorted(heads))
        return f"schema not at the migrations' head (database: {have}; code: {want}): run `flask db upgrade`"
    return "ok"


def _redis() -> str:
    from ivr.jobs import job_queue

    redis = job_queue().redis
    if redis is None:
        return "ok"  # no REDIS_URL: jobs run in process
    try:
        redis.ping()
    except RedisError as exc:
        return f"unreachable: {_first_line(exc)}"
    return "ok"


def _flows() -> str:
    registry: Any = current_app.extensions.get("ivr.flows")
    if registry is None or not registry.flows:
        return "no call flows loaded"
    return "ok"


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def init_app(app: Flask) -> None:
    # The migrations' head is read from the files once, at start, not on every probe.
    scripts = ScriptDirectory(str(PROJECT_ROOT / "migrations"))
    app.extensions[_HEADS] = set(scripts.get_heads())
    app.register_blueprint(bp)
