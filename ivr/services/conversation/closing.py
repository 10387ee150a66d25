"""Closing surveys: the call's status callback, and housekeeping for callbacks that never came.
A survey still open on an ended call becomes partial (some answers) or breakoff (none), or
failed when the call failed, and is scored."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import Case, Row, case, func, or_, select, update

from ivr.extensions import db
from ivr.models import Answer, AnswerStatus, Call, Disposition, SurveyChannel, SurveyResponse, utcnow
from ivr.ops.metrics import RESPONSES_ENDED, count_after_commit
from ivr.outbox import Work, later

log = logging.getLogger(__name__)

# Twilio's CallStatus values that mean the call is over.
CALL_ENDED = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})


def close_call(call_sid: str, call_status: str, duration: int | None) -> list[int]:
    """The call's status callback: an open survey on an ended call becomes partial or breakoff;
    a caller who hung up before the survey, or broke off before any answer, is invited by text
    when their queue says so."""
    if call_status not in CALL_ENDED:
        return []
    now = utcnow()
    call_id = db.session.scalar(
        update(Call)
        .where(Call.call_sid == call_sid)
        .values(status=call_status, duration_seconds=duration, ended_at=func.coalesce(Call.ended_at, now))
        .returning(Call.id)
    )
    # Plain values on both sides of the OR, so that the database reads the two indexes (a
    # subquery there made PostgreSQL scan every response: 0.2-0.6 s each at a million).
    on_this_call = SurveyResponse.survey_call_sid == call_sid
    if call_id is not None:
        on_this_call = or_(on_this_call, SurveyResponse.call_id == call_id)
    ended = db.session.execute(
        update(SurveyResponse)
        .where(
            SurveyResponse.disposition == Disposition.in_progress,
            # A survey by text about this call goes on after the call has ended.
            SurveyResponse.channel == SurveyChannel.voice,
            on_this_call,
        )
        .values(
            disposition=Disposition.failed if call_status == "failed" else _partial_or_breakoff(),
            ended_at=now,
            current_step=None,
        )
        .returning(SurveyResponse.id, SurveyResponse.disposition)
        .execution_options(synchronize_session=False)
    ).all()
    # Lazy: the invitation by text needs the call-control services, which need this package.
    from ivr.services.texting.invitations import invite_after_call

    invite_after_call(call_sid)
    closed = _close(ended)
    return list(closed)


def close_stale(older_than_minutes: int, channel: SurveyChannel = SurveyChannel.voice) -> list[int]:
    """Close surveys still in progress long after they started: the call's status callback never
    came (a lost request, a misconfigured number), or a text survey went unanswered until it
    expired. Each becomes partial or breakoff and is scored."""
    cutoff = utcnow() - timedelta(minutes=older_than_minutes)
    ended = db.session.execute(
        update(SurveyResponse)
        .where(
            SurveyResponse.disposition == Disposition.in_progress,
            SurveyResponse.channel == channel,
            SurveyResponse.started_at < cutoff,
        )
        .values(disposition=_partial_or_breakoff(), ended_at=utcnow(), current_step=None)
        .returning(SurveyResponse.id, SurveyResponse.disposition)
        .execution_options(synchronize_session=False)
    ).all()
    closed = _close(ended)
    if closed and channel is SurveyChannel.voice:
        log.warning("closed %s stale survey(s) whose status callback never came: %s", len(closed), closed)
    elif closed:
        log.info("closed %s text survey(s) left unanswered: %s", len(closed), closed)
    return list(closed)


def _close(ended: Sequence[Row[int, Disposition]]) -> list[int]:
    """Score each response the UPDATE closed, count its disposition, and commit."""
    for response_id, disposition in ended:
        later(Work.score_response, response_id)
        count_after_commit(RESPONSES_ENDED.labels(disposition.value), db.session())
    db.session.commit()
    return [response_id for response_id, _ in ended]


def _partial_or_breakoff() -> Case[Disposition]:
    """An unfinished survey's disposition, in SQL: partial with an answer, else breakoff."""
    answered = (
        select(Answer.id)
        .where(Answer.response_id == SurveyResponse.id, Answer.status == AnswerStatus.answered)
        .exists()
    )
    return case((answered, Disposition.partial), else_=Disposition.breakoff)
