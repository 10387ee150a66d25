"""Thin views: check Twilio's signature, parse the Messaging form, call one texting service
function, answer MessagingResponse TwiML (the replies, each reporting its delivery to
POST /sms/status) or 204."""

from __future__ import annotations

import logging

from flask import Response, request
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.exceptions import HTTPException

from ivr.db import retry_on_disconnect
from ivr.extensions import db
from ivr.services.errors import DomainError
from ivr.services.links import webhook_path
from ivr.services.texting import conversation, delivery
from ivr.sms import bp
from ivr.voice import form
from ivr.voice.signature import twilio_webhook

log = logging.getLogger(__name__)

# Twilio's longest message body (10 segments of 160).
BODY = 1600
ERROR_CODE = 16


def _twiml(replies: list[conversation.OutgoingText]) -> Response:
    twiml = MessagingResponse()
    for reply in replies:
        twiml.message(reply.body, action=webhook_path("sms.message_status", m=reply.id), method="POST")
    return Response(twiml.to_xml(), mimetype="text/xml")


@bp.post("/incoming")
@twilio_webhook
def incoming() -> Response:
    """A text to the survey number: the answer to the question asked, STOP or HELP."""
    sid = form.text("MessageSid", form.SID)
    if sid is None:
        return _twiml([])
    text = conversation.IncomingText(
        message_sid=sid,
        from_number=form.text("From", form.NUMBER),
        body=form.clean(request.form.get("Body", ""), BODY) or "",
    )
    return _twiml(retry_on_disconnect(conversation.take_text, text))


@bp.post("/status")
@twilio_webhook
def message_status() -> Response:
    """The status callback of one of our texts (`m`: its id): queued, sent, delivered, undelivered, failed."""
    message_id = request.args.get("m", "")
    sid = form.text("MessageSid", form.SID)
    status = form.text("MessageStatus", form.STATUS)
    if message_id.isascii() and message_id.isdigit() and len(message_id) <= 12 and sid and status:
        error_code = form.text("ErrorCode", ERROR_CODE)
        retry_on_disconnect(delivery.record_status, int(message_id), sid, status, error_code)
    return Response(status=204)


@bp.errorhandler(DomainError)
def refused(exc: DomainError) -> Response:
    log.warning("sms webhook %s refused: %s", request.path, exc)
    return _twiml([])


@bp.errorhandler(Exception)
def unexpected_error(exc: Exception) -> Response:
    """Twilio retries nothing useful on a 500: answer nothing, log the error."""
    if isinstance(exc, HTTPException):
        return exc  # type: ignore[return-value]
    try:
        db.session.rollback()
    except Exception:
        log.debug("rollback failed too", exc_info=True)
    log.exception("sms webhook %s failed", request.path)
    return _twiml([])
