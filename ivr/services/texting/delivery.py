"""Texts we send and what becomes of them: a text survey's invitation goes out through Twilio's
REST API with a status callback; each callback (queued, sent, delivered, undelivered, failed) is
recorded on its text. Replies within the conversation go back as TwiML (ivr.sms.views) and report
their status to the same callback.

The survey response is written (with its invitation text) before Twilio is asked, so a job lost
with Redis is found again by housekeeping (the outbound survey row is still `placing`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from twilio.base.exceptions import TwilioException, TwilioRestException

from ivr.extensions import db
from ivr.models import (
    Direction,
    Disposition,
    OutboundState,
    OutboundSurvey,
    SurveyChannel,
    TextMessage,
    TextStatus,
    as_utc,
    utcnow,
)
from ivr.outbox import Work, later
from ivr.services.consent.privacy import mask, number_hash
from ivr.services.conversation.flow_versions import flow_for, registry
from ivr.services.conversation.start import StartRequest, begin_survey
from ivr.services.conversation.state import load_state, save_state
from ivr.services.errors import Conflict, Unreachable
from ivr.services.links import twilio_url
from ivr.services.texting.texts import render, write_text
from ivr.settings import settings
from ivr.twilio_rest import twilio_client

log = logging.getLogger(__name__)

INVITATION = "invitation"
# An attempt younger than this may still be talking to Twilio: nobody else touches its row.
IN_FLIGHT = timedelta(seconds=30)


class TextingUnreachable(Unreachable):
    """Twilio could not be reached (or answered 5xx); the job is retried."""


def survey_key(outbound_id: int) -> str:
    """The survey_call_sid of a survey by text: it runs on no call leg of its own."""
    return f"sms-{outbound_id}"


def text_invitation(
    row: OutboundSurvey, now: datetime, consent_now: Callable[[OutboundSurvey], str | None]
) -> OutboundState | None:
    """Start the survey by text and send its first text (the row is locked by the caller, due and
    not final); the new state, or None when another attempt is under way. Raises
    TextingUnreachable so that the job is retried."""
    if row.state is OutboundState.placing:
        started = as_utc(row.placing_started_at or now)
        if row.last_error is None and now - started < IN_FLIGHT:
            db.session.rollback()
            return None
    if row.response_id is None:
        if reason := consent_now(row):
            row.state, row.last_error = OutboundState.refused, reason
            db.session.commit()
            log.info("survey by text %s not sent: %s", row.id, reason)
            return row.state
        message_id = _start(row)
        if message_id is None:
            return row.state
    else:
        message_id = db.session.scalar(
            select(TextMessage.id).where(
                TextMessage.response_id == row.response_id, TextMessage.kind == INVITATION
            )
        )
        if message_id is None:  # pragma: no cover - written with the response
            row.state, row.last_error = OutboundState.failed, "the invitation text is missing"
            db.session.commit()
            return row.state
    row.state, row.placing_started_at, row.last_error = OutboundState.placing, now, None
    row.attempts += 1
    db.session.commit()
    return _send(row.id, message_id)


def simulated_invitation(
    to: str, flow_id: str | None, language: str | None, **call: str | None
) -> tuple[int, str]:
    """For `flask simulate --sms`: start a survey by text as the job would, without asking Twilio
    to send the invitation (the simulator plays Twilio's part); the invitation's id and text.
    `call`: original_call_sid, agent_ref, queue. Raises Conflict when consent says no."""
    compiled = flow_for(flow_id, language, settings().default_flow)
    now = utcnow()
    row = OutboundSurvey(
        to_number=to,
        to_hash=number_hash(to),
        flow_key=compiled.id,
        language=language,
        channel=SurveyChannel.sms,
        state=OutboundState.placing,
        call_at=now,
        placing_started_at=now,
        attempts=1,
        requested_by="flask simulate --sms",
        **call,
    )
    db.session.add(row)
    db.session.flush()
    message_id = _start(row)
    if message_id is None:
        raise Conflict(f"{mask(to)} may not be surveyed now (the do-not-survey list, or surveyed recently)")
    row.state, row.placed_at = OutboundState.placed, now
    body = db.session.get_one(TextMessage, message_id).body or ""
    db.session.commit()
    return message_id, body


def _start(row: OutboundSurvey) -> int | None:
    """Begin the response (channel sms) and write its invitation: the first question with the
    messages before it; the invitation's id, or None when the survey may not run after all."""
    compiled = registry().flows[row.flow_key]
    turn = begin_survey(
        StartRequest(
            call_sid=survey_key(row.id),
            original_call_sid=row.original_call_sid,
            agent_ref=row.agent_ref,
            queue=row.queue,
            flow_id=row.flow_key,
            language=compiled.texting_language(row.language),
            from_number=row.to_number,
            channel=SurveyChannel.sms,
        )
    )
    row.response_id = turn.response_id
    if turn.ask is None:
        row.state, row.last_error = OutboundState.refused, "the consent rules said no at the start"
        db.session.commit()
        return None
    return write_text(turn.response_id, INVITATION, turn.ask, render(turn))


def status_callback_url(message_id: int) -> str:
    return twilio_url("sms.message_status", m=message_id)


def _send(outbound_id: int, message_id: int) -> OutboundState:
    row = db.session.get_one(OutboundSurvey, outbound_id)
    message = db.session.get_one(TextMessage, message_id)
    to, body = row.to_number, message.body or ""
    sender = settings().sms_survey_sender or ""
    db.session.rollback()  # hold no transaction open while Twilio answers
    if not to:
        return _failed(outbound_id, message_id, "the number was purged before the text was sent", None)
    origin = {"messaging_service_sid": sender} if sender.startswith("MG") else {"from_": sender}
    try:
        sent = twilio_client().messages.create(
            to=to, body=body, status_callback=status_callback_url(message_id), **origin
        )
    except TwilioRestException as exc:
        if exc.status >= 500:
            _uncertain(outbound_id, f"Twilio answered HTTP {exc.status}")
        return _failed(outbound_id, message_id, f"Twilio refused the text: {exc.msg}", str(exc.code))
    except (TwilioException, OSError) as exc:
        _uncertain(outbound_id, f"Twilio could not be reached ({type(exc).__name__})")
    row = _locked_row(outbound_id)
    message = db.session.get_one(TextMessage, message_id)
    message.message_sid = message.message_sid or str(sent.sid)
    _advance(message, _status(str(sent.status)) or TextStatus.queued)
    row.state, row.placed_at, row.last_error = OutboundState.placed, utcnow(), None
    db.session.commit()
    log.info("survey by text %s: invitation %s handed to Twilio", outbound_id, message.message_sid)
    return row.state


def _uncertain(outbound_id: int, error: str) -> None:
    row = _locked_row(outbound_id)
    row.last_error = error
    db.session.commit()
    log.warning("survey by text %s: %s; will try again", outbound_id, error)
    raise TextingUnreachable(error)


def _failed(outbound_id: int, message_id: int, error: str, code: str | None) -> OutboundState:
    row = _locked_row(outbound_id)
    message = db.session.get_one(TextMessage, message_id)
    message.status, message.error, message.error_code = TextStatus.failed, error, code
    row.state, row.last_error = OutboundState.failed, error
    if message.response_id is not None:
        _invitation_failed(message.response_id)
    db.session.commit()
    log.warning("survey by text %s failed: %s", outbound_id, error)
    return row.state


def _invitation_failed(response_id: int) -> None:
    """The invitation never reached the caller: a survey nobody answered yet ends as failed (and is
    scored, like a survey call that failed)."""
    state = load_state(response_id)
    if state is None or state.disposition.is_final or state.values:
        return
    state.finish(Disposition.failed)
    save_state(state)
    later(Work.score_response, response_id)


def record_status(message_id: int, message_sid: str, status: str, error_code: str | None) -> bool:
    """Twilio's status callback for one of our texts; False when it is not about that text (an
    unknown id, or another message's SID). A status never moves back (callbacks may cross)."""
    message = db.session.scalars(
        select(TextMessage).filter_by(id=message_id, direction=Direction.outbound).with_for_update()
    ).one_or_none()
    if message is None or (message.message_sid not in (None, message_sid)):
        db.session.rollback()
        log.warning("status callback for text %s (%s) ignored: not that text", message_id, message_sid)
        return False
    message.message_sid = message_sid
    new = _status(status)
    if new is not None:
        _advance(message, new)
        if new.is_failure:
            message.error_code = error_code or message.error_code
            message.error = f"Twilio reports the text {new.value}" + (
                f" (error {error_code})" if error_code else ""
            )
            if message.kind == INVITATION and message.response_id is not None:
                _invitation_failed(message.response_id)
                _mark_outbound_failed(message.response_id, message.error)
    db.session.commit()
    return True


def _mark_outbound_failed(response_id: int, error: str) -> None:
    row = db.session.scalar(select(OutboundSurvey).where(OutboundSurvey.response_id == response_id))
    if row is not None:
        row.state, row.last_error = OutboundState.failed, error


def _status(value: str) -> TextStatus | None:
    try:
        status = TextStatus(value)
    except ValueError:
        return None
    return None if status in (TextStatus.pending, TextStatus.received) else status


def _advance(message: TextMessage, status: TextStatus) -> None:
    if status.rank > message.status.rank:
        message.status = status


def _locked_row(outbound_id: int) -> OutboundSurvey:
    return db.session.scalars(select(OutboundSurvey).filter_by(id=outbound_id).with_for_update()).one()
