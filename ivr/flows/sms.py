"""A flow's texts by SMS: prompts/<lang>/sms.yaml, the SMS variant of each prompt a flow uses.

    csat.question: "How satisfied were you with the agent? Reply 1 (very dissatisfied) to 5 (very satisfied)."
    sms.help: "Acme Support surveys: ..."      # HELP: who is asking and how to stop
    sms.stopped: "You won't get ..."            # the one confirmation of STOP

A language without sms.yaml is not offered by text; a language with one must give every prompt
the flow's questions, messages and closings use (a message step may be "" to leave it out of the
text). Replies are matched with the language's speech.yaml words (numbers, yes, no, per-question
phrases), for every question, not only those asked by speech.

The loader warns when a text needs more than one SMS segment: 160 GSM-7 characters, or 70 when a
character outside GSM-7 forces UCS-2 (Twilio then bills, and may deliver, it in pieces).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from ivr.flows import speech
from ivr.flows.problems import FlowProblem
from ivr.flows.schema import Flow, LanguageStep, MessageStep, QuestionStep, RecordStep
from ivr.flows.speech import Vocabulary

log = logging.getLogger(__name__)

SMS_FILE = "sms.yaml"
HELP = "sms.help"
STOPPED = "sms.stopped"

# GSM 03.38: the default alphabet (one septet each) and its extension table (two septets each).
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")
_GSM_SINGLE, _GSM_PART = 160, 153  # a long text's parts each carry a 7-septet header
_UCS2_SINGLE, _UCS2_PART = 70, 67


def segments(text: str) -> int:
    """How many SMS segments Twilio sends `text` in (GSM-7 when every character allows, else UCS-2)."""
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in text):
        length = sum(2 if ch in _GSM_EXTENDED else 1 for ch in text)
        single, part = _GSM_SINGLE, _GSM_PART
    else:
        length = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)  # UTF-16 code units
        single, part = _UCS2_SINGLE, _UCS2_PART
    if length <= single:
        return 1
    return -(-length // part)


def prompt_keys(flow: Flow) -> set[str]:
    """Every prompt a text conversation of this flow sends (no language menu, no recording consent)."""
    keys = {flow.prompts.no_match, flow.prompts.goodbye, flow.prompts.ended_early}
    keys |= {flow.prompts.not_surveyed, flow.prompts.opted_out, HELP, STOPPED}
    for step in flow.steps:
        if isinstance(step, LanguageStep):
            continue
        keys.add(step.prompt)
        if not isinstance(step, MessageStep) and step.no_match_prompt:
            keys.add(step.no_match_prompt)
    return keys


def compile_texts(
    name: str,
    flow: Flow,
    sms: dict[str, dict[str, str]],
    speech: dict[str, dict[str, Any]],
    spoken: dict[str, dict[str, str]],
    warn: bool = True,
) -> tuple[dict[str, dict[str, str]], dict[str, Vocabulary], list[FlowProblem]]:
    """The flow's SMS texts and reply words per language that has an sms.yaml; the problems found
    (a prompt missing by voice too is reported once, by the loader's own check).

    Warns (in the log) for each text longer than one SMS segment, unless `warn` is False."""
    texts: dict[str, dict[str, str]] = {}
    words: dict[str, Vocabulary] = {}
    problems: list[FlowProblem] = []
    wanted = prompt_keys(flow)
    for lang in flow.languages:
        if lang not in sms:
            continue
        missing = sorted(
            key
            for key in wanted
            if key not in sms[lang] and (key in spoken.get(lang, {}) or key in (HELP, STOPPED))
        )
        for key in missing:
            problems.append(
                FlowProblem(name, f"no SMS text for {key!r} in prompts/{lang}/{SMS_FILE}", field="languages")
            )
        texts[lang] = {key: sms[lang][key] for key in sorted(wanted) if key in sms[lang]}
        for key, text in texts[lang].items():
            if warn and (count := segments(text)) > 1:
                log.warning(
                    "prompts/%s/%s: %r needs %s SMS segments (%s characters)",
                    lang,
                    SMS_FILE,
                    key,
                    count,
                    len(text),
                )
        words[lang] = _reply_words(speech.get(lang), flow.questions())
    return texts, words, problems


def _reply_words(data: dict[str, Any] | None, steps: list[QuestionStep]) -> Vocabulary:
    full = Vocabulary.from_dict(data or {})
    prompts = {step.prompt for step in steps if not isinstance(step, RecordStep)}
    return Vocabulary(
        numbers=full.numbers,
        yes=full.yes,
        no=full.no,
        answers={key: phrases for key, phrases in full.answers.items() if key in prompts},
    )


# "5", "5 - great", "10/10", "3." : a number first, whatever follows it.
_LEADING_NUMBER = re.compile(r"^\s*(\d{1,2})(?!\d)")


def match_reply(step: QuestionStep, words: Vocabulary, body: str) -> tuple[str, int | None] | None:
    """The (value, number) a text reply means, or None: the step's own keys ("1" for yes), a
    number at the start ("5 - great"), else the language's words as for spoken answers ("five",
    "si", "not really"); words pointing two ways ("yes no") mean nothing."""
    text = body.strip()
    if not text:
        return None
    keyed = step.parse_digits(text)
    if keyed is not None:
        return keyed
    leading = _LEADING_NUMBER.match(text)
    if leading is not None and (keyed := step.parse_digits(leading.group(1))) is not None:
        return keyed
    return speech.match(step, words, text)
