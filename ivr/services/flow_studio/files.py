"""Flows as files: `flask flows import` loads callflows/ and prompts/ (checked by the same
loader as at start) and publishes what changed; `flask flows export` writes the published
versions back in the same layout, byte-stable (export, import, export gives identical files).

Export layout, for DIR:
- callflows/<flow>.yaml: the flow document, defaults left out, keys in the schema's order;
- prompts/<lang>/language.yaml: the locale and voice;
- prompts/<lang>/<flow>.yaml: the prompt texts the flow uses (a key shared with a flow exported
  before it, with the same text, is written once);
- prompts/<lang>/speech.yaml: the words spoken answers are matched with;
- prompts/<lang>/sms.yaml: the survey by text's wording of each prompt;
- prompts/<lang>/audio/<prompt key>.<mp3|wav>: a recorded prompt, byte for byte as uploaded;
- callflows/routing/queues.yaml: the front door's routing, its YAML as published (comments kept).
Importing stores each recording in the database by its content (as an upload is), so that the
version plays it on every machine, and the same bytes give the same version.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ivr.db import insert_ignore
from ivr.extensions import db
from ivr.flows import CompiledFlow, load_catalog
from ivr.flows.prompts import AUDIO_DIR, AUDIO_TYPES
from ivr.flows.routing import ROUTING_FILE, read_routing_file
from ivr.flows.schema import Flow
from ivr.flows.yaml_text import dump_yaml
from ivr.models import FlowAction, FlowRecord, FlowVersion, PromptAudio, RoutingRecord, RoutingVersion
from ivr.services.conversation.front_door import front_door
from ivr.services.errors import Conflict, Invalid
from ivr.services.flow_studio import routing
from ivr.services.flow_studio.versions import current_version, publish_version
from ivr.services.policy import Principal
from ivr.settings import settings as app_settings

# Keys first that a reader looks for first; the rest in the schema's order.
_FIRST = ("id", "title", "key", "kind", "prompt", "when")


def _ordered(data: dict[str, Any]) -> dict[str, Any]:
    first = {key: data[key] for key in _FIRST if key in data}
    return first | {key: value for key, value in data.items() if key not in first}


def document(flow: Flow) -> dict[str, Any]:
    """The flow as a person would write it: defaults left out, each step's key and kind first."""
    data = _ordered(flow.model_dump(mode="python", exclude_defaults=True))
    data["steps"] = [
        _ordered(step.model_dump(mode="python", exclude_defaults=True) | {"kind": step.kind})
        for step in flow.steps
    ]
    return data


def document_yaml(flow: Flow) -> str:
    return dump_yaml(document(flow))


@dataclass(frozen=True)
class Imported:
    flow_id: str
    version: int | None  # None: unchanged (or skipped)
    note: str


def import_dir(callflows: Path, prompts: Path, who: Principal, only_new: bool = False) -> list[Imported]:
    """Publish every flow in callflows/ whose content differs from its current version, then the
    routing in callflows/routing/queues.yaml likewise. FlowError (every problem at once) when a
    file does not check; nothing is published then."""
    catalog = load_catalog(callflows, prompts)
    seed = read_routing_file(
        callflows, routing.published_flows() | catalog, app_settings().default_flow, front_door().texts
    )
    done = []
    for flow_id, found in sorted(catalog.items()):
        compiled = _recordings_stored(found, prompts, who)
        current = current_version(flow_id)
        if current is not None and only_new:
            done.append(Imported(flow_id, None, "already in the database: left as it is"))
        elif current is not None and current.content_hash == compiled.content_hash:
            done.append(Imported(flow_id, None, f"unchanged (version {current.version})"))
        else:
            version = publish_version(
                compiled, who, f"imported from {callflows}", FlowAction.imported, f"callflows/{flow_id}.yaml"
            )
            done.append(Imported(flow_id, version.version, f"published as version {version.version}"))
    if seed is not None:
        if only_new and db.session.scalar(select(RoutingRecord.id)) is not None:
            done.append(Imported("routing", None, "already in the database: left as it is"))
        else:
            number, note = routing.import_text(seed.text, seed.routing, who, f"callflows/{ROUTING_FILE}")
            done.append(Imported("routing", number, note))
    db.session.commit()
    return done


