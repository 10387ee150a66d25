"""What the caller hears next, and how the flow is stepped through to decide it.

A Turn is the one result of every conversation webhook: prompts to say, then a question to ask
(with the retry counts so far) or a closing line and a hang-up. The voice views render it as
TwiML; the simulator and the tests read it back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ivr.flows import CompiledFlow
from ivr.flows.schema import MessageStep, QuestionStep
from ivr.models import Disposition
from ivr.services.conversation.recordings import RecordingInput
from ivr.services.conversation.state import SurveyState


@dataclass(frozen=True)
class Attempt:
    """Silences and wrong keys so far on the step being asked (carried in the step URL)."""

    no_input: int = 0
    no_match: int = 0


@dataclass(frozen=True)
class TextReply:
    """A text message answering a step of an SMS survey: Twilio's MessageSid and what was typed."""

    sid: str
    body: str


@dataclass(frozen=True)
class CallerInput:
    """What Twilio posted for a step: keys, a spoken answer, a recording, or a text reply."""

    digits: str | None = None
    speech: str | None = None
    confidence: float | None = None
    recording: RecordingInput | None = None
    text: TextReply | None = None


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


def advance(state: SurveyState, compiled: CompiledFlow, after: str | None, lead: Sequence[str] = ()) -> Turn:
    """Say any messages, then ask the next question whose condition holds, or finish."""
    say = list(lead)
    for step in compiled.next_steps(after, state.values, state.language_known):
        if isinstance(step, MessageStep):
            say.append(step.prompt)
            continue
        state.asking(step.key)
        return Turn(compiled, state.language, state.id, say=tuple(say), ask=step)
    state.finish(Disposition.completed if state.answered else Disposition.breakoff)
    goodbye = compiled.flow.prompts.goodbye
    return Turn(compiled, state.language, state.id, say=tuple(say), closing=goodbye)


def repeat_after(state: SurveyState, compiled: CompiledFlow, step_key: str) -> Turn:
    """What followed `step_key` the first time (a repeated delivery of its answer)."""
    if state.disposition.is_final:
        return closing(state, compiled)
    for step in compiled.next_steps(step_key, state.values, state.language_known):
        if not isinstance(step, MessageStep):
            return Turn(compiled, state.language, state.id, ask=step)
    return closing(state, compiled)


def repeat_current(state: SurveyState, compiled: CompiledFlow) -> Turn:
    """The question being asked, again (a repeated start)."""
    step = compiled.question(state.current_step) if state.current_step else None
    if state.disposition.is_final or step is None:
        return closing(state, compiled)
    return Turn(compiled, state.language, state.id, ask=step)


def closing(state: SurveyState, compiled: CompiledFlow) -> Turn:
    """The goodbye that fits how the survey ended."""
    prompts = compiled.flow.prompts
    goodbye = {
        Disposition.completed: prompts.goodbye,
        Disposition.suppressed: prompts.not_surveyed,
        Disposition.refused: prompts.opted_out,
    }.get(state.disposition, prompts.ended_early)
    return Turn(compiled, state.language, state.id, closing=goodbye)
