"""Agent feedback: one item per scored response about an agent, sent at once or in a digest."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ivr.extensions import db
from ivr.flows.compiled import CompiledFlow
from ivr.models import (
    Agent,
    Channel,
    FeedbackDelivery,
    FeedbackItem,
    FeedbackKind,
    Score,
    SurveyResponse,
    utcnow,
)
from ivr.services import policy
from ivr.services.closed_loop import notifications
from ivr.services.conversation.answer_values import answer_values
from ivr.services.links import response_link
from ivr.services.policy import Principal


def is_about_agent(response: SurveyResponse, compiled: CompiledFlow) -> bool:
    """The response has an agent and the caller answered at least one step about them."""
    if response.agent_id is None:
        return False
    values = answer_values(response)
    return any(step.about_agent and values.get(step.key) is not None for step in compiled.flow.questions())


def record(response: SurveyResponse, score: Score, compiled: CompiledFlow) -> FeedbackItem | None:
    """Create or refresh the response's feedback item in the caller's transaction."""
    if not is_about_agent(response, compiled):
        return None
    kind = (
        FeedbackKind.low
        if score.extreme_low
        else FeedbackKind.praise
        if score.extreme_high
        else FeedbackKind.regular
    )
    item = db.session.scalar(select(FeedbackItem).filter_by(response_id=response.id))
    if item is None:
        assert response.agent_id is not None
        item = FeedbackItem(response_id=response.id, agent_id=response.agent_id, created_at=utcnow())
        db.session.add(item)
    item.kind = kind
    item.csat, item.nps, item.ces, item.resolved = score.csat, score.nps, score.ces, score.resolved
    # What the caller said in their own words: the comments' transcripts, once they arrive.
    item.verbatim = " / ".join(r.transcript for r in response.recordings if r.transcript) or None
    item.updated_at = utcnow()
    db.session.flush()

    agent = response.agent
    at_once = kind.is_extreme or (agent is not None and agent.feedback_delivery is FeedbackDelivery.immediate)
    if at_once and item.delivered_at is None and agent is not None and agent.email:
        notifications.plan(
            _item_message(item, response),
            Channel.email,
            agent.email,
            f"feedback-{item.id}",
            feedback_item_id=item.id,
        )
        item.delivered_at = utcnow()
    return item


def _scores_line(item: FeedbackItem) -> str:
    parts = [
        f"CSAT {item.csat}" if item.csat is not None else None,
        f"NPS {item.nps}" if item.nps is not None else None,
        f"effort {item.ces}" if item.ces is not None else None,
        None if item.resolved is None else ("resolved" if item.resolved else "not resolved"),
    ]
    return ", ".join(part for part in parts if part) or "no scores"


def _item_message(item: FeedbackItem, response: SurveyResponse) -> notifications.Message:
    headline = {FeedbackKind.praise: "Praise from a caller", FeedbackKind.low: "A caller was unhappy"}.get(
        item.kind, "Caller feedback"
    )
    verbatim = f' They said: "{item.verbatim}"' if item.verbatim else ""
    link = response_link(response.id)
    body = f"{headline}: {_scores_line(item)}.{verbatim} Call {response.call.call_sid}: {link}"
    payload = {
        "event": "feedback",
        "feedback_item": item.id,
        "kind": item.kind.value,
        "response": response.id,
    }
    return notifications.Message("feedback", headline, body, payload)


def send_digests(now: datetime | None = None) -> list[int]:
    """Plan one digest per agent with undelivered feedback; returns the notification ids."""
    now = now or utcnow()
    items = db.session.scalars(
        select(FeedbackItem)
        .join(Agent, Agent.id == FeedbackItem.agent_id)
        .where(FeedbackItem.delivered_at.is_(None), Agent.email.is_not(None))
        .options(
            selectinload(FeedbackItem.agent),
            selectinload(FeedbackItem.response).selectinload(SurveyResponse.call),
        )
        .order_by(FeedbackItem.agent_id, FeedbackItem.id)
        .with_for_update(of=FeedbackItem)
    ).all()
    by_agent: dict[int, list[FeedbackItem]] = defaultdict(list)
    for item in items:
        by_agent[item.agent_id].append(item)
    for agent_items in by_agent.values():
        agent = agent_items[0].agent
        assert agent.email is not None
        lines = [
            f"- {item.created_at:%d %b %H:%M}: {_scores_line(item)}"
            + (f' "{item.verbatim}"' if item.verbatim else "")
            + f" ({response_link(item.response_id)})"
            for item in agent_items
        ]
        message = notifications.Message(
            "digest",
            f"Your caller feedback: {len(agent_items)} new",
            f"Hello {agent.display_name or agent.ref}, here is what callers said:\n" + "\n".join(lines),
            {"event": "digest", "agent": agent.ref, "feedback_items": [item.id for item in agent_items]},
        )
        digest = notifications.plan(
            message, Channel.email, agent.email, f"digest-{agent.id}-{now:%Y%m%d%H%M}"
        )
        for item in agent_items:
            item.delivered_at = now
            # The digest quotes the verbatim: the retention purge finds it through this link.
            item.digest_notification_id = digest.id if digest else None
    planned = notifications.take_planned()
    db.session.commit()
    return planned


def agent_feedback(
    principal: Principal, agent_ref: str, limit: int = 50, before_id: int | None = None
) -> list[FeedbackItem] | None:
    """An agent's feedback items, newest first; None when there is no such agent (or none the
    principal may see)."""
    agent_id = db.session.scalar(policy.scope_agents(principal, select(Agent.id).filter_by(ref=agent_ref)))
    if agent_id is None:
        return None
    query = (
        select(FeedbackItem)
        .where(FeedbackItem.agent_id == agent_id)
        .options(selectinload(FeedbackItem.response).selectinload(SurveyResponse.call))
        .order_by(FeedbackItem.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(FeedbackItem.id < before_id)
    return list(db.session.scalars(query))
