"""Thin views: parse Twilio's form, call one survey service function, answer TwiML."""

from __future__ import annotations

import logging

from flask import Response, request, send_from_directory
from werkzeug.exceptions import HTTPException, NotFound

from ivr.db import retry_on_disconnect
from ivr.extensions import db
from ivr.flows.prompts import AUDIO_DIR, AUDIO_TYPES
from ivr.services.conversation import recordings
from ivr.services.conversation.answering import answer_step
from ivr.services.conversation.closing import close_call
from ivr.services.conversation.recordings import RecordingInput
from ivr.services.conversation.start import StartRequest, start_survey
from ivr.services.conversation.turns import Attempt, CallerInput
from ivr.services.errors import DomainError
from ivr.services.flow_studio import audio as uploaded_audio
from ivr.settings import settings
from ivr.voice import bp, form
from ivr.voice.signature import twilio_webhook
from ivr.voice.twiml import apology, turn_xml, xml

log = logging.getLogger(__name__)


def _recording() -> RecordingInput | None:
    sid = form.text("RecordingSid", form.SID)
    if sid is None:
        return None
    return RecordingInput(sid, form.text("RecordingUrl", form.URL), form.seconds("RecordingDuration"))


@bp.post("/survey")
@twilio_webhook
def survey_start() -> Response:
    call_sid = form.text("CallSid", form.SID)
    if call_sid is None:
        return xml(apology(request.args.get("lang")))
    chain = (form.clean(ref, form.AGENT_REF) for ref in request.args.get("chain", "").split(","))
    start = StartRequest(
        call_sid=call_sid,
        original_call_sid=form.arg("call", form.SID),
        agent_ref=form.arg("agent", form.AGENT_REF),
        queue=form.arg("queue", form.QUEUE),
        flow_id=form.arg("flow", form.FLOW),
        language=form.arg("lang", form.LANGUAGE),
        chain=tuple(ref for ref in chain if ref)[: form.CHAIN],
        from_number=form.text("From", form.NUMBER),
        to_number=form.text("To", form.NUMBER),
        test_version_id=_test_version(),
    )
    return xml(turn_xml(retry_on_disconnect(start_survey, start)))


def _test_version() -> int | None:
    """`test_version=<id>`: a try-out from the flow studio or `flask simulate --flow-version`."""
    value = form.arg("test_version", 12)
    return int(value) if value and value.isdigit() else None


@bp.post("/survey/<int:response_id>/<step_key>")
@twilio_webhook
def survey_step(response_id: int, step_key: str) -> Response:
    attempt = Attempt(no_input=form.count("ni"), no_match=form.count("nm"))
    given = CallerInput(
        digits=form.keys("Digits"),
        speech=form.text("SpeechResult", form.SPEECH),
        confidence=form.finite("Confidence", 0.0, 1.0),
        recording=_recording(),
    )
    call_sid = form.text("CallSid", form.SID)
    turn = retry_on_disconnect(answer_step, response_id, step_key, given, attempt, call_sid)
    return xml(turn_xml(turn))


@bp.post("/recordings/<int:response_id>/<step_key>")
@twilio_webhook
def recording_status(response_id: int, step_key: str) -> Response:
    """<Record>'s recordingStatusCallback: the recording is ready (or absent, or failed)."""
    recording = _recording()
    if recording is not None:
        status = form.text("RecordingStatus", form.STATUS) or ""
        call_sid = form.text("CallSid", form.SID)
        retry_on_disconnect(recordings.recording_status, response_id, step_key, recording, status, call_sid)
    return Response(status=204)


@bp.post("/transcriptions/<int:response_id>/<step_key>")
@twilio_webhook
def transcription(response_id: int, step_key: str) -> Response:
    """<Record>'s transcribeCallback, usually after the call has ended."""
    sid = form.text("RecordingSid", form.SID)
    if sid is not None:
        text = form.text("TranscriptionText", form.TRANSCRIPT)
        status = form.text("TranscriptionStatus", form.STATUS) or ""
        call_sid = form.text("CallSid", form.SID)
        retry_on_disconnect(recordings.transcription, response_id, step_key, sid, text, status, call_sid)
    return Response(status=204)


@bp.get("/prompts/<language>/<filename>")
def prompt_audio(language: str, filename: str) -> Response:
    """Recorded prompts for <Play>. Public like any IVR audio; the flow's URLs carry the file's
    hash (?v=), so Twilio and any CDN may keep them for a year."""
    if not language.isalpha() or not any(filename.endswith(ext) for ext in AUDIO_TYPES):
        raise NotFound()
    folder = settings().prompts_dir / language / AUDIO_DIR
    versioned = bool(request.args.get("v"))
    max_age = 365 * 24 * 3600 if versioned else 3600
    uploaded = None if (folder / filename).is_file() else uploaded_audio.stored(filename)
    if uploaded is not None:  # from the flow studio: stored by its sha256, never changes
        response = Response(uploaded.data, mimetype=uploaded.content_type)
        response.set_etag(uploaded.digest)
        response.cache_control.max_age = 365 * 24 * 3600
        response.cache_control.public = response.cache_control.immutable = True
        response.make_conditional(request)
        return response
    response = send_from_directory(folder, filename, max_age=max_age, conditional=True)
    response.cache_control.public = True
    response.cache_control.immutable = versioned
    return response


@bp.post("/status")
@twilio_webhook
def call_status() -> Response:
    call_sid = form.text("CallSid", form.SID)
    if call_sid:
        status = form.text("CallStatus", form.STATUS) or ""
        retry_on_disconnect(close_call, call_sid, status, form.seconds("CallDuration"))
    return Response(status=204)


@bp.post("/fallback")
@twilio_webhook
def fallback() -> Response:
    """Twilio's fallback URL: works with the database down, since it touches nothing."""
    log.error(
        "Twilio fallback for call %s: ErrorCode=%s ErrorUrl=%s",
        form.text("CallSid", form.SID),
        form.text("ErrorCode", 16),
        form.text("ErrorUrl", form.URL),
    )
    return xml(apology(request.args.get("lang")))


@bp.errorhandler(DomainError)
def refused(exc: DomainError) -> Response:
    """What the conversation refused (no such survey or step, another call's CallSid, no
    routing): the caller hears an apology; the log says why."""
    log.warning("voice webhook %s refused: %s", request.path, exc)
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
