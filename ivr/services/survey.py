"""The survey conversation: start, take an answer, re-prompt, move on, close on hang-up.

Each public function owns its transaction: it commits once, and the scoring job it asks for
when the response became final is enqueued only after that commit (ivr.outbox). Twilio may
deliver a webhook twice; an answer already stored is never stored again, and the caller hears
what follows it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Case, case, func, or_, select, update

from ivr.db import insert_ignore, upsert_id
from ivr.extensions import db
from ivr.flows import CompiledFlow, speech
from ivr.flows.schema import LanguageStep, MessageStep, QuestionStep, RecordStep
from ivr.models import (
    Agent,
    AgentLeg,
    Answer,
    AnswerStatus,
    Call,
    Disposition,
    LanguageSource,
    ListSource,
    SurveyResponse,
    utcnow,
)
from ivr.outbox import Work, later
from ivr.services import consent, recordings
from ivr.services.answers import answer_value
from ivr.services.flow_versions import registry
from ivr.services.privacy import mask, number_hash
from ivr.services.recordings import RecordingInput
from ivr.services.survey_state import SurveyState, load_state, save_state

log = logging.getLogger(__name__)

# Twilio's CallStatus values that mean the call is over.
CALL_ENDED = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})


class SurveyUnavailable(LookupError):
    """The request names a flow, response or step that does not exist."""


@dataclass(frozen=True)
class Attempt:
    """Silences and wrong keys so far on the step being asked (carried in the step URL)."""

    no_input: int = 0
    no_match: int = 0


@dataclass(frozen=True)
class CallerInput:
    """What Twilio posted for a step: keys, a spoken answer, or a recording."""

    digits: str | None = None
    speech: str | None = None
    confidence: float | None = None
    recording: RecordingInput | None = None


@dataclass(frozen=True)
class Parsed:
    """An accepted answer as stored."""

    raw: str | None
    value: str
    number: int | None
    speech: str | None = None
    confidence: float | None = None


@dataclass(frozen=True)
class StartRequest:
    call_sid: str
    original_call_sid: str | None = None
    agent_ref: str | None = None
    queue: str | None = None
    flow_id: str | None = None
    language: str | None = None
    from_number: str | None = None
    to_number: str | None = None
    # Agents the call went through before `agent_ref`, in order (transfers, from a CTI).
    chain: tuple[str, ...] = ()


@dataclass(frozen=True)
class Turn:
    """What the caller hears next: prompts, then a question or a closing line and hang-up."""

    flow: CompiledFlow
    language: str
    response_id: int
    say: tuple[str, ...] = ()
    ask: QuestionStep | None = None
    attempt: Attempt = Attempt()
    closing: str | None = None


def start_survey(request: StartRequest, default_flow: str) -> Turn:
    compiled = registry().flows.get(request.flow_id or default_flow)
    if compiled is None:
        raise SurveyUnavailable(f"unknown flow {request.flow_id!r}")
    language = compiled.language_or_default(request.language)
    source = LanguageSource.ivr if request.language == language else LanguageSource.default

    from_hash = number_hash(request.from_number) if request.from_number else None
    call_id, _ = upsert_id(
        Call,
        {
            "call_sid": request.original_call_sid or request.call_sid,
            "from_number": request.from_number,
            "from_hash": from_hash,
            "to_number": request.to_number,
            "queue": request.queue,
            "status": "in-progress",
        },
        ["call_sid"],
    )
    refs = [*request.chain, *([request.agent_ref] if request.agent_ref else [])]
    agent_id = _record_chain(call_id, [_agent_id(ref) for ref in refs], request.queue, _credit_rule())
    version_id = registry().version_id(compiled)

    # Work out the first question before the INSERT, so the row is written once.
    state = SurveyState(
        0,
        version_id,
        language,
        Disposition.in_progress,
        None,
        language_source=source,
        survey_call_sid=request.call_sid,
    )
    if from_hash and consent.exclusion(from_hash, compiled, call_id):
        state.finish(Disposition.suppressed)
        turn = Turn(compiled, language, 0, closing=compiled.flow.prompts.not_surveyed)
    else:
        turn = _advance(state, compiled, after=None)
    response_id = insert_ignore(
        SurveyResponse,
        {
            "call_id": call_id,
            "survey_call_sid": request.call_sid,
            "flow_version_id": version_id,
            "agent_id": agent_id,
            "queue": request.queue,
            "language": language,
            "language_source": source,
            "disposition": state.disposition,
            "current_step": state.current_step,
            "ended_at": state.ended_at,
        },
        ["survey_call_sid"],
    )
    if response_id is not None:
        turn = replace(turn, response_id=response_id)
    else:
        # A repeated start (Twilio retried): ask the current question again.
        existing_id = db.session.scalar(
            select(SurveyResponse.id).where(SurveyResponse.survey_call_sid == request.call_sid)
        )
        state = load_state(existing_id)  # type: ignore[arg-type, assignment]
        turn = _repeat_current(state, registry().for_version(state.flow_version_id))
    if response_id is not None and state.disposition.is_final:
        later(Work.score_response, response_id)
    db.session.commit()
    return turn


def answer_step(
    response_id: int, step_key: str, given: CallerInput, attempt: Attempt, call_sid: str | None
) -> Turn:
    """`call_sid` is the CallSid Twilio posted: only the survey's own call may answer it."""
    state = load_state(response_id)
    if state is None:
        raise SurveyUnavailable(f"no survey response {response_id}")
    if call_sid != state.survey_call_sid:
        db.session.rollback()
        raise SurveyUnavailable(f"call {call_sid!r} is not the call of survey response {response_id}")
    compiled = registry().for_version(state.flow_version_id)
    step = compiled.question(step_key)
    if step is None:
        raise SurveyUnavailable(f"flow {compiled.id} has no question {step_key!r}")

    if step_key in state.values:
        # A repeated delivery: store nothing, say what follows the stored answer.
        db.session.rollback()
        return _repeat_after(state, compiled, step_key)

    was_final = state.disposition.is_final
    if _opting_out(compiled, given) and not was_final:
        return _opt_out(state, compiled)
    parsed, heard_something = _parse(step, given, compiled, state.language)
    if parsed is not None:
        _store_answer(state, step, AnswerStatus.answered, parsed, attempt)
        if isinstance(step, RecordStep) and given.recording is not None:
            recordings.store(state.id, step.key, given.recording, compiled.transcribes(step, state.language))
        if isinstance(step, LanguageStep):
            state.choose_language(parsed.value)
        turn = _closing(state, compiled) if was_final else _advance(state, compiled, step_key)
    else:
        if heard_something:
            attempt = Attempt(attempt.no_input, attempt.no_match + 1)
            exhausted = attempt.no_match > step.retries.no_match
            reprompt = step.no_match_prompt or compiled.flow.prompts.no_match
        else:
            attempt = Attempt(attempt.no_input + 1, attempt.no_match)
            exhausted = attempt.no_input > step.retries.no_input
            reprompt = step.no_input_prompt or compiled.flow.prompts.no_input
        if not exhausted:
            db.session.rollback()
            return Turn(compiled, state.language, state.id, say=(reprompt,), ask=step, attempt=attempt)
        raw = (given.digits or "").strip() or None
        _store_answer(
            state, step, AnswerStatus.skipped, Parsed(raw, "", None, given.speech, given.confidence), attempt
        )
        if was_final:
            turn = _closing(state, compiled)
        elif step.on_exhausted == "end":
            state.finish(Disposition.partial if state.answered else Disposition.breakoff)
            closing = compiled.flow.prompts.ended_early
            turn = Turn(compiled, state.language, state.id, say=(reprompt,), closing=closing)
        else:
            turn = _advance(state, compiled, step_key, lead=(reprompt,))
    save_state(state)
    if state.disposition.is_final:
        # Also when a late answer reached an already-final response: scoring is idempotent.
        later(Work.score_response, state.id)
    db.session.commit()
    return turn


