"""The front door on a Twilio number: greet, invite to the survey, ring the queue's agents in
turn, and after the agent leg start the survey on the same call when the caller agreed.

One function per webhook, each owning its transaction. Decisions travel in the URLs Twilio calls
back (signed by Twilio), so nothing about a call in progress is kept in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app

from ivr.extensions import db
from ivr.flows import CompiledFlow
from ivr.flows.routing import FrontDoor, Invitation, Queue, Routing
from ivr.models import Disposition, LanguageSource, utcnow
from ivr.outbox import Work, later
from ivr.services.consent import do_not_survey as consent
from ivr.services.conversation import records
from ivr.services.conversation.flow_versions import registry
from ivr.services.conversation.routing_versions import current_routing, routing_for
from ivr.services.conversation.start import StartRequest, begin_survey
from ivr.services.conversation.turns import Turn
from ivr.services.errors import NotFound
from ivr.settings import settings

# Twilio's DialCallStatus values that mean the agent answered.
ANSWERED = frozenset({"completed", "answered"})


@dataclass(frozen=True)
class Arrival:
    # The routing version the call follows to its end (a publish meanwhile is for new calls).
    routing_version: int
    queue_name: str
    queue: Queue
    flow: CompiledFlow
    language: str
    # How to invite: None when there is nothing to ask (no survey, or the rules say no).
    invite: Invitation | None


@dataclass(frozen=True)
class Ring:
    """Ring agent `index` of the queue (after the greeting, or after the last agent's leg)."""

    routing_version: int
    queue_name: str
    queue: Queue
    language: str
    index: int
    agreed: bool


@dataclass(frozen=True)
class AfterLeg:
    """What follows an agent leg: the survey (its first turn), the next agent, or the end."""

    language: str
    survey: Turn | None = None
    ring: Ring | None = None
    # Nobody answered: say so before hanging up (not when the caller hung up while it rang).
    apologise: bool = False


def front_door() -> FrontDoor:
    """The front door's prompts (the routing in force is `current_routing()`)."""
    door: FrontDoor = current_app.extensions["ivr.front_door"]
    return door


def queue_named(name: str, routing: Routing | None = None) -> tuple[Queue, CompiledFlow, str]:
    """The queue in the routing in force (or `routing`), its flow's current version and language."""
    queue = (routing or current_routing()).queues.get(name)
    if queue is None:
        raise NotFound(f"unknown queue {name!r}")
    published = registry().current(queue.flow or settings().default_flow)
    if published is None:  # pragma: no cover - the routing's flows are checked at start
        raise NotFound(f"queue {name!r} names an unknown flow")
    flow = published.compiled
    return queue, flow, flow.language_or_default(queue.language)


def arrive(call_sid: str, from_number: str | None, to_number: str | None) -> Arrival:
    """A call to one of our numbers: record it and decide how (and whether) to invite."""
    published = routing_for(None)
    name, _queue = published.routing.queue_for(to_number)
    queue, flow, language = queue_named(name, published.routing)
    from_hash = records.caller_hash(from_number)
    call_id = records.upsert_call(call_sid, from_number, from_hash, to_number, name)
    invite: Invitation | None = queue.invitation
    if invite is Invitation.none:
        invite = None
    elif from_hash and consent.exclusion(from_hash, flow, call_id):
        _closed_response(call_id, call_sid, flow, language, name, Disposition.suppressed)
        invite = None
    db.session.commit()
    return Arrival(published.version_id, name, queue, flow, language, invite)


def answer_invitation(
    call_sid: str, queue_name: str, digits: str | None, routing_version: int | None = None
) -> Ring:
    """The caller's answer to the invitation; a no is recorded as a declined response. Either
    way the first agent is rung next."""
    published = routing_for(routing_version)
    queue, flow, language = queue_named(queue_name, published.routing)
    keys = (digits or "").strip()
    agreed = keys == "1" if queue.invitation is Invitation.opt_in else keys != "9"
    if not agreed:
        call_id = records.call_id(call_sid)
        if call_id is not None:
            _closed_response(call_id, call_sid, flow, language, queue_name, Disposition.declined)
    db.session.commit()
    return Ring(published.version_id, queue_name, queue, language, 0, agreed)


@dataclass(frozen=True)
class LegEnded:
    """Twilio's Dial action: how agent `index`'s leg ended."""

    call_sid: str
    queue_name: str
    index: int
    dial_status: str
    duration: int | None
    agreed: bool
    caller_still_there: bool
    from_number: str | None = None
    to_number: str | None = None
    # The routing version the call started with (None from a Dial placed before versions).
    routing_version: int | None = None


def agent_leg_ended(leg: LegEnded) -> AfterLeg:
    """Record the agent leg with its outcome and times, then decide what follows in the same
    transaction: the survey when the agent answered and the caller agreed and is still there,
    else the next agent, else an apology."""
    published = routing_for(leg.routing_version)
    queue, flow, language = queue_named(leg.queue_name, published.routing)
    if not 0 <= leg.index < len(queue.agents):
        raise NotFound(f"queue {leg.queue_name!r} has no agent {leg.index}")
    address = queue.agents[leg.index]
    call_id = records.call_id(leg.call_sid)
    if call_id is None:
        raise NotFound(f"no call {leg.call_sid}")
    now = utcnow()
    records.add_leg(
        call_id,
        records.upsert_agent(address, "the front door"),
        # The front door rings agents in order: the n-th ring is leg n, so a repeated Dial
        # callback from Twilio finds its leg already there.
        leg.index + 1,
        leg.queue_name,
        "completed" if leg.dial_status in ANSWERED else leg.dial_status,
        started_at=now - timedelta(seconds=leg.duration or 0),
        ended_at=now,
    )
    after = AfterLeg(language)
    if leg.dial_status in ANSWERED:
        if leg.agreed and leg.caller_still_there:  # the agent hung up, the caller stayed: survey time
            start = StartRequest(
                call_sid=leg.call_sid,
                agent_ref=address,
                queue=leg.queue_name,
                flow_id=flow.id,
                language=language,
                from_number=leg.from_number,
                to_number=leg.to_number,
            )
            after = AfterLeg(language, survey=begin_survey(start))
    elif leg.dial_status != "canceled":  # canceled: the caller hung up while it rang
        if leg.index + 1 < len(queue.agents):
            after = AfterLeg(
                language,
                ring=Ring(published.version_id, leg.queue_name, queue, language, leg.index + 1, leg.agreed),
            )
        else:
            after = AfterLeg(language, apologise=True)
    db.session.commit()
    return after


def _closed_response(
    call_id: int, call_sid: str, flow: CompiledFlow, language: str, queue: str, disposition: Disposition
) -> None:
    """A response that ended before any question (declined, or suppressed by the rules), scored
    like any other so that nothing waits for it."""
    response_id = records.insert_response(
        call_id=call_id,
        survey_call_sid=call_sid,
        flow_version_id=_version_id(flow),
        queue=queue,
        language=language,
        language_source=LanguageSource.ivr,
        disposition=disposition,
        ended_at=utcnow(),
    )
    if response_id is not None:
        later(Work.score_response, response_id)


def _version_id(flow: CompiledFlow) -> int:
    published = registry().current(flow.id)
    if published is None:  # pragma: no cover - the flow was found a moment ago
        raise NotFound(f"flow {flow.id!r} vanished")
    return published.version_id
