"""The caller's texts (POST /sms/incoming): an answer to the question asked, STOP or HELP.

Each text is stored once, keyed on Twilio's MessageSid, before anything else; a repeated delivery
of a text already answered gets the same replies again and changes nothing. An answer goes
through the same conversation service as a key pressed on a call (answering.answer_step), so the
response, its answers, scoring, feedback and callback tasks are those of a voice survey. An
unclear reply is asked again once, with the valid answers; a second one counts as the step's
retries running out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import func, select, update

from ivr.db import insert_ignore
from ivr.extensions import db
from ivr.flows import CompiledFlow
from ivr.flows import sms as sms_texts
from ivr.flows.speech import normalise
from ivr.models import (
    Answer,
    AnswerStatus,
    Direction,
    Disposition,
    ListSource,
    OutboundSurvey,
    SurveyChannel,
    SurveyResponse,
    TextMessage,
    TextStatus,
)
from ivr.outbox import Work, later
from ivr.services.consent import do_not_survey as consent
from ivr.services.consent.privacy import mask
from ivr.services.conversation import records
from ivr.services.conversation.answering import answer_step
from ivr.services.conversation.flow_versions import registry
from ivr.services.conversation.state import load_state, save_state
from ivr.services.conversation.turns import Attempt, CallerInput, TextReply
from ivr.services.texting.texts import render, write_text
from ivr.settings import settings

log = logging.getLogger(__name__)

# Carriers' and Twilio's opt-out and help keywords: the whole text, any case.
STOP_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit"})
HELP_WORDS = frozenset({"help", "info"})
RECEIVED = "received"  # an incoming text not yet dealt with (a crash half-way: deal with it again)


@dataclass(frozen=True)
class IncomingText:
    message_sid: str
    from_number: str | None
    body: str


@dataclass(frozen=True)
class OutgoingText:
    """A reply to send back (as TwiML), with the id its status callback names."""

    id: int
    body: str


def take_text(incoming: IncomingText) -> list[OutgoingText]:
    """Store the caller's text once and answer it: the next question, the question again, a
    closing line, STOP's confirmation, HELP; or nothing (no survey open for the number)."""
    inbound_id = insert_ignore(
        TextMessage,
        {
            "direction": Direction.inbound,
            "message_sid": incoming.message_sid,
            "kind": RECEIVED,
            "body": incoming.body,
            "status": TextStatus.received,
        },
        ["message_sid"],
    )
    if inbound_id is None:
        earlier = db.session.execute(
            select(TextMessage.id, TextMessage.kind).where(TextMessage.message_sid == incoming.message_sid)
        ).one()
        if earlier.kind != RECEIVED:
            replies = _replies_to(earlier.id)
            db.session.rollback()
            return replies
        inbound_id = earlier.id  # an earlier delivery stopped half-way: finish it now
    db.session.commit()

    word = normalise(incoming.body)
    from_hash = records.caller_hash(incoming.from_number)
    survey = _open_survey(from_hash) if from_hash else None
    if word in STOP_WORDS:
        return _stop(inbound_id, incoming, from_hash, survey)
    if word in HELP_WORDS:
        compiled, language = _flow_and_language(survey)
        reply = _reply(compiled, language, sms_texts.HELP, survey.id if survey else None, inbound_id)
        _mark(inbound_id, "keyword", survey.id if survey else None, None)
        db.session.commit()
        return reply
    if survey is None or survey.current_step is None:
        _mark(inbound_id, "ignored", None, None)
        db.session.commit()
        log.info("text %s: no survey by text is open for its number", incoming.message_sid)
        return []
    return _answer(inbound_id, incoming, survey)


