"""Agent feedback: one item per scored response about an agent, sent at once or in a digest."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import or_, select
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
from ivr.outbox import Work, later
from ivr.services import policy
from ivr.services.closed_loop import notifications
from ivr.services.conversation.answer_values import answer_values
from ivr.services.links import response_link
from ivr.services.perception import self_ratings
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

    if _at_once(item, response) and item.delivered_at is None:
        # Not before the agent has rated the call blind (or the window to do so has passed).
        release = self_ratings.release_at(item.agent_id, response.call_id)
        if release is None:
            _deliver(item, response)
        else:
            later(Work.deliver_feedback, item.id, at=release)
    return item


def _at_once(item: FeedbackItem, response: SurveyResponse) -> bool:
    agent = response.agent
    wanted = item.kind.is_extreme or (
        agent is not None and agent.feedback_delivery is FeedbackDelivery.immediate
    )
    return wanted and agent is not None and bool(agent.email)


def _deliver(item: FeedbackItem, response: SurveyResponse) -> None:
    assert response.agent is not None and response.agent.email
    notifications.plan(
        _item_message(item, response),
        Channel.email,
        response.agent.email,
        f"feedback-{item.id}",
        feedback_item_id=item.id,
    )
    item.delivered_at = utcnow()


def held_items(limit: int = 200) -> list[int]:
    """Feedback items not yet sent at once that may be waiting for their call's rating window
    (the sweep asks deliver_held, which knows whether each is due)."""
    since = utcnow() - timedelta(days=2)
    return list(
        db.session.scalars(
            select(FeedbackItem.id)
            .join(Agent, Agent.id == FeedbackItem.agent_id)
            .where(
                FeedbackItem.delivered_at.is_(None),
                FeedbackItem.created_at >= since,
                Agent.email.is_not(None),
                or_(
                    FeedbackItem.kind.in_([FeedbackKind.low, FeedbackKind.praise]),
                    Agent.feedback_delivery == FeedbackDelivery.immediate,
                ),
            )
            .order_by(FeedbackItem.id)
            .limit(limit)
        )
    )


def deliver_held(item_id: int) -> bool:
    """Send a feedback item held back while its agent could still rate the call blind, once they
    have rated it or the window has passed; False when there is nothing (more) to send."""
    item = db.session.scalars(select(FeedbackItem).filter_by(id=item_id).with_for_update()).one_or_none()
    if item is None or item.delivered_at is not None or not _at_once(item, item.response):
        db.session.rollback()
        return False
    if self_ratings.release_at(item.agent_id, item.response.call_id) is not None:
        db.session.rollback()
        return False  # still held back: the job at the window's end sends it
    _deliver(item, item.response)
    db.session.commit()
    return True


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
