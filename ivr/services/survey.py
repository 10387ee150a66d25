"""The survey conversation: start, take an answer, re-prompt, move on, close on hang-up.

Each public function owns its transaction: it commits once, then (only then) enqueues the
scoring job when the response became final. Twilio may deliver a webhook twice; an answer
already stored is never stored again, and the caller hears what follows it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select

from ivr.db import insert_or_get
from ivr.extensions import db
from ivr.flows import CompiledFlow
from ivr.flows.schema import MessageStep, QuestionStep
from ivr.jobs.scoring import enqueue_scoring
from ivr.models import (
    Agent,
    AgentLeg,
    Answer,
    AnswerStatus,
    Call,
    Disposition,
    SurveyResponse,
    utcnow,
)
from ivr.services.answers import answer_values
from ivr.services.flow_versions import registry

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
class StartRequest:
    call_sid: str
    original_call_sid: str | None = None
    agent_ref: str | None = None
    queue: str | None = None
    flow_id: str | None = None
    language: str | None = None
    from_number: str | None = None
    to_number: str | None = None


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

    call = _call_for(request)
    agent = _agent_for(request.agent_ref) if request.agent_ref else None
    if agent is not None:
        _record_leg(call, agent, request.queue)
    version_id = registry().version_id(compiled)
    response, created = insert_or_get(
        make=lambda: SurveyResponse(
            call=call,
            survey_call_sid=request.call_sid,
            flow_version_id=version_id,
            agent=agent,
            queue=request.queue,
            language=language,
            disposition=Disposition.in_progress,
        ),
        find=lambda: db.session.scalar(select(SurveyResponse).filter_by(survey_call_sid=request.call_sid)),
    )
    if created:
        db.session.flush()
        turn = _advance(response, compiled, after=None)
    else:
        turn = _repeat_current(response, registry().for_version(response.flow_version_id))
    db.session.commit()
    if created and response.disposition.is_final:
        enqueue_scoring(response.id)
    return turn


def answer_step(response_id: int, step_key: str, digits: str | None, attempt: Attempt) -> Turn:
    response = db.session.get(SurveyResponse, response_id)
    if response is None:
        raise SurveyUnavailable(f"no survey response {response_id}")
    compiled = registry().for_version(response.flow_version_id)
    step = compiled.question(step_key)
    if step is None:
        raise SurveyUnavailable(f"flow {compiled.id} has no question {step_key!r}")

    if any(answer.step_key == step_key for answer in response.answers):
        # A repeated delivery: store nothing, say what follows the stored answer.
        turn = _repeat_after(response, compiled, step_key)
        db.session.rollback()
        return turn

    was_final = response.disposition.is_final
    keys = (digits or "").strip().rstrip("#")
    parsed = step.parse_digits(keys) if keys else None
    if parsed is not None:
        value, number = parsed
        _store_answer(response, step, AnswerStatus.answered, keys, value, number, attempt)
        turn = _advance(response, compiled, after=step_key) if not was_final else _closing(response, compiled)
    else:
        if keys:
            attempt = Attempt(attempt.no_input, attempt.no_match + 1)
            exhausted = attempt.no_match > step.retries.no_match
            reprompt = step.no_match_prompt or compiled.flow.prompts.no_match
        else:
            attempt = Attempt(attempt.no_input + 1, attempt.no_match)
            exhausted = attempt.no_input > step.retries.no_input
            reprompt = step.no_input_prompt or compiled.flow.prompts.no_input
        if not exhausted:
            return Turn(compiled, response.language, response.id, say=(reprompt,), ask=step, attempt=attempt)
        _store_answer(response, step, AnswerStatus.skipped, keys or None, None, None, attempt)
        if was_final:
            turn = _closing(response, compiled)
        elif step.on_exhausted == "end":
            _finish(response, _early_disposition(response))
            turn = Turn(
                compiled,
                response.language,
                response.id,
                say=(reprompt,),
                closing=compiled.flow.prompts.ended_early,
            )
        else:
            turn = _advance(response, compiled, after=step_key, lead=(reprompt,))
    db.session.commit()
    if response.disposition.is_final:
        # Also when a late answer reached an already-final response: scoring is idempotent.
        enqueue_scoring(response.id)
    return turn


def close_call(call_sid: str, call_status: str, duration: int | None) -> list[int]:
    """The call's status callback: an open survey on an ended call becomes partial or breakoff."""
    if call_status not in CALL_ENDED:
        return []
    call = db.session.scalar(select(Call).filter_by(call_sid=call_sid))
    if call is not None:
        call.status = call_status
        call.duration_seconds = duration
        call.ended_at = call.ended_at or utcnow()
    open_responses = db.session.scalars(
        select(SurveyResponse)
        .join(Call)
        .where(
            or_(SurveyResponse.survey_call_sid == call_sid, Call.call_sid == call_sid),
            SurveyResponse.disposition == Disposition.in_progress,
        )
    ).all()
    for response in open_responses:
        _finish(response, _early_disposition(response))
    db.session.commit()
    for response in open_responses:
        enqueue_scoring(response.id)
    return [response.id for response in open_responses]


