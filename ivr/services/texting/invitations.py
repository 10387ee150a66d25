"""Who is invited to the survey by text after a call: a caller whose queue says so, who hung up
before the survey started (at the invitation, or right after the agent) or broke off before the
first answer. The invitation is an outbound survey row (channel sms), sent by a job after the
queue's delay and outside the caller's quiet hours; consent is checked as for calls."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from ivr.extensions import db
from ivr.flows.routing import Invitation
from ivr.models import Call, Disposition, OutboundSurvey, SurveyChannel, SurveyResponse
from ivr.services.call_control import outbound
from ivr.services.conversation import front_door
from ivr.services.errors import DomainError
from ivr.settings import settings

log = logging.getLogger(__name__)

# What the caller's voice surveys on the call may be for a text to follow: none, or broken off.
_BROKEN_OFF = {Disposition.breakoff}


def invite_after_call(call_sid: str) -> int | None:
    """In the status callback's transaction: schedule the survey by text for this ended call when
    its queue invites by text and the caller never answered by voice; the outbound survey's id,
    or None. Never raises for a caller who may not be surveyed: that is logged and skipped."""
    if not settings().sms_survey_sender:
        return None
    call = db.session.execute(
        select(Call.id, Call.queue, Call.from_number).where(Call.call_sid == call_sid).with_for_update()
    ).one_or_none()
    if call is None or not call.from_number or not call.queue:
        return None
    try:
        queue, flow, language = front_door.queue_named(call.queue)
    except DomainError:
        return None  # no routing file, or a queue it does not know: nobody asked for texts
    if not queue.sms_invitation or queue.invitation is Invitation.none:
        return None
    dispositions = set(
        db.session.scalars(select(SurveyResponse.disposition).where(SurveyResponse.call_id == call.id))
    )
    if dispositions - _BROKEN_OFF:
        return None  # answered, declined, opted out, suppressed, or already texted
    already = db.session.scalar(
        select(OutboundSurvey.id).where(
            OutboundSurvey.original_call_sid == call_sid, OutboundSurvey.channel == SurveyChannel.sms
        )
    )
    if already is not None:
        return None  # a repeated status callback
    request = outbound.OutboundRequest(
        to=call.from_number,
        original_call_sid=call_sid,
        queue=call.queue,
        flow_id=flow.id,
        language=language,
        time_zone=queue.time_zone,
        requested_by="after the call",
        channel=SurveyChannel.sms,
        delay=timedelta(minutes=queue.sms_delay_minutes),
        about_call_id=call.id,
    )
    try:
        row = outbound.schedule(request)
    except DomainError as exc:
        log.info("call %s: no survey by text: %s", call_sid, exc.message)
        return None
    log.info("call %s: survey by text %s scheduled for %s", call_sid, row.id, row.call_at)
    return row.id
