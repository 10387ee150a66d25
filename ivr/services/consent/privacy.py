"""Caller numbers: matched through a keyed hash, shown masked, removed after the retention time."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update

from ivr.extensions import db
from ivr.models import (
    Answer,
    Call,
    CallbackTask,
    FeedbackItem,
    Notification,
    OutboundSurvey,
    Recording,
    SurveyResponse,
    TextMessage,
    utcnow,
)
from ivr.settings import settings

log = logging.getLogger(__name__)

# What a purged notification's body says instead of the caller's words.
PURGED = "(purged)"


def _key() -> bytes:
    config = settings()
    if config.caller_hash_key:
        return str(config.caller_hash_key).encode()
    # Derived, so the raw SECRET_KEY is never the hash key itself.
    return hmac.new(config.secret_key.encode(), b"caller-number-hash", hashlib.sha256).digest()


def normalise_number(number: str) -> str:
    """A number as written to its E.164 form (+1 (555) 765-4321 -> +15557654321); SIP URIs and
    client names are kept, in lower case."""
    text = number.strip()
    if re.fullmatch(r"\+?[0-9 ().\-]{5,}", text):
        return ("+" if text.startswith("+") else "") + re.sub(r"[^0-9]", "", text)
    return text.lower()


def number_hash(number: str) -> str:
    return hmac.new(_key(), normalise_number(number).encode(), hashlib.sha256).hexdigest()


def mask(number: str | None) -> str | None:
    """ "+15557654321" -> "+•••••••4321": enough to recognise, not enough to call."""
    if not number:
        return number
    keep = 4 if len(number) > 6 else 2
    head = "+" if number.startswith("+") else ""
    # At most 20 dots: do_not_survey.masked is String(32), whatever a caller ID holds.
    return head + "•" * min(max(len(number) - keep - len(head), 1), 20) + number[-keep:]


@dataclass(frozen=True)
class Purged:
    calls: int
    responses: int


def purge_personal_data(older_than_days: int) -> Purged:
    """Remove the caller's number and words from responses started more than `older_than_days` ago,
    wherever they were copied: calls, spoken answers, transcripts and recording links, feedback
    verbatims, callback tasks, the notifications about them (immediate e-mails, digests, task
    alerts), texts of surveys by SMS and outbound surveys. Scores, answers' values and
    dispositions stay: reports do not change."""
    cutoff = utcnow() - timedelta(days=older_than_days)
    call_ids = select(Call.id).where(Call.started_at < cutoff, Call.purged_at.is_(None))
    response_ids = select(SurveyResponse.id).where(SurveyResponse.call_id.in_(call_ids))
    responses = len(db.session.scalars(response_ids).all())
    db.session.execute(update(Answer).where(Answer.response_id.in_(response_ids)).values(speech_result=None))
    db.session.execute(
        update(Recording)
        .where(Recording.response_id.in_(response_ids))
        .values(transcript=None, media_url=None)
    )
    items = select(FeedbackItem.id).where(FeedbackItem.response_id.in_(response_ids))
    digests = select(FeedbackItem.digest_notification_id).where(
        FeedbackItem.response_id.in_(response_ids), FeedbackItem.digest_notification_id.is_not(None)
    )
    tasks = select(CallbackTask.id).where(CallbackTask.response_id.in_(response_ids))
    db.session.execute(
        update(Notification)
        .where(
            or_(
                Notification.task_id.in_(tasks),
                Notification.feedback_item_id.in_(items),
                Notification.id.in_(digests),
            )
        )
        .values(body=PURGED, payload={})
        .execution_options(synchronize_session=False)
    )
    db.session.execute(update(FeedbackItem).where(FeedbackItem.id.in_(items)).values(verbatim=None))
    # Texts of surveys by SMS (the caller's replies and comments), and texts about no survey.
    db.session.execute(
        update(TextMessage)
        .where(
            or_(
                TextMessage.response_id.in_(response_ids),
                TextMessage.response_id.is_(None) & (TextMessage.created_at < cutoff),
            )
        )
        .values(body=None)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(CallbackTask).where(CallbackTask.response_id.in_(response_ids)).values(caller_number=None)
    )
    db.session.execute(
        update(OutboundSurvey)
        .where(OutboundSurvey.created_at < cutoff, OutboundSurvey.to_number.is_not(None))
        .values(to_number=None, to_hash=None)
    )
    calls = len(
        db.session.scalars(
            update(Call)
            .where(Call.id.in_(call_ids))
            .values(from_number=None, to_number=None, from_hash=None, purged_at=utcnow())
            .returning(Call.id)
            .execution_options(synchronize_session=False)
        ).all()
    )
    db.session.commit()
    log.info("purged personal data from %s calls (%s responses) before %s", calls, responses, cutoff)
    return Purged(calls=calls, responses=responses)
