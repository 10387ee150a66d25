"""The shape of a call flow file, checked field by field (cross-step checks live in the loader)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ivr.flows.conditions import RESERVED_NAMES

StepKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
PromptKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.-]{0,127}$")]
LanguageCode = Annotated[str, Field(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Retries(_Strict):
    """How many times a step is asked again after silence or a wrong key."""

    no_input: int = Field(default=2, ge=0, le=5)
    no_match: int = Field(default=2, ge=0, le=5)


class _StepBase(_Strict):
    key: StepKey
    prompt: PromptKey
    # Ask (or say) this step only when the condition on earlier answers holds.
    when: str | None = None

    @model_validator(mode="after")
    def _key_not_reserved(self) -> _StepBase:
        if self.key in RESERVED_NAMES:
            raise ValueError(f"step key {self.key!r} is a reserved word in conditions")
        return self


class MessageStep(_StepBase):
    kind: Literal["message"]


class _QuestionStep(_StepBase):
    retries: Retries = Retries()
    # What happens when the retries run out: move on to the next step, or end politely.
    on_exhausted: Literal["skip", "end"] = "skip"
    # Seconds Twilio waits for (the next) key.
    timeout: int = Field(default=5, ge=1, le=30)
    no_input_prompt: PromptKey | None = None
    no_match_prompt: PromptKey | None = None
    kpi: Literal["csat", "nps", "ces", "resolution"] | None = None
    about_agent: bool = False
    # Also listen for a spoken answer (<Gather input="speech dtmf">), matched through the
    # language's synonyms in prompts/<lang>/speech.yaml.
    speech: bool = False

    def accepted_values(self) -> list[str | int]:
        raise NotImplementedError

    def parse_digits(self, digits: str) -> tuple[str, int | None] | None:
        """The (value, number) the keys mean, or None for a wrong key."""
        raise NotImplementedError

    @property
    def max_digits(self) -> int:
        return 1


class RatingStep(_QuestionStep):
    kind: Literal["rating"]
    min: int = Field(ge=0, le=99)
    max: int = Field(ge=0, le=99)

    @model_validator(mode="after")
    def _range(self) -> RatingStep:
        if self.min >= self.max:
            raise ValueError(f"impossible range: min {self.min} must be below max {self.max}")
        if self.kpi == "nps" and (self.min, self.max) != (0, 10):
            raise ValueError("an NPS step must run from 0 to 10")
        if self.kpi == "resolution":
            raise ValueError("a resolution KPI must be a yes_no step")
        return self

    def accepted_values(self) -> list[str | int]:
        return list(range(self.min, self.max + 1))

    def parse_digits(self, digits: str) -> tuple[str, int | None] | None:
        if not (digits.isascii() and digits.isdigit()) or len(digits) > 9:  # "²" and "٣" are no keys
            return None
        number = int(digits)
        if not self.min <= number <= self.max:
            return None
        return str(number), number

    @property
    def max_digits(self) -> int:
        return len(str(self.max))


class YesNoStep(_QuestionStep):
    kind: Literal["yes_no"]
    yes_digit: Annotated[str, Field(pattern=r"^[0-9*]$")] = "1"
    no_digit: Annotated[str, Field(pattern=r"^[0-9*]$")] = "2"

    @model_validator(mode="after")
    def _distinct(self) -> YesNoStep:
        if self.yes_digit == self.no_digit:
            raise ValueError("yes_digit and no_digit must differ")
        if self.kpi not in (None, "resolution"):
            raise ValueError(f"a yes_no step cannot be the {self.kpi} KPI")
        return self

    def accepted_values(self) -> list[str | int]:
        return ["yes", "no"]

    def parse_digits(self, digits: str) -> tuple[str, int | None] | None:
        if digits == self.yes_digit:
            return "yes", None
        if digits == self.no_digit:
            return "no", None
        return None


class _MenuStep(_QuestionStep):
    """One key per option: digit -> the value stored."""

    options: dict[int, str]

    def accepted_values(self) -> list[str | int]:
        return list(self.options.values())

    def parse_digits(self, digits: str) -> tuple[str, int | None] | None:
        if len(digits) == 1 and digits in "0123456789" and int(digits) in self.options:
            return self.options[int(digits)], None
        return None


class ChoiceStep(_MenuStep):
    kind: Literal["choice"]
    # Keypad digit -> the value stored, e.g. {1: billing, 2: technical}.
    options: dict[Annotated[int, Field(ge=0, le=9)], Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]]

    @model_validator(mode="after")
    def _options(self) -> ChoiceStep:
        if len(self.options) < 2:
            raise ValueError("a choice needs at least two options")
        if len(set(self.options.values())) != len(self.options):
            raise ValueError("two options have the same value")
        if self.kpi is not None:
            raise ValueError("a choice step cannot be a KPI")
        return self


class LanguageStep(_MenuStep):
    """The caller picks the survey's language. Each option is offered in its own language (the
    step's prompt in that language), and the step is not asked when the IVR passed `lang`."""

    kind: Literal["language"]
    # Keypad digit -> language code, e.g. {1: en, 2: es}.
    options: dict[Annotated[int, Field(ge=0, le=9)], LanguageCode]

    @model_validator(mode="after")
    def _options(self) -> LanguageStep:
        if len(self.options) < 2:
            raise ValueError("a language menu needs at least two languages")
        if len(set(self.options.values())) != len(self.options):
            raise ValueError("a language is offered twice")
        if self.kpi is not None or self.speech:
            raise ValueError("a language menu is keypad only and cannot be a KPI")
        return self


