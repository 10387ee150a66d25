"""TwiML for a survey turn, built with the twilio library's VoiceResponse.

A turn's document is the same for every caller at the same point of the same flow version,
except for the response id in its URLs: it is built once per (version, language, prompts,
question, retry counts) and the id is written into a copy of the text (turn_xml).
"""

from __future__ import annotations

import dataclasses

from flask import Response, request
from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr.flows import CompiledFlow
from ivr.flows.prompts import LanguageVoice
from ivr.flows.schema import LanguageStep, RatingStep, RecordStep
from ivr.services.conversation.turns import Turn
from ivr.services.links import webhook_path


def xml(twiml: VoiceResponse | str, status: int = 200) -> Response:
    body = twiml if isinstance(twiml, str) else twiml.to_xml()
    return Response(body, status=status, mimetype="text/xml")


# Stands for the response id while a turn's document is built: the URLs then carry
# "/<_ANY_RESPONSE>/", which no prompt text or other URL part can (it is int64's largest value).
_ANY_RESPONSE = 9_223_372_036_854_775_807
_ANY_RESPONSE_SEGMENT = f"/{_ANY_RESPONSE}/"


def turn_xml(turn: Turn) -> str:
    """The turn's TwiML document, built once per flow version and turn and filled in with the
    response's id (render_turn builds the same document from scratch)."""
    step_key = turn.ask.key if turn.ask is not None else None
    key = (request.script_root, turn.language, turn.say, step_key, turn.attempt, turn.closing)
    documents = turn.flow.rendered  # kept with the compiled version, and dropped with it
    document = documents.get(key)
    if document is None:
        generic = dataclasses.replace(turn, response_id=_ANY_RESPONSE)
        document = render_turn(generic).to_xml()
        documents[key] = document
    return document.replace(_ANY_RESPONSE_SEGMENT, f"/{turn.response_id}/")


def say(target: VoiceResponse | Gather, flow: CompiledFlow, language: str, prompt_key: str) -> None:
    """The prompt's recording when the flow has one in this language, else its text, spoken."""
    play_or_say(
        target,
        language,
        flow.audio_file(language, prompt_key),
        flow.text(language, prompt_key),
        flow.voices[language],
    )


def play_or_say(
    target: VoiceResponse | Gather, language: str, audio: str | None, text: str, voice: LanguageVoice
) -> None:
    """<Play> a recorded prompt ("<file>?v=<hash>" under prompts/<language>/audio/), else <Say>."""
    if audio is not None:
        name, _, version = audio.partition("?v=")
        target.play(webhook_path("voice.prompt_audio", language=language, filename=name, v=version))
        return
    kwargs = {"language": voice.locale}
    if voice.voice:
        kwargs["voice"] = voice.voice
    target.say(text, **kwargs)


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
    action = webhook_path(
        "voice.survey_step",
        response_id=turn.response_id,
        step_key=step.key,
        ni=turn.attempt.no_input,
        nm=turn.attempt.no_match,
    )
    if isinstance(step, RecordStep):
        _record(twiml, turn, step, action)
        return twiml
    options: dict[str, object] = {}
    if isinstance(step, RatingStep) and step.max_digits > 1:
        options["finish_on_key"] = "#"  # "7#" is seven; "10" ends by itself
    if step.speech:
        vocabulary = turn.flow.vocabulary(turn.language)
        options.update(
            input="dtmf speech",
            language=turn.flow.voices[turn.language].locale,
            speech_timeout="auto",
        )
        if hints := vocabulary.hints(step):
            options["hints"] = hints
    gather = Gather(
        input=options.pop("input", "dtmf"),
        action=action,
        method="POST",
        timeout=step.timeout,
        num_digits=step.max_digits,
        # Without it, silence falls through to the next verb; with it, we count the no-input.
        action_on_empty_result=True,
        **options,
    )
    if isinstance(step, LanguageStep):
        # Each option in its own language: "For English, press 1. Para español, oprima 2."
        for language in step.options.values():
            say(gather, turn.flow, language, step.prompt)
    else:
        say(gather, turn.flow, turn.language, step.prompt)
    twiml.append(gather)
    return twiml


def _record(twiml: VoiceResponse, turn: Turn, step: RecordStep, action: str) -> None:
    """Consent (the first time), the prompt, a beep, <Record>. When Twilio hears nothing it skips
    the action and falls through: the <Redirect> then reports the silence to the same step."""
    first_ask = turn.attempt.no_input == 0 and turn.attempt.no_match == 0
    if first_ask and step.consent_prompt:
        say(twiml, turn.flow, turn.language, step.consent_prompt)
    say(twiml, turn.flow, turn.language, step.prompt)
    options: dict[str, object] = {}
    if turn.flow.transcribes(step, turn.language):
        options.update(
            transcribe=True,
            transcribe_callback=webhook_path(
                "voice.transcription", response_id=turn.response_id, step_key=step.key
            ),
        )
    twiml.record(
        action=action,
        method="POST",
        max_length=step.max_length,
        timeout=step.timeout,
        finish_on_key=step.finish_on_key,
        play_beep=step.beep,
        recording_status_callback=webhook_path(
            "voice.recording_status", response_id=turn.response_id, step_key=step.key
        ),
        recording_status_callback_method="POST",
        recording_status_callback_event="completed absent",
        **options,
    )
    twiml.redirect(action, method="POST")


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
