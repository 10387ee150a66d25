"""Prompts per language, under prompts/<lang>/:

- language.yaml: the locale and <Say> voice, and whether Twilio can transcribe comments in it;
- *.yaml: prompt texts (prompt key -> text);
- speech.yaml: what callers may say for spoken answers (numbers, yes, no, per-question phrases);
- sms.yaml: the SMS variant of the prompts (ivr.flows.sms);
- audio/<prompt key>.mp3 or .wav: a recording played instead of speaking the text.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ivr.flows.problems import FlowError, FlowProblem
from ivr.flows.yaml_text import load_yaml

LANGUAGE_FILE = "language.yaml"
SPEECH_FILE = "speech.yaml"
SMS_FILE = "sms.yaml"
AUDIO_DIR = "audio"
AUDIO_TYPES = {".mp3": "audio/mpeg", ".wav": "audio/wav"}


@dataclass(frozen=True)
class LanguageVoice:
    """How <Say> speaks a language: Twilio's locale code and, optionally, a voice name."""

    locale: str
    voice: str | None = None
    # Twilio's <Record transcribe> understands this language (it is English only today).
    transcribe: bool = False


@dataclass
class PromptCatalog:
    voices: dict[str, LanguageVoice] = field(default_factory=dict)
    texts: dict[str, dict[str, str]] = field(default_factory=dict)
    # language -> the raw speech.yaml mapping (checked per flow by the loader)
    speech: dict[str, dict[str, Any]] = field(default_factory=dict)
    # language -> prompt key -> "<file name>?v=<content hash>", the <Play> URL's tail
    audio: dict[str, dict[str, str]] = field(default_factory=dict)
    # language -> prompt key -> SMS text, from sms.yaml (checked per flow by the loader)
    sms: dict[str, dict[str, str]] = field(default_factory=dict)
    # Which file each prompt came from, to name it in errors.
    origins: dict[tuple[str, str], str] = field(default_factory=dict)


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def _read_yaml(path: Path, root: Path, problems: list[FlowProblem]) -> object:
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        problems.append(FlowProblem(_relative(path, root), f"not valid YAML: {exc}"))
    except OSError as exc:
        problems.append(FlowProblem(_relative(path, root), f"cannot be read: {exc.strerror}"))
    return None


def load_prompts(prompts_dir: Path) -> PromptCatalog:
    # One pass over prompts/<lang>/: texts, voice, speech and audio per language, problems collected.
    catalog = PromptCatalog()
    problems: list[FlowProblem] = []
    if not prompts_dir.is_dir():
        raise FlowError([FlowProblem(str(prompts_dir), "prompts folder not found")])
    for lang_dir in sorted(p for p in prompts_dir.iterdir() if p.is_dir()):
        lang = lang_dir.name
        language_path = lang_dir / LANGUAGE_FILE
        settings = _read_yaml(language_path, prompts_dir, problems) if language_path.exists() else None
        if not language_path.exists():
            problems.append(
                FlowProblem(_relative(language_path, prompts_dir), "missing: it sets the locale and voice")
            )
        elif not isinstance(settings, dict) or not isinstance(settings.get("locale"), str):
            problems.append(
                FlowProblem(
                    _relative(language_path, prompts_dir), "needs a text 'locale', e.g. en-US", field="locale"
                )
            )
        else:
            voice = settings.get("voice")
            catalog.voices[lang] = LanguageVoice(
                settings["locale"], str(voice) if voice else None, settings.get("transcribe") is True
            )
        speech_path = lang_dir / SPEECH_FILE
        if speech_path.exists():
            speech = _read_yaml(speech_path, prompts_dir, problems)
            if isinstance(speech, dict):
                catalog.speech[lang] = speech
            elif speech is not None:
                problems.append(
                    FlowProblem(
                        _relative(speech_path, prompts_dir), "must be a mapping (numbers, yes, no, answers)"
                    )
                )
        catalog.audio[lang] = _audio_files(lang_dir / AUDIO_DIR)
        sms_path = lang_dir / SMS_FILE
        if sms_path.exists():
            sms = _read_yaml(sms_path, prompts_dir, problems)
            if isinstance(sms, dict) and all(isinstance(text, str) for text in sms.values()):
                catalog.sms[lang] = {str(key): text.strip() for key, text in sms.items()}
            elif sms is not None:
                problems.append(
                    FlowProblem(_relative(sms_path, prompts_dir), "must map prompt keys to texts")
                )
        texts: dict[str, str] = catalog.texts.setdefault(lang, {})
        for path in sorted(lang_dir.glob("*.yaml")):
            if path.name in (LANGUAGE_FILE, SPEECH_FILE, SMS_FILE):
                continue
            name = _relative(path, prompts_dir)
            data = _read_yaml(path, prompts_dir, problems)
            if data is None:
                continue
            if not isinstance(data, dict):
                problems.append(FlowProblem(name, "must be a mapping of prompt key to text"))
                continue
            for key, text in data.items():
                if not isinstance(text, str) or not text.strip():
                    problems.append(FlowProblem(name, "must be non-empty text", field=str(key)))
                    continue
                if (lang, str(key)) in catalog.origins:
                    first = catalog.origins[(lang, str(key))]
                    problems.append(
                        FlowProblem(name, f"prompt defined twice (also in {first})", field=str(key))
                    )
                    continue
                texts[str(key)] = text.strip()
                catalog.origins[(lang, str(key))] = name
    if problems:
        raise FlowError(problems)
    return catalog


def _audio_files(audio_dir: Path) -> dict[str, str]:
    """Prompt key -> "<file>?v=<hash>": the hash changes the URL (and the flow version) when the
    recording changes, so Twilio's cache never plays an old one."""
    found: dict[str, str] = {}
    if not audio_dir.is_dir():
        return found
    for path in sorted(audio_dir.iterdir()):
        if path.suffix.lower() in AUDIO_TYPES and path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            found.setdefault(path.stem, f"{path.name}?v={digest}")
    return found