def _call_for(request: StartRequest) -> Call:
    sid = request.original_call_sid or request.call_sid
    call, _ = insert_or_get(
        make=lambda: Call(
            call_sid=sid,
            from_number=request.from_number,
            to_number=request.to_number,
            queue=request.queue,
            status="in-progress",
        ),
        find=lambda: db.session.scalar(select(Call).filter_by(call_sid=sid)),
    )
    return call


def _agent_for(ref: str) -> Agent:
    agent, created = insert_or_get(
        make=lambda: Agent(ref=ref, auto_created=True),
        find=lambda: db.session.scalar(select(Agent).filter_by(ref=ref)),
    )
    if created:
        log.info("agent %r first seen on a survey webhook: recorded as a new agent", ref)
    return agent


def _record_leg(call: Call, agent: Agent, queue: str | None) -> None:
    """Add the agent to the call's chain unless they are already its last leg."""
    db.session.flush()
    legs = call.legs
    if legs and legs[-1].agent_id == agent.id:
        return
    insert_or_get(
        make=lambda: AgentLeg(
            call=call, agent=agent, sequence=len(legs) + 1, queue=queue, outcome="completed"
        ),
        find=lambda: db.session.scalar(select(AgentLeg).filter_by(call_id=call.id, sequence=len(legs) + 1)),
    )


def _store_answer(
    response: SurveyResponse,
    step: QuestionStep,
    status: AnswerStatus,
    raw: str | None,
    value: str | None,
    number: int | None,
    attempt: Attempt,
) -> None:
    _answer, created = insert_or_get(
        make=lambda: Answer(
            response=response,
            step_key=step.key,
            status=status,
            raw_input=raw,
            value=value,
            number=number,
            no_input_count=attempt.no_input,
            no_match_count=attempt.no_match,
        ),
        find=lambda: db.session.scalar(select(Answer).filter_by(response_id=response.id, step_key=step.key)),
    )
    if not created:
        log.info("response %s step %s: answer already stored by a concurrent delivery", response.id, step.key)


def _advance(
    response: SurveyResponse, compiled: CompiledFlow, after: str | None, lead: Sequence[str] = ()
) -> Turn:
    """Say any messages, then ask the next question whose condition holds, or finish."""
    say = list(lead)
    for step in compiled.next_steps(after, answer_values(response, compiled)):
        if isinstance(step, MessageStep):
            say.append(step.prompt)
            continue
        response.current_step = step.key
        return Turn(compiled, response.language, response.id, say=tuple(say), ask=step)
    answered = any(a.status is AnswerStatus.answered for a in response.answers)
    _finish(response, Disposition.completed if answered else Disposition.breakoff)
    return Turn(
        compiled, response.language, response.id, say=tuple(say), closing=compiled.flow.prompts.goodbye
    )


def _repeat_after(response: SurveyResponse, compiled: CompiledFlow, step_key: str) -> Turn:
    if response.disposition.is_final:
        return _closing(response, compiled)
    values = answer_values(response, compiled)
    for step in compiled.next_steps(step_key, values):
        if not isinstance(step, MessageStep):
            return Turn(compiled, response.language, response.id, ask=step)
    return _closing(response, compiled)


def _repeat_current(response: SurveyResponse, compiled: CompiledFlow) -> Turn:
    step = compiled.question(response.current_step) if response.current_step else None
    if response.disposition.is_final or step is None:
        return _closing(response, compiled)
    return Turn(compiled, response.language, response.id, ask=step)


def _closing(response: SurveyResponse, compiled: CompiledFlow) -> Turn:
    goodbye = compiled.flow.prompts.goodbye
    if response.disposition is not Disposition.completed:
        goodbye = compiled.flow.prompts.ended_early
    return Turn(compiled, response.language, response.id, closing=goodbye)


def _early_disposition(response: SurveyResponse) -> Disposition:
    answered = any(a.status is AnswerStatus.answered for a in response.answers)
    return Disposition.partial if answered else Disposition.breakoff


def _finish(response: SurveyResponse, disposition: Disposition) -> None:
    response.disposition = disposition
    response.ended_at = utcnow()
    response.current_step = None