def _answer(inbound_id: int, incoming: IncomingText, survey: OpenSurvey) -> list[OutgoingText]:
    compiled = registry().for_version(survey.flow_version_id)
    step = compiled.question(survey.current_step or "")
    if step is None:  # pragma: no cover - current_step is always a question
        return []
    unclear_before = db.session.scalar(
        select(func.count(TextMessage.id)).where(
            TextMessage.response_id == survey.id,
            TextMessage.step_key == step.key,
            TextMessage.kind == "unclear",
        )
    )
    given = CallerInput(text=TextReply(incoming.message_sid, incoming.body))
    # Asked again once: after one unclear reply, the next uses up the step's retries.
    attempt = Attempt(0, unclear_before or 0)
    turn = answer_step(survey.id, step.key, given, attempt, survey.survey_call_sid, most_no_match=1)
    stored = db.session.scalar(
        select(Answer.status).where(Answer.response_id == survey.id, Answer.step_key == step.key)
    )
    # Unclear: asked again (nothing stored), or the step skipped once its retries ran out.
    _mark(inbound_id, "answer" if stored is AnswerStatus.answered else "unclear", survey.id, step.key)
    kind = "question" if turn.ask is not None else "closing"
    body = render(turn)
    reply_id = write_text(survey.id, kind, turn.ask, body, inbound_id)
    db.session.commit()
    return [OutgoingText(reply_id, body)]


def _stop(
    inbound_id: int, incoming: IncomingText, from_hash: str | None, survey: OpenSurvey | None
) -> list[OutgoingText]:
    """On the do-not-survey list, the open survey (if any) ended as refused with its answers kept,
    and one confirmation: a second STOP is not confirmed again."""
    listed = bool(from_hash) and consent.add_hash(
        from_hash or "", ListSource.opt_out, mask(incoming.from_number), note="replied STOP by text"
    )
    if survey is not None:
        state = load_state(survey.id)
        if state is not None and not state.disposition.is_final:
            state.finish(Disposition.refused)
            save_state(state)
            later(Work.score_response, survey.id)
    _mark(inbound_id, "keyword", survey.id if survey else None, None)
    replies: list[OutgoingText] = []
    if listed:
        compiled, language = _flow_and_language(survey)
        replies = _reply(compiled, language, sms_texts.STOPPED, survey.id if survey else None, inbound_id)
    db.session.commit()
    log.info("text %s: STOP; the number is on the do-not-survey list", incoming.message_sid)
    return replies


def _reply(
    compiled: CompiledFlow | None, language: str | None, key: str, response_id: int | None, inbound_id: int
) -> list[OutgoingText]:
    if compiled is None or language is None:
        return []
    body = compiled.sms_text(language, key)
    return [OutgoingText(write_text(response_id, key.removeprefix("sms."), None, body, inbound_id), body)]


def _flow_and_language(survey: OpenSurvey | None) -> tuple[CompiledFlow | None, str | None]:
    """The survey's flow and language; without one, the default flow's texting language."""
    if survey is not None:
        return registry().for_version(survey.flow_version_id), survey.language
    compiled = registry().flows.get(settings().default_flow)
    return compiled, compiled.texting_language(None) if compiled else None


@dataclass(frozen=True)
class OpenSurvey:
    id: int
    flow_version_id: int
    language: str
    current_step: str | None
    survey_call_sid: str


def _open_survey(from_hash: str) -> OpenSurvey | None:
    """The number's survey by text in progress (the latest, should there be two)."""
    row = db.session.execute(
        select(
            SurveyResponse.id,
            SurveyResponse.flow_version_id,
            SurveyResponse.language,
            SurveyResponse.current_step,
            SurveyResponse.survey_call_sid,
        )
        .join(OutboundSurvey, OutboundSurvey.response_id == SurveyResponse.id)
        .where(
            OutboundSurvey.to_hash == from_hash,
            OutboundSurvey.channel == SurveyChannel.sms,
            SurveyResponse.disposition == Disposition.in_progress,
        )
        .order_by(SurveyResponse.id.desc())
        .limit(1)
    ).one_or_none()
    return OpenSurvey(*row) if row is not None else None


def _mark(inbound_id: int, kind: str, response_id: int | None, step_key: str | None) -> None:
    db.session.execute(
        update(TextMessage)
        .where(TextMessage.id == inbound_id)
        .values(kind=kind, response_id=response_id, step_key=step_key)
    )


def _replies_to(inbound_id: int) -> list[OutgoingText]:
    rows = db.session.execute(
        select(TextMessage.id, TextMessage.body)
        .where(TextMessage.reply_to_id == inbound_id)
        .order_by(TextMessage.id)
    ).all()
    return [OutgoingText(row.id, row.body or "") for row in rows]