def _opting_out(compiled: CompiledFlow, given: CallerInput) -> bool:
    key = compiled.flow.opt_out_key
    return key is not None and (given.digits or "").strip() == key


def _opt_out(state: SurveyState, compiled: CompiledFlow) -> Turn:
    """The caller pressed the opt-out key: never again, and the answers so far are kept."""
    call = db.session.execute(
        select(Call.from_hash, Call.from_number)
        .join(SurveyResponse, SurveyResponse.call_id == Call.id)
        .where(SurveyResponse.id == state.id)
    ).one()
    if call.from_hash:
        consent.add_hash(call.from_hash, ListSource.opt_out, mask(call.from_number))
    else:
        log.warning("response %s: opt-out without a caller number: nothing to remember", state.id)
    state.finish(Disposition.refused)
    save_state(state)
    later(Work.score_response, state.id)
    db.session.commit()
    return Turn(compiled, state.language, state.id, closing=compiled.flow.prompts.opted_out)


def _parse(
    step: QuestionStep, given: CallerInput, compiled: CompiledFlow, language: str
) -> tuple[Parsed | None, bool]:
    """The answer the input gives, or None; and whether the caller gave anything at all (a wrong
    key or an unclear phrase is a no-match, silence or an empty recording a no-input)."""
    if isinstance(step, RecordStep):
        if recordings.long_enough(step, given.recording):
            assert given.recording is not None
            return Parsed(given.recording.sid, recordings.RECORDED, None), True
        return None, False
    keys = (given.digits or "").strip().rstrip("#")
    if keys:
        parsed = step.parse_digits(keys)
        return (Parsed(keys, *parsed) if parsed else None), True
    said = (given.speech or "").strip()
    if said and step.speech:
        confidence = given.confidence if given.confidence is not None else 0.0
        meant = speech.match(step, compiled.vocabulary(language), said)
        if meant is None or confidence < compiled.flow.min_speech_confidence:
            log.info("step %s: heard %r (confidence %.2f): asking again", step.key, said, confidence)
            return None, True
        return Parsed(None, meant[0], meant[1], said[:2000], confidence), True
    return None, False


