"""Recorded prompts uploaded in the flow studio: checked (type, size, length), stored in the
database by content (so every web machine can serve them), put on the draft for one prompt and
language, and played with <Play> once published; removing one falls back to text-to-speech."""

from __future__ import annotations

import hashlib
import io
import wave
from dataclasses import dataclass
from typing import Any

from mutagen import MutagenError
from mutagen.mp3 import MP3
from sqlalchemy import select

from ivr.db import insert_ignore
from ivr.extensions import db
from ivr.models import PromptAudio
from ivr.services.errors import Invalid
from ivr.services.flow_studio import drafts
from ivr.services.policy import Principal

MAX_BYTES = 5 * 1024 * 1024
MAX_SECONDS = 120.0
MIN_SECONDS = 0.3
TYPES = {".mp3": "audio/mpeg", ".wav": "audio/wav"}


@dataclass(frozen=True)
class CheckedAudio:
    suffix: str
    content_type: str
    seconds: float


def check(filename: str, data: bytes) -> CheckedAudio:
    """An MP3 or WAV file that really is one, at most MAX_BYTES and MAX_SECONDS long."""
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix not in TYPES:
        raise Invalid("upload an .mp3 or a .wav file", "audio")
    if not data:
        raise Invalid("the file is empty", "audio")
    if len(data) > MAX_BYTES:
        raise Invalid(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB", "audio")
    try:
        if suffix == ".wav":
            with wave.open(io.BytesIO(data)) as sound:
                seconds = sound.getnframes() / float(sound.getframerate())
        else:
            info: Any = MP3(io.BytesIO(data)).info  # type: ignore[no-untyped-call]
            seconds = float(info.length)
    except (wave.Error, EOFError, MutagenError, ZeroDivisionError):
        raise Invalid(f"this is not a {suffix[1:].upper()} file that can be played", "audio") from None
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise Invalid(
            f"the recording lasts {seconds:.1f} seconds; a prompt lasts {MIN_SECONDS} to {MAX_SECONDS:.0f}",
            "audio",
        )
    return CheckedAudio(suffix, TYPES[suffix], seconds)


def file_name(digest: str, suffix: str) -> str:
    return f"{digest}{suffix}"


def upload(flow_key: str, language: str, prompt_key: str, filename: str, data: bytes, who: Principal) -> str:
    """Store the recording and put it on the draft for this prompt and language; its file name."""
    draft = drafts.draft(flow_key)
    if language not in draft.languages:
        raise Invalid(f"the flow has no language {language!r}", "language")
    if prompt_key not in draft.prompt_keys():
        raise Invalid(f"the draft uses no prompt {prompt_key!r}", "prompt")
    checked = check(filename, data)
    digest = hashlib.sha256(data).hexdigest()
    insert_ignore(
        PromptAudio,
        {
            "digest": digest,
            "content_type": checked.content_type,
            "size": len(data),
            "seconds": checked.seconds,
            "data": data,
            "uploaded_by": who.label,
        },
        ["digest"],
    )
    name = file_name(digest, checked.suffix)
    drafts.save_audio(flow_key, language, prompt_key, f"{name}?v={digest[:12]}", who)
    return name


def remove(flow_key: str, language: str, prompt_key: str, who: Principal) -> None:
    """The prompt is spoken again (text-to-speech) in this language from the next publish."""
    drafts.save_audio(flow_key, language, prompt_key, None, who)


def stored(filename: str) -> PromptAudio | None:
    """An uploaded recording by its file name (<sha256>.<mp3|wav>), for the <Play> URL."""
    digest, _, suffix = filename.partition(".")
    if len(digest) != 64 or f".{suffix}" not in TYPES:
        return None
    return db.session.scalar(select(PromptAudio).where(PromptAudio.digest == digest))
