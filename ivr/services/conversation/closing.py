"""Closing surveys: the call's status callback, and housekeeping for callbacks that never came.
A survey still open on an ended call becomes partial (some answers) or breakoff (none), or
failed when the call failed, and is scored."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import cast

from sqlalchemy import Case, Row, Table, bindparam, case, func, or_, select, update

from ivr.extensions import db
from ivr.models import Answer, AnswerStatus, Call, Disposition, SurveyChannel, SurveyResponse, utcnow
from ivr.ops.metrics import RESPONSES_ENDED, count_after_commit
from ivr.outbox import Work, later

log = logging.getLogger(__name__)

# Twilio's CallStatus values that mean the call is over.
CALL_ENDED = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})


_calls = cast(Table, Call.__table__)
_responses = cast(Table, SurveyResponse.__table__)
_answers = cast(Table, Answer.__table__)


def _partial_or_breakoff() -> Case[Disposition]:
    """An unfinished survey's disposition, in SQL: partial with an answer, else breakoff."""
    answered = (
        select(_answers.c.id)
        .where(_answers.c.response_id == _responses.c.id, _answers.c.status == AnswerStatus.answered)
        .exists()
    )
    return case((answered, Disposition.partial), else_=Disposition.breakoff)


# The status callback's two statements, built once (Core, bound parameters): every call ends with one.
_END_CALL = (
    update(_calls)
    .where(_calls.c.call_sid == bindparam("sid"))
    .values(
        status=bindparam("new_status"),
        duration_seconds=bindparam("duration"),
        ended_at=func.coalesce(_calls.c.ended_at, bindparam("now", type_=_calls.c.ended_at.type)),
    )
    .returning(_calls.c.id)
)
# Plain values on both sides of the OR, so that the database reads the two indexes (a subquery
# there made PostgreSQL scan every response: 0.2-0.6 s each at a million). Without a call row
# the call id is NULL, which matches nothing.
_END_SURVEYS = {
    failed: (
        update(_responses)
        .where(
            _responses.c.disposition == Disposition.in_progress,
            # A survey by text about this call goes on after the call has ended.
            _responses.c.channel == SurveyChannel.voice,
            or_(
                _responses.c.survey_call_sid == bindparam("sid"),
                _responses.c.call_id == bindparam("cid", type_=_responses.c.call_id.type),
            ),
        )
        .values(
            disposition=Disposition.failed if failed else _partial_or_breakoff(),
            ended_at=bindparam("now", type_=_responses.c.ended_at.type),
            current_step=None,
        )
        .returning(_responses.c.id, _responses.c.disposition)
    )
    for failed in (False, True)
}


def close_call(call_sid: str, call_status: str, duration: int | None) -> list[int]:
    """The call's status callback: an open survey on an ended call becomes partial or breakoff;
    a caller who hung up before the survey, or broke off before any answer, is invited by text
    when their queue says so."""
    if call_status not in CALL_ENDED:
        return []
    now = utcnow()
    call_id = db.session.execute(
        _END_CALL, {"sid": call_sid, "new_status": call_status, "duration": duration, "now": now}
    ).scalar()
    ended = db.session.execute(
        _END_SURVEYS[call_status == "failed"], {"sid": call_sid, "cid": call_id, "now": now}
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
