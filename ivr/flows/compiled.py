"""A flow bundled with the prompt texts and voices it uses: what a flow version freezes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from ivr.flows.conditions import Condition
from ivr.flows.prompts import LanguageVoice
from ivr.flows.schema import Flow, LanguageStep, MessageStep, QuestionStep, RecordStep
from ivr.flows.speech import Vocabulary


@dataclass(frozen=True)
class CompiledFlow:
    flow: Flow
    prompts: dict[str, dict[str, str]]  # language -> prompt key -> text
    voices: dict[str, LanguageVoice]
    # language -> the words spoken answers are matched with (only when a step takes speech)
    speech: dict[str, Vocabulary] = field(default_factory=dict)
    # language -> prompt key -> "<file>?v=<hash>" for prompts recorded as audio
    audio: dict[str, dict[str, str]] = field(default_factory=dict)
    # language -> prompt key -> SMS text (ivr.flows.sms), for the languages offered by text
    sms: dict[str, dict[str, str]] = field(default_factory=dict)
    # language -> the words text replies are matched with (every question, not only spoken ones)
    reply_words: dict[str, Vocabulary] = field(default_factory=dict)
    conditions: dict[str, Condition] = field(init=False, compare=False)
    extreme_low: Condition | None = field(init=False, compare=False)
    extreme_high: Condition | None = field(init=False, compare=False)
    # Documents built from this version, e.g. a turn's TwiML (ivr.voice.twiml.turn_xml): the
    # version never changes, so neither do they. A few hundred short strings at most.
    rendered: dict[tuple[object, ...], str] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        conditions = {s.key: Condition.parse(s.when) for s in self.flow.steps if s.when}
        object.__setattr__(self, "conditions", conditions)
        for name in ("extreme_low", "extreme_high"):
            rule = getattr(self.flow.scoring, name)
            object.__setattr__(self, name, Condition.parse(rule) if rule else None)

    @property
    def id(self) -> str:
        return self.flow.id

    def language_or_default(self, language: str | None) -> str:
        return language if language in self.flow.languages else self.flow.default_language

    def text(self, language: str, prompt_key: str) -> str:
        return self.prompts[language][prompt_key]

    def audio_file(self, language: str, prompt_key: str) -> str | None:
        return self.audio.get(language, {}).get(prompt_key)

    def transcribes(self, step: RecordStep, language: str) -> bool:
        """The step asks for a transcript and Twilio can transcribe the language."""
        voice = self.voices.get(language)
        return step.transcribe and voice is not None and voice.transcribe

    def sms_text(self, language: str, prompt_key: str) -> str:
        return self.sms[language][prompt_key]

    def texting_language(self, language: str | None) -> str | None:
        """The language a text survey runs in: the one asked for, else the default, if offered by SMS."""
        wanted = self.language_or_default(language)
        if wanted in self.sms:
            return wanted
        return next(iter(self.sms), None)

    def vocabulary(self, language: str) -> Vocabulary:
        return self.speech.get(language) or Vocabulary()

    @property
    def language_step(self) -> LanguageStep | None:
        return next((s for s in self.flow.steps if isinstance(s, LanguageStep)), None)

    def question(self, step_key: str) -> QuestionStep | None:
        step = self.flow.step(step_key)
        return None if step is None or isinstance(step, MessageStep) else step

    def next_steps(
        self, after: str | None, values: dict[str, Any], language_known: bool = False
    ) -> list[MessageStep | QuestionStep]:
        """Steps after `after` (from the start when None) whose conditions hold, in order; a
        language menu only when the language is not known yet."""
        keys = [s.key for s in self.flow.steps]
        start = 0 if after is None else keys.index(after) + 1
        return [
            step
            for step in self.flow.steps[start:]
            if (step.key not in self.conditions or self.conditions[step.key].evaluate(values))
            and not (language_known and isinstance(step, LanguageStep))
        ]

    def definition(self) -> dict[str, Any]:
        return {
            "flow": self.flow.model_dump(mode="json"),
            "prompts": self.prompts,
            "voices": {
                lang: {"locale": v.locale, "voice": v.voice, "transcribe": v.transcribe}
                for lang, v in self.voices.items()
            },
            "speech": {lang: vocabulary.as_dict() for lang, vocabulary in self.speech.items()},
            "audio": self.audio,
            # Only when the flow is offered by text, so that a flow's content hash (and version)
            # stays what it was without SMS texts.
            **({"sms": self.sms} if self.sms else {}),
            **({"reply_words": {k: v.as_dict() for k, v in self.reply_words.items()}} if self.sms else {}),
        }

    @property
    def content_hash(self) -> str:
        canonical = json.dumps(self.definition(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    @classmethod
    def from_definition(cls, definition: dict[str, Any]) -> CompiledFlow:
        return cls(
            flow=Flow.model_validate(definition["flow"]),
            prompts=definition["prompts"],
            voices={lang: LanguageVoice(**v) for lang, v in definition["voices"].items()},
            speech={lang: Vocabulary.from_dict(v) for lang, v in definition.get("speech", {}).items()},
            audio=definition.get("audio", {}),
            sms=definition.get("sms", {}),
            reply_words={
                lang: Vocabulary.from_dict(v) for lang, v in definition.get("reply_words", {}).items()
            },
        )
