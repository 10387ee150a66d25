"""Starting a survey on a call: record the call and its agent chain, pin the flow version, apply
the consent rules, and ask the first question."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, select

from ivr.extensions import db
from ivr.models import AgentLeg, Disposition, LanguageSource, SurveyChannel, SurveyResponse
from ivr.outbox import Work, later
from ivr.services.consent import do_not_survey as consent
from ivr.services.conversation import records
from ivr.services.conversation.flow_versions import registry
from ivr.services.conversation.state import SurveyState, load_state
from ivr.services.conversation.turns import Turn, advance, repeat_current
from ivr.services.errors import NotFound
from ivr.settings import settings


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
    # By text: `call_sid` is then the survey's own key ("sms-<outbound survey id>").
    channel: SurveyChannel = SurveyChannel.voice
    # A try-out of this flow version (a row id): the response is a test response.
    test_version_id: int | None = None


_legs = cast(Table, AgentLeg.__table__)
_LEGS = (
    select(_legs.c.agent_id, _legs.c.sequence, _legs.c.outcome, _legs.c.started_at, _legs.c.ended_at)
    .where(_legs.c.call_id == bindparam("call_id"))
    .order_by(_legs.c.sequence)
)


def start_survey(request: StartRequest) -> Turn:
    """Start the survey on the leg `request.call_sid` and return its first turn (see begin_survey)."""
    turn = begin_survey(request)
    db.session.commit()
    return turn


def begin_survey(request: StartRequest) -> Turn:
    """Start the survey on the leg `request.call_sid`, in the caller's transaction, and return its
    first turn.

    Records the call (the original one when the survey runs on another leg) and the agents it
    went through, credits one of them (AGENT_CREDIT_RULE), pins the flow version and language,
    and writes the response once with the first question already decided. A caller the consent
    rules exclude is thanked and not asked (disposition suppressed). A repeated delivery of the
    same start asks the current question again. Raises NotFound for an unknown flow.
    """
    if request.test_version_id is not None:
        compiled, version_id = registry().for_test(request.test_version_id), request.test_version_id
    else:
        published = registry().current(request.flow_id or settings().default_flow)
        if published is None:
            raise NotFound(f"unknown flow {request.flow_id!r}")
        compiled, version_id = published.compiled, published.version_id
    language = compiled.language_or_default(request.language)
    source = LanguageSource.ivr if request.language == language else LanguageSource.default

    from_hash = records.caller_hash(request.from_number)
    call_id = records.upsert_call(
        request.original_call_sid or request.call_sid,
        request.from_number,
        from_hash,
        request.to_number,
        request.queue,
    )
    refs = [*request.chain, *([request.agent_ref] if request.agent_ref else [])]
    agents = [records.upsert_agent(ref, "a survey webhook") for ref in refs]
    agent_id = _record_chain(call_id, agents, request.queue, settings().agent_credit_rule)

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
        turn = advance(state, compiled, after=None)
    response_id = records.insert_response(
        call_id=call_id,
        survey_call_sid=request.call_sid,
        flow_version_id=version_id,
        agent_id=agent_id,
        queue=request.queue,
        language=language,
        language_source=source,
        channel=request.channel,
        disposition=state.disposition,
        current_step=state.current_step,
        ended_at=state.ended_at,
        is_test=request.test_version_id is not None,
    )
    if response_id is None:
        # A repeated start (Twilio retried): ask the current question again.
        existing = db.session.scalar(
            select(SurveyResponse.id).where(SurveyResponse.survey_call_sid == request.call_sid)
        )
        current = load_state(existing) if existing is not None else None
        if current is None:  # pragma: no cover - the unique key said it exists
            raise NotFound(f"the survey on {request.call_sid} vanished")
        return repeat_current(current, registry().for_version(current.flow_version_id))
    if state.disposition.is_final:
        later(Work.score_response, response_id)
    return replace(turn, response_id=response_id)


def _record_chain(call_id: int, agent_ids: list[int], queue: str | None, rule: str) -> int | None:
    """Add the agents to the call's chain (each unless already its last leg) and return the one
    the response credits: the last, first or longest of the legs an agent answered."""
    legs = db.session.execute(_LEGS, {"call_id": call_id}).all()
    chain: list[tuple[int, float]] = [
        (leg.agent_id, _seconds(leg.started_at, leg.ended_at)) for leg in legs if leg.outcome == "completed"
    ]
    last = legs[-1] if legs else None
    sequence = last.sequence if last else 0
    for agent_id in agent_ids:
        if (last is not None and last.agent_id == agent_id) or (chain and chain[-1][0] == agent_id):
            continue
        sequence += 1
        records.add_leg(call_id, agent_id, sequence, queue, "completed")
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
