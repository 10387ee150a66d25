"""Thin views: parse Twilio's form, call one survey service function, answer TwiML."""

from __future__ import annotations

import logging

from flask import Response, current_app, request, send_from_directory
from werkzeug.exceptions import HTTPException, NotFound

from ivr.db import retry_on_disconnect
from ivr.extensions import db
from ivr.flows.prompts import AUDIO_DIR, AUDIO_TYPES
from ivr.services import recordings, survey
from ivr.services.recordings import RecordingInput
from ivr.voice import bp
from ivr.voice.signature import twilio_webhook
from ivr.voice.twiml import apology, render_turn, xml

log = logging.getLogger(__name__)


def _form(name: str) -> str | None:
    return request.form.get(name) or None


def _count(name: str) -> int:
    value = request.args.get(name, "0")
    return int(value) if value.isdigit() else 0


def _number(name: str) -> float | None:
    try:
        return float(request.form[name])
    except (KeyError, ValueError):
        return None


def _recording() -> RecordingInput | None:
    sid = _form("RecordingSid")
    if sid is None:
        return None
    duration = _number("RecordingDuration")
    return RecordingInput(sid, _form("RecordingUrl"), int(duration) if duration is not None else None)


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
        chain=tuple(ref for ref in request.args.get("chain", "").split(",") if ref.strip()),
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
    digits = _form("Digits")
    given = survey.CallerInput(
        digits=None if digits == "hangup" else digits,  # <Record> ended by the caller hanging up
        speech=_form("SpeechResult"),
        confidence=_number("Confidence"),
        recording=_recording(),
    )
    turn = retry_on_disconnect(survey.answer_step, response_id, step_key, given, attempt)
    return xml(render_turn(turn))


@bp.post("/recordings/<int:response_id>/<step_key>")
@twilio_webhook
def recording_status(response_id: int, step_key: str) -> Response:
    """<Record>'s recordingStatusCallback: the recording is ready (or absent, or failed)."""
    recording = _recording()
    if recording is not None:
        status = _form("RecordingStatus") or ""
        retry_on_disconnect(recordings.recording_status, response_id, step_key, recording, status)
    return Response(status=204)


@bp.post("/transcriptions/<int:response_id>/<step_key>")
@twilio_webhook
def transcription(response_id: int, step_key: str) -> Response:
    """<Record>'s transcribeCallback, usually after the call has ended."""
    sid = _form("RecordingSid")
    if sid is not None:
        text, status = request.form.get("TranscriptionText"), _form("TranscriptionStatus") or ""
        retry_on_disconnect(recordings.transcription, response_id, sid, text, status)
    return Response(status=204)


@bp.get("/prompts/<language>/<filename>")
def prompt_audio(language: str, filename: str) -> Response:
    """Recorded prompts for <Play>. Public like any IVR audio; the flow's URLs carry the file's
    hash (?v=), so Twilio and any CDN may keep them for a year."""
    if not language.isalpha() or not any(filename.endswith(ext) for ext in AUDIO_TYPES):
        raise NotFound()
    folder = current_app.extensions["ivr.settings"].prompts_dir / language / AUDIO_DIR
    versioned = bool(request.args.get("v"))
    max_age = 365 * 24 * 3600 if versioned else 3600
    response = send_from_directory(folder, filename, max_age=max_age, conditional=True)
    response.cache_control.public = True
    response.cache_control.immutable = versioned
    return response


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
