"""TwiML for a survey turn, built with the twilio library's VoiceResponse."""

from __future__ import annotations

from flask import Response, url_for
from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr.flows import CompiledFlow
from ivr.flows.schema import RatingStep
from ivr.services.survey import Turn


def xml(twiml: VoiceResponse, status: int = 200) -> Response:
    return Response(twiml.to_xml(), status=status, mimetype="text/xml")


def say(target: VoiceResponse | Gather, flow: CompiledFlow, language: str, prompt_key: str) -> None:
    voice = flow.voices[language]
    kwargs = {"language": voice.locale}
    if voice.voice:
        kwargs["voice"] = voice.voice
    target.say(flow.text(language, prompt_key), **kwargs)


def render_turn(turn: Turn) -> VoiceResponse:
    twiml = VoiceResponse()
    for prompt_key in turn.say:
        say(twiml, turn.flow, turn.language, prompt_key)
    step = turn.ask
    if step is None:
        if turn.closing:
            say(twiml, turn.flow, turn.language, turn.closing)
        twiml.hangup()
        return twiml
    action = url_for(
        "voice.survey_step",
        response_id=turn.response_id,
        step_key=step.key,
        ni=turn.attempt.no_input,
        nm=turn.attempt.no_match,
    )
    options: dict[str, object] = {}
    if isinstance(step, RatingStep) and step.max_digits > 1:
        options["finish_on_key"] = "#"  # "7#" is seven; "10" ends by itself
    gather = Gather(
        input="dtmf",
        action=action,
        method="POST",
        timeout=step.timeout,
        num_digits=step.max_digits,
        # Without it, silence falls through to the next verb; with it, we count the no-input.
        action_on_empty_result=True,
        **options,
    )
    say(gather, turn.flow, turn.language, step.prompt)
    twiml.append(gather)
    return twiml


def apology(language: str | None = None) -> VoiceResponse:
    """Said when nothing else can be: no database, no flow. Needs no I/O."""
    twiml = VoiceResponse()
    if language and language.startswith("es"):
        twiml.say(
            "Lo sentimos, hubo un problema de nuestra parte. Gracias por llamar. Adiós.", language="es-US"
        )
    else:
        twiml.say(
            "We're sorry, something went wrong on our side. Thank you for calling. Goodbye.",
            language="en-US",
        )
    twiml.hangup()
    return twiml
