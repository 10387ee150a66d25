"""The two baselines, served by gunicorn with the same settings as the real app.

ceiling: a minimal Flask view returning a fixed TwiML document (the framework's ceiling).
floor:   the least work a survey answer needs: one INSERT into PostgreSQL, one RQ enqueue,
         then fixed TwiML (the floor of the real work).
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask, Response, request
from redis import Redis
from rq import Queue

TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="/next" input="dtmf" numDigits="1">'
    "<Say>How satisfied were you?</Say></Gather></Response>"
)


def noop(call_sid: str) -> None:
    """The job the floor baseline enqueues (no worker needs to run it)."""


def make_ceiling() -> Flask:
    app = Flask("ceiling")

    @app.post("/<path:anything>")
    def answer(anything: str) -> Response:
        return Response(TWIML, mimetype="text/xml")

    return app


def make_floor() -> Flask:
    app = Flask("floor")
    engine = sa.create_engine(os.environ["BENCH_DATABASE_URL"], pool_size=5, pool_pre_ping=True)
    redis = Redis.from_url(os.environ["BENCH_REDIS_URL"])
    queue = Queue("baseline", connection=redis)
    insert = sa.text("INSERT INTO baseline_answers (call_sid, digits) VALUES (:call_sid, :digits)")

    @app.post("/<path:anything>")
    def answer(anything: str) -> Response:
        call_sid = request.form.get("CallSid", "")
        with engine.begin() as conn:
            conn.execute(insert, {"call_sid": call_sid, "digits": request.form.get("Digits")})
        queue.enqueue(noop, call_sid)
        return Response(TWIML, mimetype="text/xml")

    return app


def create_table(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS baseline_answers"))
        conn.execute(
            sa.text(
                "CREATE TABLE baseline_answers (id bigserial PRIMARY KEY, call_sid varchar(64) NOT NULL,"
                " digits varchar(64), created_at timestamptz NOT NULL DEFAULT now())"
            )
        )
    engine.dispose()


ceiling_app = make_ceiling() if os.environ.get("BENCH_APP") == "ceiling" else None
floor_app = make_floor() if os.environ.get("BENCH_APP") == "floor" else None
