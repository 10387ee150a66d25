"""Voice comments: the recording Twilio made, its status callback and the transcript that follows.

Three webhooks can tell us about one recording, in any order: the <Record> action (during the
call), the recording status callback and the transcription callback (often after the call has
ended). Each writes what it knows, keyed on the RecordingSid, so none of them can lose the
comment; a transcript arriving after the response was scored scores it again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, select, update

from ivr.db import autocommit_until_begin, begin, insert_ignore
from ivr.extensions import db
from ivr.flows.schema import RecordStep
from ivr.models import AnswerStatus, Recording, SurveyResponse, TranscriptStatus, utcnow
from ivr.outbox import Work, later
from ivr.services import policy
from ivr.services.conversation import records
from ivr.services.conversation.flow_versions import registry
from ivr.services.policy import Principal

log = logging.getLogger(__name__)

RECORDED = "recorded"  # a voice comment's answer value, as conditions see it
TEXT_COMMENT = "text"  # the status of a comment typed by SMS (its "recording" is the message)


@dataclass(frozen=True)
class RecordingInput:
    sid: str
    url: str | None
    duration: int | None  # seconds


_recordings = cast(Table, Recording.__table__)
_responses = cast(Table, SurveyResponse.__table__)

# The callbacks' statements, built once (Core, bound parameters): one of each for every comment.
_on_own_call = _recordings.c.response_id.in_(
    select(_responses.c.id).where(
        _responses.c.id == bindparam("response"), _responses.c.survey_call_sid == bindparam("call")
    )
)
_SET_STATUS = (
    update(_recordings)
    .where(
        _recordings.c.recording_sid == bindparam("sid"),
        _recordings.c.response_id == bindparam("response"),
        _on_own_call,
    )
    .values(
        status=bindparam("new_status"),
        duration_seconds=bindparam("duration"),
        media_url=bindparam("url"),
    )
    .returning(_recordings.c.id)
)
_TRANSCRIBE = (
    update(_recordings)
    .where(
        _recordings.c.recording_sid == bindparam("sid"),
        _recordings.c.response_id == bindparam("response"),
        _recordings.c.step_key == bindparam("step"),
        _on_own_call,
    )
    .values(
        transcript=bindparam("text"),
        transcript_status=bindparam("new_status", type_=_recordings.c.transcript_status.type),
        transcribed_at=bindparam("at", type_=_recordings.c.transcribed_at.type),
        sentiment=None,  # judged again by the scoring job
        sentiment_label=None,
    )
    .returning(_recordings.c.id)
)
_FINAL = select(_responses.c.disposition).where(_responses.c.id == bindparam("response"))


def long_enough(step: RecordStep, recording: RecordingInput | None) -> bool:
    """An empty or too-short recording counts as silence."""
    return recording is not None and (recording.duration or 0) >= max(step.min_length, 1)


def store(response_id: int, step_key: str, recording: RecordingInput, transcribe: bool) -> None:
    """Write the recording row in the caller's transaction (a repeat changes nothing)."""
    insert_ignore(
        Recording,
        {
            "response_id": response_id,
            "step_key": step_key,
            "recording_sid": recording.sid,
            "media_url": recording.url,
            "duration_seconds": recording.duration,
            "transcript_status": TranscriptStatus.pending if transcribe else TranscriptStatus.not_requested,
        },
        ["recording_sid"],
    )


def store_text(response_id: int, step_key: str, message_sid: str, text: str) -> None:
    """A comment typed by SMS, kept like a transcribed voice comment (no audio: no media URL), so
    that scoring judges its sentiment and feedback quotes it exactly as for a call."""
    insert_ignore(
        Recording,
        {
            "response_id": response_id,
            "step_key": step_key,
            "recording_sid": message_sid,
            "status": TEXT_COMMENT,
            "transcript_status": TranscriptStatus.completed,
            "transcript": text.strip(),
            "transcribed_at": utcnow(),
        },
        ["recording_sid"],
    )


