"""One writer for each row of a call's conversation: the call, an agent, an agent leg, a survey
response, an answer. Every path that writes one of these rows goes through here.

Each inserts at most once, keyed on the row's natural key (ON CONFLICT DO NOTHING), inside the
caller's transaction: Twilio may deliver a webhook twice, or two deliveries may race, and the
unique constraint decides in one round trip.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select

from ivr.db import insert_ignore, upsert_id
from ivr.extensions import db
from ivr.models import (
    Agent,
    AgentLeg,
    Answer,
    AnswerStatus,
    Call,
    Disposition,
    LanguageSource,
    SurveyChannel,
    SurveyResponse,
)
from ivr.ops.metrics import ANSWERS_STORED, RESPONSES_ENDED, count_after_commit
from ivr.services.consent.privacy import number_hash

log = logging.getLogger(__name__)


_calls = cast(Table, Call.__table__)
_agents = cast(Table, Agent.__table__)
_CALL_ID = select(_calls.c.id).where(_calls.c.call_sid == bindparam("sid"))
_AGENT_ID = select(_agents.c.id).where(_agents.c.ref == bindparam("ref"))


def caller_hash(from_number: str | None) -> str | None:
    return number_hash(from_number) if from_number else None


def upsert_call(
    call_sid: str, from_number: str | None, from_hash: str | None, to_number: str | None, queue: str | None
) -> int:
    """The call's id, recording it (with the caller's number and its keyed hash, from
    caller_hash()) on first sight."""
    call_id, _ = upsert_id(
        Call,
        {
            "call_sid": call_sid,
            "from_number": from_number,
            "from_hash": from_hash,
            "to_number": to_number,
            "queue": queue,
            "status": "in-progress",
        },
        ["call_sid"],
    )
    return call_id


def call_id(call_sid: str) -> int | None:
    found: int | None = db.session.execute(_CALL_ID, {"sid": call_sid}).scalar()
    return found


def upsert_agent(ref: str, seen_on: str) -> int:
    """The agent's id; an agent first seen on a webhook (`seen_on`) is recorded as a new one."""
    known: int | None = db.session.execute(_AGENT_ID, {"ref": ref}).scalar()
    if known is not None:
        return known
    agent_id, created = upsert_id(Agent, {"ref": ref, "auto_created": True}, ["ref"])
    if created:
        log.info("agent %r first seen on %s: recorded as a new agent", ref, seen_on)
    return agent_id


def add_leg(
    call_id: int,
    agent_id: int,
    sequence: int,
    queue: str | None,
    outcome: str,
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
) -> bool:
    """The call's `sequence`-th agent leg; False when that leg is already recorded."""
    values: dict[str, object] = {
        "call_id": call_id,
        "agent_id": agent_id,
        "sequence": sequence,
        "queue": queue,
        "outcome": outcome,
        "ended_at": ended_at,
    }
    if started_at is not None:
        values["started_at"] = started_at
    return insert_ignore(AgentLeg, values, ["call_id", "sequence"]) is not None


def insert_response(
    *,
    call_id: int,
    survey_call_sid: str,
    flow_version_id: int,
    queue: str | None,
    language: str,
    language_source: LanguageSource,
    disposition: Disposition,
    agent_id: int | None = None,
    current_step: str | None = None,
    ended_at: datetime | None = None,
    channel: SurveyChannel = SurveyChannel.voice,
    is_test: bool = False,
) -> int | None:
    """The survey response on the leg `survey_call_sid`; None when that leg already has one."""
    response_id = insert_ignore(
        SurveyResponse,
        {
            "call_id": call_id,
            "survey_call_sid": survey_call_sid,
            "flow_version_id": flow_version_id,
            "agent_id": agent_id,
            "queue": queue,
            "language": language,
            "language_source": language_source,
            "channel": channel,
            "disposition": disposition,
            "current_step": current_step,
            "ended_at": ended_at,
            "is_test": is_test,
        },
        ["survey_call_sid"],
    )
    if response_id is not None and disposition.is_final:
        count_after_commit(RESPONSES_ENDED.labels(disposition.value), db.session())
    return response_id


def answer_row(
    response_id: int,
    step_key: str,
    status: AnswerStatus,
    raw_input: str | None,
    value: str | None,
    number: int | None = None,
    *,
    no_input: int = 0,
    no_match: int = 0,
    speech: str | None = None,
    confidence: float | None = None,
) -> dict[str, Any]:
    """The answers row for one step, by column."""
    return {
        "response_id": response_id,
        "step_key": step_key,
        "status": status,
        "raw_input": raw_input,
        "value": value,
        "number": number,
        "no_input_count": no_input,
        "no_match_count": no_match,
        "speech_result": speech,
        "speech_confidence": confidence,
    }


def insert_answer(
    response_id: int,
    step_key: str,
    status: AnswerStatus,
    raw_input: str | None,
    value: str | None,
    number: int | None = None,
    *,
    no_input: int = 0,
    no_match: int = 0,
    speech: str | None = None,
    confidence: float | None = None,
) -> bool:
    """The answer to one step; False when that step already has one (a repeated delivery)."""
    row = answer_row(
        response_id,
        step_key,
        status,
        raw_input,
        value,
        number,
        no_input=no_input,
        no_match=no_match,
        speech=speech,
        confidence=confidence,
    )
    stored = insert_ignore(Answer, row, ["response_id", "step_key"]) is not None
    answer_stored(response_id, step_key, stored)
    return stored


def answer_stored(response_id: int, step_key: str, stored: bool) -> None:
    """Count a new answer once its transaction commits; log a repeated delivery's."""
    if stored:
        count_after_commit(ANSWERS_STORED, db.session())
    else:
        log.info("response %s step %s: answer already stored by an earlier delivery", response_id, step_key)
