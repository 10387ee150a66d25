"""Taking an answer: parse the caller's keys, words or recording; store it once; ask the next
question, ask again, or say goodbye. The hottest path in the server: every key a caller presses."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select

from ivr.db import autocommit_until_begin, begin
from ivr.extensions import db
from ivr.flows import CompiledFlow, sms, speech
from ivr.flows.schema import LanguageStep, QuestionStep, RecordStep
from ivr.models import AnswerStatus, Call, Disposition, ListSource, SurveyResponse
from ivr.outbox import Work, later
from ivr.services.consent import do_not_survey as consent
from ivr.services.consent.privacy import mask
from ivr.services.conversation import recordings
from ivr.services.conversation.flow_versions import registry
from ivr.services.conversation.state import SurveyState, load_state, save_state, take_answer
from ivr.services.conversation.turns import Attempt, CallerInput, Turn, advance, closing, repeat_after
from ivr.services.errors import NotFound

log = logging.getLogger(__name__)

# What we keep of a spoken answer.
MAX_SPEECH = 2000


@dataclass(frozen=True)
class Parsed:
    """An accepted answer as stored."""

    raw: str | None
    value: str
    number: int | None
    speech: str | None = None
    confidence: float | None = None


def answer_step(
    response_id: int,
    step_key: str,
    given: CallerInput,
    attempt: Attempt,
    call_sid: str | None,
    most_no_match: int | None = None,
) -> Turn:
    """Take the caller's input for one step of a survey and return what they hear next.

    `attempt` counts the silences and wrong keys so far on this step (from the step URL);
    `call_sid` is the CallSid Twilio posted: only the survey's own call may answer it. An
    accepted answer is stored once and the flow moves on; a wrong key, an unclear phrase or
    silence asks again until the step's retries run out, then the step is skipped or the survey
    ends, as the flow says. The opt-out key ends the survey and lists the number. A repeated
    delivery of an answer already stored stores nothing and repeats what followed it.
    `most_no_match` caps the step's no-match retries (a text survey asks again only once). Raises
    NotFound for an unknown response or step, or another call's CallSid.
    """
    # Most turns read the state and write one statement (or nothing): no BEGIN and COMMIT.
    autocommit_until_begin()
    state = load_state(response_id)
    if state is None:
        raise NotFound(f"no survey response {response_id}")
    if call_sid != state.survey_call_sid:
        db.session.rollback()
        raise NotFound(f"call {call_sid!r} is not the call of survey response {response_id}")
    compiled = registry().for_version(state.flow_version_id)
    step = compiled.question(step_key)
    if step is None:
        raise NotFound(f"flow {compiled.id} has no question {step_key!r}")

    if step_key in state.values:
        # A repeated delivery: store nothing, say what follows the stored answer.
        db.session.rollback()
        return repeat_after(state, compiled, step_key)

    was_final = state.disposition.is_final
    if _opting_out(compiled, given) and not was_final:
        begin()  # the number's listing and the survey's end commit together
        return _opt_out(state, compiled)
    parsed, heard_something = _parse(step, given, compiled, state.language)
    if parsed is not None:
        _store(state, step, AnswerStatus.answered, parsed, attempt)
        if isinstance(step, RecordStep):
            begin()  # the recording and the answer commit together
        if isinstance(step, RecordStep) and given.recording is not None:
            recordings.store(state.id, step.key, given.recording, compiled.transcribes(step, state.language))
        elif isinstance(step, RecordStep) and given.text is not None:
            recordings.store_text(state.id, step.key, given.text.sid, given.text.body)
        if isinstance(step, LanguageStep):
            state.choose_language(parsed.value)
        turn = closing(state, compiled) if was_final else advance(state, compiled, step_key)
    else:
        turn, skipped = _no_answer(
            state, compiled, step, given, attempt, heard_something, was_final, most_no_match
        )
        if not skipped:
            db.session.rollback()  # asked again: nothing to store
            return turn
    save_state(state)
    if state.disposition.is_final:
        # Also when a late answer reached an already-final response: scoring is idempotent.
        later(Work.score_response, state.id)
    db.session.commit()
    return turn


def _no_answer(
    state: SurveyState,
    compiled: CompiledFlow,
    step: QuestionStep,
    given: CallerInput,
    attempt: Attempt,
    heard_something: bool,
    was_final: bool,
    most_no_match: int | None = None,
) -> tuple[Turn, bool]:
    """Ask again (nothing stored) or, with the retries used up, store the step as skipped and move
    on or end, as the step says; the turn, and whether the step was stored as skipped."""
    if heard_something:
        attempt = Attempt(attempt.no_input, attempt.no_match + 1)
        allowed = (
            step.retries.no_match if most_no_match is None else min(step.retries.no_match, most_no_match)
        )
        exhausted = attempt.no_match > allowed
        reprompt = step.no_match_prompt or compiled.flow.prompts.no_match
    else:
        attempt = Attempt(attempt.no_input + 1, attempt.no_match)
        exhausted = attempt.no_input > step.retries.no_input
        reprompt = step.no_input_prompt or compiled.flow.prompts.no_input
    if not exhausted:
        return Turn(compiled, state.language, state.id, say=(reprompt,), ask=step, attempt=attempt), False
    raw = (given.digits or "").strip() or None
    _store(state, step, AnswerStatus.skipped, Parsed(raw, "", None, given.speech, given.confidence), attempt)
    if was_final:
        return closing(state, compiled), True
    if step.on_exhausted == "end":
        state.finish(Disposition.partial if state.answered else Disposition.breakoff)
        ended = compiled.flow.prompts.ended_early
        return Turn(compiled, state.language, state.id, say=(reprompt,), closing=ended), True
    return advance(state, compiled, step.key, lead=(reprompt,)), True


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
    key or an unclear phrase is a no-match, silence or an empty recording a no-input). A text
    reply always counts as something: an empty one is unclear."""
    if given.text is not None:
        return _parse_text(step, given.text.sid, given.text.body, compiled, language), True
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
        return Parsed(None, meant[0], meant[1], said[:MAX_SPEECH], confidence), True
    return None, False


def _parse_text(
    step: QuestionStep, sid: str, body: str, compiled: CompiledFlow, language: str
) -> Parsed | None:
    """A text reply: a comment in the caller's own words, or an answer matched leniently ("5",
    "five", "5 - great", "yes", "si"); anything else (an empty text too) is unclear."""
    typed = body.strip()
    if isinstance(step, RecordStep):
        return Parsed(sid, recordings.RECORDED, None, typed[:MAX_SPEECH]) if typed else None
    meant = sms.match_reply(step, compiled.reply_words.get(language) or speech.Vocabulary(), typed)
    if meant is None:
        log.info("step %s: text %r is unclear: asking again", step.key, typed[:80])
        return None
    return Parsed(typed[:64], meant[0], meant[1], typed[:MAX_SPEECH])


def _store(
    state: SurveyState, step: QuestionStep, status: AnswerStatus, parsed: Parsed, attempt: Attempt
) -> None:
    answered = status is AnswerStatus.answered
    take_answer(
        state,
        {
            "response_id": state.id,
            "step_key": step.key,
            "status": status,
            "raw_input": parsed.raw,
            "value": parsed.value if answered else None,
            "number": parsed.number if answered else None,
            "no_input": attempt.no_input,
            "no_match": attempt.no_match,
            "speech": parsed.speech,
            "confidence": parsed.confidence,
        },
    )
