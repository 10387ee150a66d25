"""Outbound surveys, by call or by text, for callers who hung up before the survey: checked against
the consent rules, held back during quiet hours in the caller's time zone, placed by a job (a
text survey's invitation is sent by ivr.services.texting.delivery).

Each call is a row before anything is queued (state scheduled -> placing -> placed, or failed,
or refused), so a job lost with Redis is found again by housekeeping. A call must never be
dialled twice: an attempt that may have reached Twilio (it timed out, or its worker died) is
followed by a look-up on Twilio for a call to that number made since, before any new dial.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import or_, select
from twilio.base.exceptions import TwilioException, TwilioRestException

from ivr.extensions import db
from ivr.models import Call, OutboundState, OutboundSurvey, SurveyChannel, as_utc, utcnow
from ivr.outbox import Work, later
from ivr.services.consent import do_not_survey as consent
from ivr.services.consent.privacy import number_hash
from ivr.services.conversation.flow_versions import flow_for
from ivr.services.errors import Conflict, DomainError, Invalid, NotFound, Unreachable
from ivr.services.links import call_status_url, is_call_sid, survey_start_url
from ivr.settings import settings
from ivr.twilio_rest import twilio_client

log = logging.getLogger(__name__)

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
# An attempt younger than this may still be talking to Twilio (whose client gives up after 10 s):
# nobody else touches its row meanwhile.
IN_FLIGHT = timedelta(seconds=30)
# A call Twilio made at most this long before our attempt started counts as that attempt's.
CLOCK_SLACK = timedelta(minutes=1)
# Column lengths (ivr.models.outbound) that API values must fit.
MAX_AGENT, MAX_QUEUE = 255, 128


@dataclass(frozen=True)
class OutboundRequest:
    to: str
    original_call_sid: str | None = None
    agent: str | None = None
    queue: str | None = None
    flow_id: str | None = None
    language: str | None = None
    time_zone: str | None = None
    requested_by: str | None = None
    channel: SurveyChannel = SurveyChannel.voice
    # Not before this long after the request (an invitation by text after a call).
    delay: timedelta = timedelta(0)
    # The original call's row: a survey begun on it (a breakoff) is not "surveyed recently".
    about_call_id: int | None = None


def parse_quiet_hours(text: str) -> tuple[time, time]:
    start, _, end = text.partition("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


def next_allowed(now: datetime, zone: ZoneInfo, quiet: tuple[time, time]) -> datetime | None:
    """When the quiet hours end, if `now` falls inside them in `zone`; None when it does not."""
    local = now.astimezone(zone)
    start, end = quiet
    clock = local.time()
    inside = (start <= clock or clock < end) if start > end else (start <= clock < end)
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone).astimezone(UTC)


def request_call(request: OutboundRequest, now: datetime | None = None) -> OutboundSurvey:
    """Check the request, write its row and ask for the call to be placed (or the text sent) now,
    or when the caller's quiet hours end. Raises Invalid or Conflict for a request that cannot be
    honoured."""
    try:
        row = schedule(request, now)
    except DomainError:
        db.session.rollback()
        raise
    db.session.commit()
    return row


def schedule(request: OutboundRequest, now: datetime | None = None) -> OutboundSurvey:
    """request_call in the caller's transaction (no commit, no rollback)."""
    now = now or utcnow()
    config = settings()
    if not E164.match(request.to):
        raise Invalid(f"'to' must be an E.164 number like +15557654321, not {request.to[:40]!r}")
    if request.original_call_sid is not None and not is_call_sid(request.original_call_sid):
        raise Invalid("'call_sid' must be a Twilio Call SID: CA followed by 32 hex digits")
    if len(request.agent or "") > MAX_AGENT or len(request.queue or "") > MAX_QUEUE:
        raise Invalid(f"'agent' is at most {MAX_AGENT} characters and 'queue' at most {MAX_QUEUE}")
    if request.channel is SurveyChannel.voice and not config.twilio_caller_id:
        raise Conflict("set TWILIO_CALLER_ID: the number outbound survey calls come from")
    if request.channel is SurveyChannel.sms and not config.sms_survey_sender:
        raise Conflict("set TWILIO_SMS_SURVEY_FROM (or TWILIO_SMS_FROM): the number survey texts come from")
    compiled = flow_for(request.flow_id, request.language, config.default_flow)
    if request.channel is SurveyChannel.sms and compiled.texting_language(request.language) is None:
        raise Conflict(f"flow {compiled.id} has no SMS texts (prompts/<lang>/sms.yaml)")
    to_hash = number_hash(request.to)
    if reason := consent.exclusion(to_hash, compiled, request.about_call_id):
        raise Conflict(f"suppressed: {reason}")
    earliest = now + request.delay
    call_at = earliest if request.delay else None
    if request.time_zone:
        try:
            zone = ZoneInfo(request.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise Invalid(
                f"unknown time zone {request.time_zone[:64]!r} (use e.g. America/New_York)"
            ) from None
        call_at = next_allowed(earliest, zone, parse_quiet_hours(config.quiet_hours)) or call_at
    row = OutboundSurvey(
        to_number=request.to,
        to_hash=to_hash,
        original_call_sid=request.original_call_sid,
        agent_ref=request.agent,
        queue=request.queue,
        flow_key=compiled.id,
        language=request.language,
        time_zone=request.time_zone,
        channel=request.channel,
        state=OutboundState.scheduled,
        call_at=call_at or now,
        attempts=0,
        requested_by=request.requested_by,
    )
    db.session.add(row)
    db.session.flush()
    later(Work.place_outbound_survey, row.id, at=call_at)
    return row


def get(outbound_id: int) -> OutboundSurvey | None:
    return db.session.get(OutboundSurvey, outbound_id)


def waiting(min_age: timedelta, now: datetime | None = None) -> list[int]:
    """Calls a job should have placed by now: due and still scheduled (their job was lost with
    Redis), or an attempt that stopped half-way (it failed uncertainly, or its worker died)."""
    now = now or utcnow()
    ids = db.session.scalars(
        select(OutboundSurvey.id)
        .where(
            or_(
                (OutboundSurvey.state == OutboundState.scheduled) & (OutboundSurvey.call_at <= now - min_age),
                (OutboundSurvey.state == OutboundState.placing)
                & (
                    OutboundSurvey.last_error.is_not(None)
                    | (OutboundSurvey.placing_started_at <= now - IN_FLIGHT)
                ),
            )
        )
        .order_by(OutboundSurvey.id)
    ).all()
    db.session.rollback()
    return list(ids)


class TwilioUnreachable(Unreachable):
    """Twilio could not be reached (or answered 5xx); the job is retried."""


def place(outbound_id: int, now: datetime | None = None) -> OutboundState | None:
    """Place the call unless it is placed, decided, in flight or not due; returns the new state
    (None: nothing done). Raises TwilioUnreachable so that the job is retried."""
    now = now or utcnow()
    row = _locked(outbound_id)
    if row is None or row.state.is_final or as_utc(row.call_at) > now:
        db.session.rollback()
        return None
    if row.channel is SurveyChannel.sms:
        from ivr.services.texting import delivery  # it starts surveys, which need this package's neighbours

        return delivery.text_invitation(row, now, _consent_now)
    if row.state is OutboundState.placing:
        started = as_utc(row.placing_started_at or now)
        if row.last_error is None and now - started < IN_FLIGHT:
            db.session.rollback()  # another attempt is talking to Twilio right now
            return None
        # An earlier attempt may have reached Twilio before it failed or its worker died.
        found = _find_placed_call(row, started)
        if found is not None:
            return _placed(row, found, "found on Twilio after an interrupted attempt")
    if reason := _consent_now(row):
        row.state, row.last_error = OutboundState.refused, reason
        db.session.commit()
        log.info("outbound survey %s not placed: %s", row.id, reason)
        return row.state
    row.state, row.placing_started_at, row.last_error = OutboundState.placing, now, None
    row.attempts += 1
    db.session.commit()  # from here on a retry asks Twilio before dialling again
    return _dial(outbound_id)


def _dial(outbound_id: int) -> OutboundState:
    row = db.session.get_one(OutboundSurvey, outbound_id)
    assert row.to_number is not None
    url = survey_start_url(
        flow_id=row.flow_key,
        agent=row.agent_ref,
        queue=row.queue,
        language=row.language,
        original_call_sid=row.original_call_sid,
    )
    caller_id = settings().twilio_caller_id
    to = row.to_number
    db.session.rollback()  # hold no transaction open while Twilio answers
    try:
        call = twilio_client().calls.create(
            to=to,
            from_=caller_id,
            url=url,
            method="POST",
            status_callback=call_status_url(),
            status_callback_method="POST",
        )
    except TwilioRestException as exc:
        if exc.status >= 500:
            _uncertain(outbound_id, f"Twilio answered HTTP {exc.status}")
        row = _locked_one(outbound_id)
        row.state, row.last_error = (
            OutboundState.failed,
            f"Twilio refused the call: {exc.msg} (code {exc.code})",
        )
        db.session.commit()
        log.warning("outbound survey %s failed: %s", outbound_id, row.last_error)
        return row.state
    except (TwilioException, OSError) as exc:
        _uncertain(outbound_id, f"Twilio could not be reached ({type(exc).__name__})")
    return _placed(_locked_one(outbound_id), str(call.sid), "placed")


def _uncertain(outbound_id: int, error: str) -> None:
    """The attempt may or may not have reached Twilio: record it and let the job be retried; the
    retry looks the call up on Twilio first."""
    row = _locked_one(outbound_id)
    row.last_error = error
    db.session.commit()
    log.warning("outbound survey %s: %s; will look it up on Twilio and retry", outbound_id, error)
    raise TwilioUnreachable(error)


def _placed(row: OutboundSurvey, call_sid: str, how: str) -> OutboundState:
    row.state, row.call_sid, row.placed_at, row.last_error = OutboundState.placed, call_sid, utcnow(), None
    db.session.commit()
    log.info("outbound survey %s: call %s %s", row.id, call_sid, how)
    return row.state


def _find_placed_call(row: OutboundSurvey, attempt_started: datetime) -> str | None:
    """The SID of a call to this number from our caller ID made since the attempt began, if any."""
    try:
        calls = twilio_client().calls.list(to=row.to_number, from_=settings().twilio_caller_id, limit=20)
    except (TwilioException, OSError) as exc:
        db.session.rollback()
        raise TwilioUnreachable(f"could not ask Twilio about earlier calls ({type(exc).__name__})") from exc
    since = attempt_started - CLOCK_SLACK
    for call in calls:
        created = call.date_created
        if created is not None and as_utc(created) >= since:
            return str(call.sid)
    return None


def _consent_now(row: OutboundSurvey) -> str | None:
    """Consent again at the moment of calling: a number listed while its call waited is not called
    (nor one whose flow has gone since)."""
    try:
        compiled = flow_for(row.flow_key, None, settings().default_flow)
    except DomainError as exc:
        return exc.message
    if not row.to_hash:
        return None
    call_id = (
        db.session.scalar(select(Call.id).where(Call.call_sid == row.original_call_sid))
        if row.original_call_sid
        else None
    )
    return consent.exclusion(row.to_hash, compiled, call_id)


def _locked(outbound_id: int) -> OutboundSurvey | None:
    return db.session.scalars(
        select(OutboundSurvey).filter_by(id=outbound_id).with_for_update()
    ).one_or_none()


def _locked_one(outbound_id: int) -> OutboundSurvey:
    row = _locked(outbound_id)
    if row is None:  # pragma: no cover - rows are never deleted while a job runs
        raise NotFound(f"outbound survey {outbound_id} vanished")
    return row
