"""Twilio's form and query values as the voice views may use them: text without NUL bytes and no
longer than the column it lands in, keys made only of ASCII 0-9, * and #, finite numbers, bounded
counts. Anything else is treated as absent (or, for keys, as a key no step accepts), so odd input
is asked again instead of failing the webhook."""

from __future__ import annotations

import math
import re

from flask import request

# Column lengths the values end up in (see ivr/models/).
SID = 64  # calls.call_sid, survey_responses.survey_call_sid, recordings.recording_sid
NUMBER = 64  # calls.from_number, calls.to_number
AGENT_REF = 255  # agents.ref
QUEUE = 128  # calls.queue, survey_responses.queue
LANGUAGE = 16
FLOW = 128
STATUS = 32  # calls.status, agent_legs.outcome, recordings.status
URL = 500  # recordings.media_url
KEYS = 64  # answers.raw_input
SPEECH = 2000  # what we keep of a spoken answer
TRANSCRIPT = 20_000  # Twilio transcribes at most 120 s of speech
CHAIN = 20  # agents named in `chain`: a transfer chain longer than this is not a real call
DAY = 24 * 3600  # no call, leg or recording lasts longer

# Keys a phone can send. str.isdigit() is no test: "²" and "٣" are digits to Python.
_KEYS = re.compile(r"[0-9*#]+", re.ASCII)
# Given for Digits that are not keys: no step accepts it, so the caller hears a no-match.
NOT_A_KEY = "?"


def clean(value: str | None, limit: int) -> str | None:
    """The text without NUL bytes (PostgreSQL refuses them) or surrounding blanks, cut to
    `limit` characters; None when nothing is left."""
    if value is None:
        return None
    text = value.replace("\x00", "").strip()[:limit].strip()
    return text or None


def text(name: str, limit: int) -> str | None:
    """A form field as safe text."""
    return clean(request.form.get(name), limit)


def arg(name: str, limit: int) -> str | None:
    """A query value (from the URLs we gave Twilio) as safe text."""
    return clean(request.args.get(name), limit)


def keys(name: str = "Digits") -> str | None:
    """The keys pressed, or None when none were. Anything that is not 1 to 64 of 0-9, * and #
    becomes NOT_A_KEY: the caller pressed something, but nothing a step can accept. "hangup" is
    what <Record> sends when the caller hung up to end it: no keys."""
    value = (request.form.get(name) or "").strip()
    if not value or value == "hangup":
        return None
    if len(value) > KEYS or not _KEYS.fullmatch(value):
        return NOT_A_KEY
    return value


def finite(name: str, low: float, high: float) -> float | None:
    """A number within [low, high]; None when absent, not a number, infinite or out of range."""
    raw = request.form.get(name)
    if raw is None or len(raw) > 32:
        return None
    try:
        number = float(raw)
    except ValueError:
        return None
    return number if math.isfinite(number) and low <= number <= high else None


def seconds(name: str) -> int | None:
    """A duration Twilio reports (whole seconds, maybe "7.0"), or None when it is not one."""
    number = finite(name, 0, DAY)
    return int(number) if number is not None else None


def ident(name: str) -> int | None:
    """A row id from the query (the URLs we gave Twilio): 1 to 12 ASCII digits, else None."""
    value = request.args.get(name, "")
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        return None
    return int(value)


def count(name: str, high: int = 99) -> int:
    """A small counter from the query (retries, the agent's index): ASCII digits up to `high`,
    else 0."""
    value = request.args.get(name, "")
    if not value.isascii() or not value.isdigit() or len(value) > 4:
        return 0
    number = int(value)
    return number if number <= high else 0
