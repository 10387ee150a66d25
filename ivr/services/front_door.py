"""The front door on a Twilio number: greet, invite to the survey, ring the queue's agents in
turn, and after the agent leg start the survey on the same call when the caller agreed.

Each function owns its transaction. Decisions travel in the URLs Twilio calls back (signed by
Twilio), so nothing about a call in progress is kept in memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from ivr.db import insert_ignore, upsert_id
from ivr.extensions import db
from ivr.flows import CompiledFlow
from ivr.models import Agent, AgentLeg, Call, Disposition, LanguageSource, SurveyResponse, utcnow
from ivr.outbox import Work, later
from ivr.routing import FrontDoor, Invitation, Queue
from ivr.services import consent
from ivr.services.flow_versions import registry
from ivr.services.privacy import number_hash

log = logging.getLogger(__name__)

# Twilio's DialCallStatus values; only "completed" means the agent answered.
DIAL_OUTCOMES = frozenset({"completed", "answered", "busy", "no-answer", "failed", "canceled"})


class FrontDoorUnavailable(LookupError):
    """No routing file, or a queue the routing does not define."""


@dataclass(frozen=True)
class Arrival:
    queue_name: str
    queue: Queue
    flow: CompiledFlow
    language: str
    # How to invite: None when there is nothing to ask (no survey, or the rules say no).
    invite: Invitation | None


def front_door() -> FrontDoor:
    door: FrontDoor | None = current_app.extensions.get("ivr.front_door")
    if door is None:
        raise FrontDoorUnavailable("there is no callflows/routing/queues.yaml")
    return door


def queue_named(name: str) -> tuple[Queue, CompiledFlow, str]:
    queue = front_door().routing.queues.get(name)
    if queue is None:
        raise FrontDoorUnavailable(f"unknown queue {name!r}")
    flow = registry().flows[queue.flow or current_app.extensions["ivr.settings"].default_flow]
    return queue, flow, flow.language_or_default(queue.language)


def arrive(call_sid: str, from_number: str | None, to_number: str | None) -> Arrival:
    name, _queue = front_door().routing.queue_for(to_number)
    queue, flow, language = queue_named(name)
    from_hash = number_hash(from_number) if from_number else None
    call_id, _ = upsert_id(
        Call,
        {
            "call_sid": call_sid,
            "from_number": from_number,
            "from_hash": from_hash,
            "to_number": to_number,
            "queue": name,
            "status": "in-progress",
        },
        ["call_sid"],
    )
    invite: Invitation | None = queue.invitation
    closed = None
    if invite is Invitation.none:
        invite = None
    elif from_hash and consent.exclusion(from_hash, flow, call_id):
        closed = _closed_response(call_id, call_sid, flow, language, name, Disposition.suppressed)
        invite = None
    if closed is not None:
        later(Work.score_response, closed)  # a score with no answers, so that nothing waits for it
    db.session.commit()
    return Arrival(name, queue, flow, language, invite)


def answer_invitation(call_sid: str, queue_name: str, digits: str | None) -> bool:
    """Whether the caller agreed; a no is recorded as a declined response."""
    queue, flow, language = queue_named(queue_name)
    keys = (digits or "").strip()
    agreed = keys == "1" if queue.invitation is Invitation.opt_in else keys != "9"
    closed = None
    if not agreed:
        call_id = db.session.scalar(select(Call.id).where(Call.call_sid == call_sid))
        if call_id is not None:
            closed = _closed_response(call_id, call_sid, flow, language, queue_name, Disposition.declined)
    if closed is not None:
        later(Work.score_response, closed)
    db.session.commit()
    return agreed


def agent_leg_ended(
    call_sid: str, queue_name: str, index: int, dial_status: str, duration: int | None
) -> str:
    """Record the agent leg with its outcome and times; returns the agent's address."""
    queue, _flow, _language = queue_named(queue_name)
    if not 0 <= index < len(queue.agents):
        raise FrontDoorUnavailable(f"queue {queue_name!r} has no agent {index}")
    address = queue.agents[index]
    call_id = db.session.scalar(select(Call.id).where(Call.call_sid == call_sid))
    if call_id is None:
        raise FrontDoorUnavailable(f"no call {call_sid}")
    agent_id, created = upsert_id(Agent, {"ref": address, "auto_created": True}, ["ref"])
    if created:
        log.info("agent %r first seen on the front door: recorded as a new agent", address)
    outcome = "completed" if dial_status in ("completed", "answered") else dial_status
    now = utcnow()
    insert_ignore(
        AgentLeg,
        {
            "call_id": call_id,
            "agent_id": agent_id,
            # The front door rings agents in order: the n-th ring is leg n, so a repeated Dial
            # callback from Twilio finds its leg already there.
            "sequence": index + 1,
            "queue": queue_name,
            "outcome": outcome,
            "started_at": now - timedelta(seconds=duration or 0),
            "ended_at": now,
        },
        ["call_id", "sequence"],
    )
    db.session.commit()
    return address


def _closed_response(
    call_id: int, call_sid: str, flow: CompiledFlow, language: str, queue: str, disposition: Disposition
) -> int | None:
    """A response that ended before any question: declined, or suppressed by the rules."""
    return insert_ignore(
        SurveyResponse,
        {
            "call_id": call_id,
            "survey_call_sid": call_sid,
            "flow_version_id": registry().version_id(flow),
            "queue": queue,
            "language": language,
            "language_source": LanguageSource.ivr,
            "disposition": disposition,
            "ended_at": utcnow(),
        },
        ["survey_call_sid"],
    )