def close_call(call_sid: str, call_status: str, duration: int | None) -> list[int]:
    """The call's status callback: an open survey on an ended call becomes partial or breakoff."""
    if call_status not in CALL_ENDED:
        return []
    now = utcnow()
    db.session.execute(
        update(Call)
        .where(Call.call_sid == call_sid)
        .values(status=call_status, duration_seconds=duration, ended_at=func.coalesce(Call.ended_at, now))
    )
    closed = db.session.scalars(
        update(SurveyResponse)
        .where(
            SurveyResponse.disposition == Disposition.in_progress,
            or_(
                SurveyResponse.survey_call_sid == call_sid,
                SurveyResponse.call_id.in_(select(Call.id).where(Call.call_sid == call_sid)),
            ),
        )
        .values(
            disposition=Disposition.failed if call_status == "failed" else _partial_or_breakoff(),
            ended_at=now,
            current_step=None,
        )
        .returning(SurveyResponse.id)
        .execution_options(synchronize_session=False)
    ).all()
    for response_id in closed:
        later(Work.score_response, response_id)
    db.session.commit()
    return list(closed)


def _partial_or_breakoff() -> Case[Disposition]:
    """An unfinished survey's disposition, in SQL: partial with an answer, else breakoff."""
    answered = (
        select(Answer.id)
        .where(Answer.response_id == SurveyResponse.id, Answer.status == AnswerStatus.answered)
        .exists()
    )
    return case((answered, Disposition.partial), else_=Disposition.breakoff)


def close_stale(older_than_minutes: int) -> list[int]:
    """Close surveys still in progress long after they started: the call's status callback never
    came (a lost request, a misconfigured number). Each becomes partial or breakoff and is scored."""
    cutoff = utcnow() - timedelta(minutes=older_than_minutes)
    closed = db.session.scalars(
        update(SurveyResponse)
        .where(SurveyResponse.disposition == Disposition.in_progress, SurveyResponse.started_at < cutoff)
        .values(
            disposition=_partial_or_breakoff(),
            ended_at=utcnow(),
            current_step=None,
        )
        .returning(SurveyResponse.id)
        .execution_options(synchronize_session=False)
    ).all()
    for response_id in closed:
        later(Work.score_response, response_id)
    db.session.commit()
    if closed:
        log.warning("closed %s stale survey(s) whose status callback never came: %s", len(closed), closed)
    return list(closed)


def _credit_rule() -> str:
    rule: str = current_app.extensions["ivr.settings"].agent_credit_rule
    return rule


def _agent_id(ref: str) -> int:
    known = db.session.scalar(select(Agent.id).where(Agent.ref == ref))
    if known is not None:
        return known
    agent_id, created = upsert_id(Agent, {"ref": ref, "auto_created": True}, ["ref"])
    if created:
        log.info("agent %r first seen on a survey webhook: recorded as a new agent", ref)
    return agent_id


