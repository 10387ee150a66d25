"""Our texts: a conversation turn written as one SMS, and the row each text is kept in."""

from __future__ import annotations

from ivr.extensions import db
from ivr.flows.schema import QuestionStep
from ivr.models import Direction, TextMessage, TextStatus
from ivr.services.conversation.turns import Turn


def render(turn: Turn) -> str:
    """A turn as one text: the messages before the question merged into it (or the closing line)."""
    texts = turn.flow.sms.get(turn.language, {})
    keys = [*turn.say, turn.ask.prompt if turn.ask is not None else turn.closing]
    return " ".join(texts[key] for key in keys if key and texts.get(key))


def write_text(
    response_id: int | None, kind: str, step: QuestionStep | None, body: str, reply_to_id: int | None = None
) -> int:
    """One text of ours, in the caller's transaction, before it is sent; its id."""
    message = TextMessage(
        response_id=response_id,
        direction=Direction.outbound,
        reply_to_id=reply_to_id,
        kind=kind,
        step_key=step.key if step else None,
        body=body,
        status=TextStatus.pending,
    )
    db.session.add(message)
    db.session.flush()
    return message.id