def recording_status(
    response_id: int, step_key: str, recording: RecordingInput, status: str, call_sid: str | None
) -> bool:
    """Twilio's recording status callback. When the action never came (the caller hung up as the
    recording ended), this is what saves the comment. Returns True when it stored the answer.

    It changes only a recording of this response, made on the survey's own call (`call_sid`, the
    CallSid Twilio posted): a callback carrying another response's RecordingSid changes nothing."""
    # The common case: the <Record> action already stored it. One UPDATE, nothing else (and on
    # PostgreSQL no BEGIN or COMMIT around it).
    autocommit_until_begin()
    if _set_status(response_id, recording, status, call_sid):
        db.session.commit()
        return False
    begin()  # what follows reads, then writes the recording and the answer together
    response, step = _response_and_step(response_id, step_key)
    if response is None or step is None:
        db.session.rollback()
        return False
    owner = db.session.scalar(select(Recording.response_id).where(Recording.recording_sid == recording.sid))
    if response.survey_call_sid != call_sid or owner not in (None, response_id):
        db.session.rollback()
        log.warning(
            "recording callback for response %s ignored: recording %s or call %s is not its own",
            response_id,
            recording.sid,
            call_sid,
        )
        return False
    stored_answer = False
    if status == "completed" and long_enough(step, recording):
        compiled = registry().for_version(response.flow_version_id)
        store(response_id, step_key, recording, transcribe=compiled.transcribes(step, response.language))
        stored_answer = records.insert_answer(
            response_id, step_key, AnswerStatus.answered, recording.sid, RECORDED
        )
    _set_status(response_id, recording, status, call_sid)  # the call is the survey's: checked above
    if stored_answer and response.disposition.is_final:
        later(Work.score_response, response_id)
    db.session.commit()
    if stored_answer:
        log.info("response %s: comment %s saved from the recording callback", response_id, recording.sid)
    return stored_answer


def _set_status(response_id: int, recording: RecordingInput, status: str, call_sid: str | None) -> bool:
    """Record what the status callback says about this response's recording; False when there
    is no such recording, or the response is not the survey of `call_sid` (no call matches
    nothing)."""
    updated = db.session.execute(
        _SET_STATUS,
        {
            "sid": recording.sid,
            "response": response_id,
            "call": call_sid,
            "new_status": status,
            "duration": recording.duration,
            "url": recording.url,
        },
    ).scalar()
    return updated is not None


def transcription(
    response_id: int, step_key: str, recording_sid: str, text: str | None, status: str, call_sid: str | None
) -> bool:
    """Twilio's transcription callback: keep the text, then score the response again. Only for a
    recording of this response and step, made on the survey's own call (`call_sid`)."""
    completed = status == "completed" and bool(text and text.strip())
    autocommit_until_begin()  # one UPDATE and a read: no BEGIN or COMMIT needed on PostgreSQL
    updated = db.session.execute(
        _TRANSCRIBE,
        {
            "sid": recording_sid,
            "response": response_id,
            "step": step_key,
            "call": call_sid,
            "text": text.strip() if completed and text else None,
            "new_status": TranscriptStatus.completed if completed else TranscriptStatus.failed,
            "at": utcnow(),
        },
    ).scalar()
    if updated is None:
        db.session.rollback()
        log.warning(
            "transcript for recording %s ignored: no such recording of response %s step %s on call %s",
            recording_sid,
            response_id,
            step_key,
            call_sid,
        )
        return False
    disposition = db.session.execute(_FINAL, {"response": response_id}).scalar_one()
    if disposition.is_final:
        later(Work.score_response, response_id)
    db.session.commit()
    return completed


def find(principal: Principal, recording_sid: str) -> Recording | None:
    """A recording this principal may listen to (one of a response they may see), and not one
    whose link the retention purge removed."""
    query = (
        select(Recording)
        .join(SurveyResponse, SurveyResponse.id == Recording.response_id)
        .where(Recording.recording_sid == recording_sid, Recording.media_url.is_not(None))
    )
    return db.session.scalar(policy.scope_responses(principal, query))


def _response_and_step(response_id: int, step_key: str) -> tuple[SurveyResponse | None, RecordStep | None]:
    response = db.session.get(SurveyResponse, response_id)
    if response is None:
        return None, None
    step = registry().for_version(response.flow_version_id).question(step_key)
    return response, step if isinstance(step, RecordStep) else None