def _record_chain(call_id: int, agent_ids: list[int], queue: str | None, rule: str) -> int | None:
    """Add the agents to the call's chain (each unless already its last leg) and return the one
    the response credits: the last, first or longest of the legs an agent answered."""
    legs = db.session.execute(
        select(AgentLeg.agent_id, AgentLeg.sequence, AgentLeg.outcome, AgentLeg.started_at, AgentLeg.ended_at)
        .where(AgentLeg.call_id == call_id)
        .order_by(AgentLeg.sequence)
    ).all()
    chain: list[tuple[int, float]] = [
        (leg.agent_id, _seconds(leg.started_at, leg.ended_at)) for leg in legs if leg.outcome == "completed"
    ]
    last = legs[-1] if legs else None
    sequence = last.sequence if last else 0
    for agent_id in agent_ids:
        if (last is not None and last.agent_id == agent_id) or (chain and chain[-1][0] == agent_id):
            continue
        sequence += 1
        insert_ignore(
            AgentLeg,
            {
                "call_id": call_id,
                "agent_id": agent_id,
                "sequence": sequence,
                "queue": queue,
                "outcome": "completed",
            },
            ["call_id", "sequence"],
        )
        chain.append((agent_id, 0.0))
    if not chain:
        return None
    if rule == "first":
        return chain[0][0]
    if rule == "longest":
        return max(reversed(chain), key=lambda leg: leg[1])[0]  # a tie goes to the later agent
    return chain[-1][0]


def _seconds(started: datetime | None, ended: datetime | None) -> float:
    return (ended - started).total_seconds() if started and ended else 0.0


def _store_answer(
    state: SurveyState, step: QuestionStep, status: AnswerStatus, parsed: Parsed, attempt: Attempt
) -> None:
    value = parsed.value if status is AnswerStatus.answered else None
    number = parsed.number if status is AnswerStatus.answered else None
    stored = insert_ignore(
        Answer,
        {
            "response_id": state.id,
            "step_key": step.key,
            "status": status,
            "raw_input": parsed.raw,
            "value": value,
            "number": number,
            "no_input_count": attempt.no_input,
            "no_match_count": attempt.no_match,
            "speech_result": parsed.speech,
            "speech_confidence": parsed.confidence,
        },
        ["response_id", "step_key"],
    )
    if stored is None:
        log.info("response %s step %s: answer already stored by a concurrent delivery", state.id, step.key)
    state.values[step.key] = answer_value(status, value, number)


def _advance(state: SurveyState, compiled: CompiledFlow, after: str | None, lead: Sequence[str] = ()) -> Turn:
    """Say any messages, then ask the next question whose condition holds, or finish."""
    say = list(lead)
    for step in compiled.next_steps(after, state.values, state.language_known):
        if isinstance(step, MessageStep):
            say.append(step.prompt)
            continue
        state.asking(step.key)
        return Turn(compiled, state.language, state.id, say=tuple(say), ask=step)
    state.finish(Disposition.completed if state.answered else Disposition.breakoff)
    goodbye = compiled.flow.prompts.goodbye
    return Turn(compiled, state.language, state.id, say=tuple(say), closing=goodbye)


def _repeat_after(state: SurveyState, compiled: CompiledFlow, step_key: str) -> Turn:
    if state.disposition.is_final:
        return _closing(state, compiled)
    for step in compiled.next_steps(step_key, state.values, state.language_known):
        if not isinstance(step, MessageStep):
            return Turn(compiled, state.language, state.id, ask=step)
    return _closing(state, compiled)


def _repeat_current(state: SurveyState, compiled: CompiledFlow) -> Turn:
    step = compiled.question(state.current_step) if state.current_step else None
    if state.disposition.is_final or step is None:
        return _closing(state, compiled)
    return Turn(compiled, state.language, state.id, ask=step)


def _closing(state: SurveyState, compiled: CompiledFlow) -> Turn:
    prompts = compiled.flow.prompts
    goodbye = {
        Disposition.completed: prompts.goodbye,
        Disposition.suppressed: prompts.not_surveyed,
        Disposition.refused: prompts.opted_out,
    }.get(state.disposition, prompts.ended_early)
    return Turn(compiled, state.language, state.id, closing=goodbye)
