"""Outbound survey calls, for callers who hung up before the survey: checked against the consent
rules, held back during quiet hours in the caller's time zone, placed by a job."""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, url_for

from ivr.services import consent
from ivr.services.privacy import number_hash
from ivr.services.refusals import Refused, flow_and_language
from ivr.services.transfers import survey_url
from ivr.twilio_rest import twilio_client

log = logging.getLogger(__name__)

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


@dataclass(frozen=True)
class OutboundRequest:
    to: str
    original_call_sid: str | None = None
    agent: str | None = None
    queue: str | None = None
    flow_id: str | None = None
    language: str | None = None
    time_zone: str | None = None


@dataclass(frozen=True)
class PlannedCall:
    job_id: str
    to: str
    url: str
    status_callback: str
    call_at: datetime | None  # None: now


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


def plan(request: OutboundRequest, base_url: str, now: datetime) -> PlannedCall:
    settings = current_app.extensions["ivr.settings"]
    if not E164.match(request.to):
        raise Refused(400, f"'to' must be an E.164 number like +15557654321, not {request.to!r}")
    if not settings.twilio_caller_id:
        raise Refused(409, "set TWILIO_CALLER_ID: the number outbound survey calls come from")
    compiled = flow_and_language(request.flow_id, request.language, settings.default_flow)
    from_hash = number_hash(request.to)
    if reason := consent.exclusion(from_hash, compiled):
        raise Refused(409, f"suppressed: {reason}")
    call_at = None
    if request.time_zone:
        try:
            zone = ZoneInfo(request.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise Refused(
                400, f"unknown time zone {request.time_zone!r} (use e.g. America/New_York)"
            ) from None
        call_at = next_allowed(now, zone, parse_quiet_hours(settings.quiet_hours))
    url = survey_url(base_url, request.agent, request.queue, compiled.id, request.language, [])
    if request.original_call_sid:
        url += "&call=" + request.original_call_sid
    status_callback = base_url.rstrip("/") + url_for("voice.call_status")
    return PlannedCall(f"survey-call-{uuid.uuid4().hex[:12]}", request.to, url, status_callback, call_at)


def place(to: str, url: str, status_callback: str) -> str:
    """Ask Twilio to call; returns the new CallSid. Raises on failure (the job retries)."""
    caller_id = current_app.extensions["ivr.settings"].twilio_caller_id
    call = twilio_client().calls.create(
        to=to,
        from_=caller_id,
        url=url,
        method="POST",
        status_callback=status_callback,
        status_callback_method="POST",
    )
    log.info("survey call %s placed to %s", call.sid, to)
    return str(call.sid)
