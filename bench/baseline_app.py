"""The baselines, served by gunicorn with the same settings as the real app.

ceiling: a minimal Flask view returning a fixed TwiML document (the framework's ceiling).
floor:   the least work a survey answer needs: one INSERT into PostgreSQL, one RQ enqueue,
         then fixed TwiML (the floor of the real work).
plain:   the survey a team would write in a week: Flask and the SQLAlchemy ORM, the same three
         questions as our flow (CSAT 1-5, NPS 0-10, resolved 1/2), one request to ask each
         question and one to store its answer and <Redirect> to the next; no signature checks,
         no retries, no jobs, no scores.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask, Response, request
from redis import Redis
from rq import Queue
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from twilio.twiml.voice_response import Gather, VoiceResponse

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


class PlainBase(DeclarativeBase):
    pass


class PlainResponse(PlainBase):
    __tablename__ = "plain_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    from_number: Mapped[str | None] = mapped_column(sa.String(64))
    started_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    completed: Mapped[bool] = mapped_column(default=False)


class PlainAnswer(PlainBase):
    __tablename__ = "plain_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(sa.ForeignKey("plain_responses.id"), index=True)
    question: Mapped[int]
    digits: Mapped[str | None] = mapped_column(sa.String(64))


# (prompt, keys it takes): CSAT, NPS, resolved.
QUESTIONS = [
    ("How satisfied were you with the agent who helped you? Press 1 to 5.", 1),
    ("How likely are you to recommend us, from 0 to 10? For 10, press 1, 0 and the pound key.", 2),
    ("Was your problem resolved? Press 1 for yes, 2 for no.", 1),
]


def make_plain() -> Flask:
    app = Flask("plain")
    engine = sa.create_engine(os.environ["BENCH_DATABASE_URL"], pool_size=5)

    def twiml(response: VoiceResponse) -> Response:
        return Response(str(response), mimetype="text/xml")

    @app.post("/plain/voice")
    def start() -> Response:
        with Session(engine) as session:
            session.add(
                PlainResponse(
                    call_sid=request.form["CallSid"],
                    from_number=request.form.get("From"),
                    started_at=datetime.now(UTC),
                )
            )
            session.commit()
        response = VoiceResponse()
        response.say("Thank you for calling. Please answer three short questions.")
        response.redirect("/plain/question/0")
        return twiml(response)

    @app.post("/plain/question/<int:number>")
    def question(number: int) -> Response:
        prompt, keys = QUESTIONS[number]
        response = VoiceResponse()
        gather = Gather(action=f"/plain/answer/{number}", num_digits=keys, finish_on_key="#")
        gather.say(prompt)
        response.append(gather)
        response.redirect(f"/plain/question/{number}")  # silence: ask again
        return twiml(response)

    @app.post("/plain/answer/<int:number>")
    def answer(number: int) -> Response:
        with Session(engine) as session:
            survey = session.scalars(
                sa.select(PlainResponse).where(PlainResponse.call_sid == request.form["CallSid"])
            ).one()
            session.add(
                PlainAnswer(response_id=survey.id, question=number, digits=request.form.get("Digits"))
            )
            if number + 1 == len(QUESTIONS):
                survey.completed = True
            session.commit()
        response = VoiceResponse()
        if number + 1 < len(QUESTIONS):
            response.redirect(f"/plain/question/{number + 1}")
        else:
            response.say("Thank you for your feedback. Goodbye.")
            response.hangup()
        return twiml(response)

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
    PlainBase.metadata.drop_all(engine)
    PlainBase.metadata.create_all(engine)
    engine.dispose()


ceiling_app = make_ceiling() if os.environ.get("BENCH_APP") == "ceiling" else None
floor_app = make_floor() if os.environ.get("BENCH_APP") == "floor" else None
plain_app = make_plain() if os.environ.get("BENCH_APP") == "plain" else None