class RecordStep(_QuestionStep):
    """A recorded voice comment: a consent sentence, the prompt, a beep, then <Record>."""

    kind: Literal["record"]
    # Said before the prompt, e.g. "This comment will be recorded..."; null for none.
    consent_prompt: PromptKey | None = "recording_consent"
    # Longest comment, in seconds; the caller ends it early with finish_on_key or by hanging up.
    max_length: int = Field(default=60, ge=5, le=600)
    # A recording shorter than this (seconds) counts as silence: the step is asked again.
    min_length: int = Field(default=2, ge=0, le=30)
    finish_on_key: Annotated[str, Field(pattern=r"^[0-9*#]$")] = "#"
    beep: bool = True
    # Ask Twilio for a transcript where the language supports it (language.yaml: transcribe).
    transcribe: bool = True

    @model_validator(mode="after")
    def _record(self) -> RecordStep:
        if self.kpi is not None or self.speech:
            raise ValueError("a voice comment cannot be a KPI or a spoken answer")
        if self.min_length >= self.max_length:
            raise ValueError("min_length must be below max_length")
        return self

    def accepted_values(self) -> list[str | int]:
        return ["recorded"]

    def parse_digits(self, digits: str) -> tuple[str, int | None] | None:
        return None  # a comment is audio, never keys


QuestionStep = RatingStep | YesNoStep | ChoiceStep | LanguageStep | RecordStep
Step = Annotated[
    MessageStep | RatingStep | YesNoStep | ChoiceStep | LanguageStep | RecordStep, Field(discriminator="kind")
]


class Scoring(_Strict):
    # A condition over the answers, e.g. "csat == 1 or nps <= 2 or sentiment <= -0.5": opens a
    # callback task. `sentiment` is the most negative comment's, from -1.0 to 1.0.
    extreme_low: str | None = None
    # Praise, e.g. "csat == 5 and nps >= 9": the agent hears about it at once.
    extreme_high: str | None = None
    # How long a supervisor has to call back after an extreme low, before it is escalated.
    callback_deadline_hours: int = Field(default=24, ge=1, le=720)


class ClosingPrompts(_Strict):
    """Prompt keys the engine speaks between steps; every flow language must have them."""

    no_input: PromptKey = "no_input"
    no_match: PromptKey = "no_match"
    goodbye: PromptKey = "goodbye"
    ended_early: PromptKey = "ended_early"
    # Said instead of the survey when the rules say not to ask (do-not-survey, asked recently).
    not_surveyed: PromptKey = "not_surveyed"
    # Said after the caller pressed the opt-out key.
    opted_out: PromptKey = "opted_out"


class Flow(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,127}$")]
    title: str = Field(min_length=1, max_length=200)
    languages: list[LanguageCode] = Field(min_length=1)
    default_language: LanguageCode
    steps: list[Step] = Field(min_length=1)
    scoring: Scoring = Scoring()
    prompts: ClosingPrompts = ClosingPrompts()
    # Spoken answers heard with less confidence than this are asked again, like a wrong key.
    min_speech_confidence: float = Field(default=0.5, ge=0, le=1)
    # A key the caller may press at any question to never be surveyed again; a prompt should
    # announce it. None: no opt-out key.
    opt_out_key: Annotated[str, Field(pattern=r"^[0-9*#]$")] | None = None
    # Do not survey the same caller with this flow more than once in this many days (0: no limit).
    suppress_days: int = Field(default=0, ge=0, le=365)

    @model_validator(mode="after")
    def _default_language_listed(self) -> Flow:
        if self.default_language not in self.languages:
            raise ValueError(
                f"default_language {self.default_language!r} is not among languages {self.languages}"
            )
        return self

    def step(self, key: str) -> MessageStep | QuestionStep | None:
        return next((step for step in self.steps if step.key == key), None)

    def questions(self) -> list[QuestionStep]:
        return [step for step in self.steps if not isinstance(step, MessageStep)]
