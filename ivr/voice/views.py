"""Thin views: parse Twilio's form, call one survey service function, answer TwiML."""

from __future__ import annotations

import logging

from flask import Response, current_app, request
from werkzeug.exceptions import HTTPException

from ivr.db import retry_on_disconnect
from ivr.extensions import db
from ivr.services import survey
from ivr.voice import bp
from ivr.voice.signature import twilio_webhook
from ivr.voice.twiml import apology, render_turn, xml

log = logging.getLogger(__name__)


def _form(name: str) -> str | None:
    return request.form.get(name) or None


def _count(name: str) -> int:
    value = request.args.get(name, "0")
    return int(value) if value.isdigit() else 0


@bp.post("/survey")
@twilio_webhook
def survey_start() -> Response:
    call_sid = _form("CallSid")
    if call_sid is None:
        return xml(apology(request.args.get("lang")))
    start = survey.StartRequest(
        call_sid=call_sid,
        original_call_sid=request.args.get("call") or None,
        agent_ref=request.args.get("agent") or None,
        queue=request.args.get("queue") or None,
        flow_id=request.args.get("flow") or None,
        language=request.args.get("lang") or None,
        from_number=_form("From"),
        to_number=_form("To"),
    )
    default_flow = current_app.extensions["ivr.settings"].default_flow
    turn = retry_on_disconnect(survey.start_survey, start, default_flow)
    return xml(render_turn(turn))


@bp.post("/survey/<int:response_id>/<step_key>")
@twilio_webhook
def survey_step(response_id: int, step_key: str) -> Response:
    attempt = survey.Attempt(no_input=_count("ni"), no_match=_count("nm"))
    turn = retry_on_disconnect(survey.answer_step, response_id, step_key, _form("Digits"), attempt)
    return xml(render_turn(turn))


@bp.post("/status")
@twilio_webhook
def call_status() -> Response:
    call_sid = _form("CallSid")
    if call_sid:
        duration = _form("CallDuration")
        seconds = int(duration) if duration and duration.isdigit() else None
        retry_on_disconnect(survey.close_call, call_sid, _form("CallStatus") or "", seconds)
    return Response(status=204)


@bp.post("/fallback")
@twilio_webhook
def fallback() -> Response:
    """Twilio's fallback URL: works with the database down, since it touches nothing."""
    log.error(
        "Twilio fallback for call %s: ErrorCode=%s ErrorUrl=%s",
        _form("CallSid"),
        _form("ErrorCode"),
        _form("ErrorUrl"),
    )
    return xml(apology(request.args.get("lang")))


@bp.errorhandler(survey.SurveyUnavailable)
def survey_unavailable(exc: survey.SurveyUnavailable) -> Response:
    log.warning("survey unavailable on %s: %s", request.path, exc)
    return xml(apology(request.args.get("lang")))


@bp.errorhandler(Exception)
def unexpected_error(exc: Exception) -> Response:
    # The caller should hear an apology, not Twilio's "application error". HTTP errors
    # (403 for a bad signature) keep their status.
    if isinstance(exc, HTTPException):
        return exc  # type: ignore[return-value]
    try:
        db.session.rollback()
    except Exception:  # the database itself may be what failed
        log.debug("rollback failed too", exc_info=True)
    log.exception("voice webhook %s failed", request.path)
    return xml(apology(request.args.get("lang")))
