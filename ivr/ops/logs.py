"""Structured logs through structlog: JSON in production, readable lines on a laptop.

The stdlib `logging` calls everywhere in the code (and in Flask, RQ, SQLAlchemy) go through the
same processors, so every line gets the request's or job's context (request id, CallSid,
response id, job id) and no caller number is ever written in full.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import structlog
from flask import Flask, Response, request
from flask.logging import default_handler

from ivr.services.consent.privacy import mask
from ivr.settings import Settings

# A phone number in E.164 form (what Twilio sends as From/To), anywhere in a line.
_NUMBER = re.compile(r"(?<![\w+])\+\d{7,15}\b")
# An incoming X-Request-Id is kept only when it looks like an id, not arbitrary text.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def mask_numbers(text: str) -> str:
    return _NUMBER.sub(lambda found: mask(found.group()) or "", text)


def _mask_processor(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event.items():
        if isinstance(value, str) and "+" in value:
            event[key] = mask_numbers(value)
    return event


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The process's own stderr (file descriptor 2), even while something swaps sys.stderr (click's
    test runner, a capture): log lines are the process's, not part of a command's output."""

    def __init__(self) -> None:
        super().__init__(sys.__stderr__)


def configure(settings: Settings) -> None:
    """Route stdlib logging and structlog through one chain; safe to call again (tests do)."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _mask_processor,
    ]
    renderer: Any
    final: list[Any]
    if settings.json_logs:
        final = [structlog.processors.format_exc_info, _mask_processor]
        renderer = structlog.processors.JSONRenderer()
    else:
        final = []
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final, renderer],
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(formatter)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # SQLAlchemy logs every statement at INFO: only its warnings, unless asked for DEBUG.
    logging.getLogger("sqlalchemy").setLevel("DEBUG" if settings.log_level == "DEBUG" else "WARNING")


def _bind_request() -> None:
    structlog.contextvars.clear_contextvars()
    given = request.headers.get("X-Request-Id", "")
    request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
    context: dict[str, Any] = {"request_id": request_id}
    if request.blueprint == "voice":
        # Twilio's form is parsed by the view anyway; reading it here costs no I/O.
        call_sid = request.form.get("CallSid")
        if call_sid:
            context["call_sid"] = call_sid[:64]
        if request.view_args and "response_id" in request.view_args:
            context["response_id"] = request.view_args["response_id"]
    structlog.contextvars.bind_contextvars(**context)


def bind(**context: Any) -> None:
    """Add to the current request's or job's log context (e.g. a response id once it is known)."""
    structlog.contextvars.bind_contextvars(**context)


def _echo_request_id(response: Response) -> Response:
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if request_id:
        response.headers["X-Request-Id"] = request_id
    return response


def _unbind(_exc: BaseException | None) -> None:
    structlog.contextvars.clear_contextvars()


@contextmanager
def job_context(job_id: str, queue: str) -> Iterator[None]:
    """Every line a job writes carries its RQ job id."""
    with structlog.contextvars.bound_contextvars(job_id=job_id, queue=queue):
        yield


def init_app(app: Flask) -> None:
    configure(app.extensions["ivr.settings"])
    app.extensions["ivr.logging"] = True  # migrations/env.py then leaves logging alone
    # Flask's own handler would write app.logger's lines a second time, unstructured.
    app.logger.removeHandler(default_handler)
    app.before_request(_bind_request)
    app.after_request(_echo_request_id)
    app.teardown_request(_unbind)
