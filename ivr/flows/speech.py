"""Spoken answers: what a caller may say for each question, per language, and how it is matched.

The words live with the prompts (prompts/<lang>/speech.yaml), so a translator adds "sí" where
they add the Spanish question:

    numbers: {zero: 0, one: 1, two: 2, ...}     # spoken numbers, for ratings
    yes: [yes, yeah, correct]                   # for yes/no questions
    no: [no, nope, not really]
    answers:                                    # per question (its prompt key): phrase -> value
      csat.question: {very satisfied: 5, satisfied: 4, not satisfied: 2}

A phrase is matched on whole words, longest first, ignoring case, accents and punctuation, so
"not satisfied" wins over "satisfied". An answer counts only when everything matched points to
one value; "yes, no" or "four or five" is asked again, like a wrong key.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from ivr.flows.schema import ChoiceStep, QuestionStep, RatingStep, YesNoStep

Phrase = tuple[str, str | int]  # (normalised words, value)
_HINTS_LIMIT = 40  # Twilio accepts a few hundred; the phrases that matter fit in far fewer


def _text(value: Any) -> str:
    return {True: "yes", False: "no"}.get(value, str(value)) if isinstance(value, bool) else str(value)


def _value(value: Any) -> str | int:
    return value if isinstance(value, int) and not isinstance(value, bool) else _text(value)


def normalise(text: str) -> str:
    """Lower case, no accents, words separated by single spaces: "¡Sí, claro!" -> "si claro"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.findall(r"[a-z0-9]+", bare))


@dataclass(frozen=True)
class Vocabulary:
    """One language's words for one flow: only the questions that flow asks by speech."""

    numbers: dict[str, int] = field(default_factory=dict)
    yes: tuple[str, ...] = ()
    no: tuple[str, ...] = ()
    answers: dict[str, dict[str, str | int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"numbers": self.numbers, "yes": list(self.yes), "no": list(self.no), "answers": self.answers}

    @classmethod
    def from_dict(cls, data: dict[Any, Any]) -> Vocabulary:
        # YAML 1.1 reads a bare yes/no as true/false, as keys and as list items: read them back.
        def words(value: Any) -> tuple[str, ...]:
            return tuple(_text(item) for item in value) if isinstance(value, list) else ()

        answers: dict[Any, Any] = data["answers"] if isinstance(data.get("answers"), dict) else {}
        return cls(
            numbers={_text(p): n for p, n in (data.get("numbers") or {}).items() if isinstance(n, int)},
            yes=words(data.get("yes", data.get(True))),
            no=words(data.get("no", data.get(False))),
            answers={
                str(key): {_text(p): _value(v) for p, v in phrases.items()}
                for key, phrases in answers.items()
                if isinstance(phrases, dict)
            },
        )

    def phrases(self, step: QuestionStep) -> list[Phrase]:
        """Every (phrase, value) that answers the step, step-specific phrases first."""
        found: list[Phrase] = [(normalise(p), v) for p, v in self.answers.get(step.prompt, {}).items()]
        if isinstance(step, YesNoStep):
            found += [(normalise(p), "yes") for p in self.yes] + [(normalise(p), "no") for p in self.no]
        elif isinstance(step, RatingStep):
            found += [(normalise(p), n) for p, n in self.numbers.items() if step.min <= n <= step.max]
        return [(phrase, value) for phrase, value in found if phrase]

    def hints(self, step: QuestionStep) -> str:
        """Twilio's `hints`: the step's own phrases, which speech recognition would not guess."""
        own = [phrase for phrase in self.answers.get(step.prompt, {})]
        return ", ".join(own[:_HINTS_LIMIT])


def match(step: QuestionStep, vocabulary: Vocabulary, said: str) -> tuple[str, int | None] | None:
    """The (value, number) a spoken answer means, or None when it means nothing or two things."""
    text = f" {normalise(said)} "
    values: set[str | int] = set()
    for phrase, value in sorted(vocabulary.phrases(step), key=lambda pv: -len(pv[0])):
        needle = f" {phrase} "
        while needle in text:
            values.add(value)
            text = text.replace(needle, " | ", 1)  # consumed: "satisfied" no longer matches inside it
    if isinstance(step, RatingStep):
        values.update(int(digits) for digits in re.findall(r"\b\d{1,2}\b", text))
    accepted = set(step.accepted_values())
    meant = {value for value in values if value in accepted}
    if len(meant) != 1 or len(values) != len(meant):
        return None
    (value,) = meant
    if isinstance(step, RatingStep):
        assert isinstance(value, int)
        return str(value), value
    return str(value), None


def problems(step: QuestionStep, data: dict[str, Any] | None) -> list[str]:
    """What a language's speech.yaml lacks for this step (empty when it can be answered by speech)."""
    if data is None:
        return ["there is no speech.yaml"]
    vocabulary = Vocabulary.from_dict(data)
    accepted = set(step.accepted_values())
    wrong = [
        f"answers.{step.prompt}: {phrase!r} means {value!r}, which the step does not accept"
        for phrase, value in vocabulary.answers.get(step.prompt, {}).items()
        if value not in accepted
    ]
    heard = {value for _phrase, value in vocabulary.phrases(step)}
    if isinstance(step, RatingStep):
        return wrong  # digits said as numbers ("5") always work
    if isinstance(step, ChoiceStep | YesNoStep):
        missing = [str(value) for value in step.accepted_values() if value not in heard]
        if missing:
            where = "yes/no" if isinstance(step, YesNoStep) else f"answers.{step.prompt}"
            wrong.append(f"no phrase for {', '.join(missing)} (add one under {where})")
    return wrong