def _recordings_stored(compiled: CompiledFlow, prompts: Path, who: Principal) -> CompiledFlow:
    """The flow with its recordings (files under prompts/<lang>/audio/) stored in the database
    by content and named by their sha256, as uploads are."""
    if not compiled.audio:
        return compiled
    from ivr.services.flow_studio import audio  # audio uses drafts, which uses this module

    stored: dict[str, dict[str, str]] = {}
    for lang, files in compiled.audio.items():
        for key, reference in files.items():
            name = reference.partition("?v=")[0]
            data = (prompts / lang / AUDIO_DIR / name).read_bytes()
            suffix = Path(name).suffix.lower()
            try:
                seconds = audio.check(name, data).seconds
            except Invalid:
                seconds = 0.0  # the loader took it as it is; a publish keeps it so
            digest = hashlib.sha256(data).hexdigest()
            insert_ignore(
                PromptAudio,
                {
                    "digest": digest,
                    "content_type": AUDIO_TYPES[suffix],
                    "size": len(data),
                    "seconds": seconds,
                    "data": data,
                    "uploaded_by": who.label,
                },
                ["digest"],
            )
            stored.setdefault(lang, {})[key] = f"{audio.file_name(digest, suffix)}?v={digest[:12]}"
    return dataclasses.replace(compiled, audio=stored)


def _recording(language: str, reference: str) -> bytes | None:
    """A version's recorded prompt: uploaded (by its sha256) or, for versions imported before
    recordings were stored, the file under the prompts folder."""
    from ivr.services.flow_studio import audio

    name = reference.partition("?v=")[0]
    row = audio.stored(name)
    if row is not None:
        return row.data
    path = app_settings().prompts_dir / language / AUDIO_DIR / name
    return path.read_bytes() if path.is_file() else None


def export_dir(root: Path) -> list[Path]:
    """Write every flow's current version and the current routing under root; the paths written."""
    versions = db.session.scalars(
        select(FlowVersion)
        .join(FlowRecord, FlowRecord.current_version_id == FlowVersion.id)
        .order_by(FlowRecord.key)
    ).all()
    files: dict[Path, str | bytes] = {}
    texts: dict[tuple[str, str], tuple[str, str]] = {}  # (lang, key) -> (text, flow)
    voices: dict[str, dict[str, Any]] = {}
    speech: dict[str, dict[str, Any]] = {}
    sms_texts: dict[str, dict[str, str]] = {}  # lang -> key -> the survey by text's wording
    conflicts = []
    for row in versions:
        compiled = CompiledFlow.from_definition(row.definition)
        files[Path("callflows") / f"{compiled.id}.yaml"] = document_yaml(compiled.flow)
        for lang in compiled.flow.languages:
            voice = compiled.voices[lang]
            voices.setdefault(
                lang,
                {"locale": voice.locale}
                | ({"voice": voice.voice} if voice.voice else {})
                | ({"transcribe": True} if voice.transcribe else {}),
            )
            own = {}
            for key, text in sorted(compiled.prompts[lang].items()):
                if (lang, key) not in texts:
                    texts[(lang, key)] = (text, compiled.id)
                    own[key] = text
                elif texts[(lang, key)][0] != text:
                    conflicts.append(f"{lang}/{key} ({texts[(lang, key)][1]} and {compiled.id})")
            if own:
                files[Path("prompts") / lang / f"{compiled.id}.yaml"] = dump_yaml(own)
            for key, reference in sorted(compiled.audio.get(lang, {}).items()):
                data = _recording(lang, reference)
                if data is None:
                    conflicts.append(f"{lang}/audio {key} ({compiled.id}: the recording is gone)")
                    continue
                suffix = Path(reference.partition("?v=")[0]).suffix.lower()
                audio_path = Path("prompts") / lang / AUDIO_DIR / f"{key}{suffix}"
                if files.setdefault(audio_path, data) != data:
                    conflicts.append(f"{lang}/audio {key} ({compiled.id})")
            for key, text in compiled.sms.get(lang, {}).items():
                merged_texts = sms_texts.setdefault(lang, {})
                if merged_texts.setdefault(key, text) != text:
                    conflicts.append(f"{lang}/sms {key} ({compiled.id})")
            if lang in compiled.speech:
                words = compiled.vocabulary(lang).as_dict()
                common = {key: value for key, value in words.items() if key != "answers"}
                merged = speech.setdefault(lang, common)
                merged.setdefault("answers", {}).update(words["answers"])
    if conflicts:
        raise Conflict(
            "these prompts have different texts in different flows, which one prompts folder "
            f"cannot hold: {', '.join(conflicts)}"
        )
    for lang, settings in voices.items():
        files[Path("prompts") / lang / "language.yaml"] = dump_yaml(settings)
    for lang, words in speech.items():
        words["answers"] = dict(sorted(words["answers"].items()))
        files[Path("prompts") / lang / "speech.yaml"] = dump_yaml(words)
    for lang, by_key in sms_texts.items():
        files[Path("prompts") / lang / "sms.yaml"] = dump_yaml(dict(sorted(by_key.items())))
    published_routing = db.session.scalar(
        select(RoutingVersion).join(RoutingRecord, RoutingRecord.current_version_id == RoutingVersion.id)
    )
    if published_routing is not None:
        files[Path("callflows") / ROUTING_FILE] = published_routing.yaml_text
    for relative, content in sorted(files.items()):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return sorted(root / relative for relative in files)
