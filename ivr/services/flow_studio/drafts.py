"""Editing a flow: its draft (the YAML document and the prompt texts), checked as it is typed,
published as an immutable version when it has no errors, rolled back by republishing an earlier
version, compared version to version, and every save, publish and rollback in the audit log."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

import yaml
from sqlalchemy import func, select

from ivr.extensions import db
from ivr.flows import CompiledFlow, FlowError, FlowProblem, check_flow, compile_flow
from ivr.flows.prompts import PromptCatalog
from ivr.flows.schema import ClosingPrompts
from ivr.flows.yaml_text import load_yaml
from ivr.models import FlowAction, FlowAuditEntry, FlowRecord, FlowVersion, SurveyResponse, utcnow
from ivr.services.conversation.flow_versions import registry
from ivr.services.errors import Conflict, Invalid, NotFound
from ivr.services.flow_studio.files import document_yaml
from ivr.services.flow_studio.versions import audit, publish_version
from ivr.services.policy import Principal

MAX_YAML = 200_000
MAX_NOTE = 2000


@dataclass(frozen=True)
class FlowSummary:
    key: str
    title: str
    current: FlowVersion
    draft_saved_by: str | None
    draft_saved_at: Any
    responses: int


@dataclass
class Draft:
    """What the editor shows: the document's YAML, the prompt texts, and every problem."""

    key: str
    yaml_text: str
    prompts: dict[str, dict[str, str]]
    base: FlowVersion
    saved: bool
    problems: list[FlowProblem] = field(default_factory=list)
    document: dict[str, Any] | None = None
    # Recordings changed on the draft: language -> prompt key -> "<file>?v=<hash>" or None (removed).
    audio: dict[str, dict[str, str | None]] = field(default_factory=dict)

    def recording(self, language: str, prompt_key: str) -> str | None:
        """The recording the prompt plays in this language once published; None: spoken."""
        changed = self.audio.get(language, {})
        if prompt_key in changed:
            return changed[prompt_key]
        return CompiledFlow.from_definition(self.base.definition).audio_file(language, prompt_key)

    @property
    def errors(self) -> list[FlowProblem]:
        return [problem for problem in self.problems if problem.is_error]

    @property
    def languages(self) -> list[str]:
        langs = (self.document or {}).get("languages")
        if isinstance(langs, list) and all(isinstance(lang, str) for lang in langs):
            return list(langs)
        return sorted(self.prompts)

    def prompt_uses(self) -> list[tuple[str | None, str, str]]:
        """(step, field, prompt key) for every prompt the document names, in step order."""
        return prompt_uses(self.document)

    def prompt_keys(self) -> list[str]:
        keys = list(dict.fromkeys(key for _, _, key in self.prompt_uses()))
        return keys or sorted({key for texts in self.prompts.values() for key in texts})


def prompt_uses(document: dict[str, Any] | None) -> list[tuple[str | None, str, str]]:
    if not isinstance(document, dict):
        return []
    uses: list[tuple[str | None, str, str]] = []
    for raw in document.get("steps") or []:
        if not isinstance(raw, dict):
            continue
        defaults = {"consent_prompt": "recording_consent"} if raw.get("kind") == "record" else {}
        for name in ("prompt", "consent_prompt", "no_input_prompt", "no_match_prompt"):
            value = raw.get(name, defaults.get(name))
            if isinstance(value, str):
                uses.append((str(raw.get("key")), name, value))
    closing = document.get("prompts")
    if not isinstance(closing, dict):
        closing = {}
    for name, default in ClosingPrompts().model_dump().items():
        value = closing.get(name, default)
        if isinstance(value, str):
            uses.append((None, f"prompts.{name}", value))
    return uses


# --- reading


def _seed(flow_keys: list[str]) -> None:
    """Flows known only from the files are published from them first (as the first call would)."""
    stored = set(db.session.scalars(select(FlowRecord.key)))
    missing = [key for key in flow_keys if key not in stored and key in registry().flows]
    for key in missing:
        registry().current(key)
    if missing:
        db.session.commit()


def list_flows() -> list[FlowSummary]:
    _seed(list(registry().flows))
    rows = db.session.execute(
        select(FlowRecord, FlowVersion)
        .join(FlowVersion, FlowRecord.current_version_id == FlowVersion.id)
        .order_by(FlowRecord.key)
    ).all()
    counts = _response_counts()
    return [
        FlowSummary(
            key=record.key,
            title=str(version.definition["flow"]["title"]),
            current=version,
            draft_saved_by=record.draft_saved_by if record.draft_yaml is not None else None,
            draft_saved_at=record.draft_saved_at if record.draft_yaml is not None else None,
            responses=sum(n for (key, _), n in counts.items() if key == record.key),
        )
        for record, version in rows
    ]


def _response_counts(flow_key: str | None = None) -> dict[tuple[str, int], int]:
    query = (
        select(FlowVersion.flow_key, FlowVersion.version, func.count(SurveyResponse.id))
        .join(SurveyResponse, SurveyResponse.flow_version_id == FlowVersion.id)
        .where(SurveyResponse.is_test.is_(False))
        .group_by(FlowVersion.flow_key, FlowVersion.version)
    )
    if flow_key is not None:
        query = query.where(FlowVersion.flow_key == flow_key)
    return {(key, version): count for key, version, count in db.session.execute(query)}


def versions(flow_key: str) -> list[tuple[FlowVersion, int]]:
    """Every version, newest first, with how many responses it produced."""
    rows = db.session.scalars(
        select(FlowVersion).filter_by(flow_key=flow_key).order_by(FlowVersion.version.desc())
    ).all()
    if not rows:
        raise NotFound(f"unknown flow {flow_key!r}")
    counts = _response_counts(flow_key)
    return [(row, counts.get((flow_key, row.version), 0)) for row in rows]


def record(flow_key: str) -> FlowRecord:
    _seed([flow_key])
    found = db.session.scalar(select(FlowRecord).where(FlowRecord.key == flow_key))
    if found is None:
        raise NotFound(f"unknown flow {flow_key!r}")
    return found


def version(flow_key: str, number: int) -> FlowVersion:
    found = db.session.scalar(select(FlowVersion).filter_by(flow_key=flow_key, version=number))
    if found is None:
        raise NotFound(f"flow {flow_key!r} has no version {number}")
    return found


def audit_log(flow_key: str) -> list[FlowAuditEntry]:
    return list(
        db.session.scalars(
            select(FlowAuditEntry).filter_by(flow_key=flow_key).order_by(FlowAuditEntry.id.desc())
        )
    )


def draft(flow_key: str) -> Draft:
    """The saved draft, or a new one from the current version (not saved until edited)."""
    row = record(flow_key)
    if row.draft_yaml is not None and row.draft_base_version_id is not None:
        base = db.session.get_one(FlowVersion, row.draft_base_version_id)
        return checked(
            flow_key, row.draft_yaml, dict(row.draft_prompts or {}), base, True, dict(row.draft_audio or {})
        )
    base = db.session.get_one(FlowVersion, row.current_version_id)
    compiled = CompiledFlow.from_definition(base.definition)
    return checked(flow_key, document_yaml(compiled.flow), compiled.prompts, base, saved=False)


def checked(
    flow_key: str,
    yaml_text: str,
    prompts: dict[str, dict[str, str]],
    base: FlowVersion,
    saved: bool = False,
    audio: dict[str, dict[str, str | None]] | None = None,
) -> Draft:
    """The draft with every problem the loader finds (errors and warnings, each with its step
    and field), without saving anything."""
    result = Draft(flow_key, yaml_text, prompts, base, saved, audio=audio or {})
    name = f"{flow_key} (draft)"
    if len(yaml_text) > MAX_YAML:
        result.problems = [FlowProblem(name, f"the document is longer than {MAX_YAML} characters")]
        return result
    try:
        document = load_yaml(yaml_text)
    except yaml.YAMLError as exc:
        result.problems = [FlowProblem(name, f"not valid YAML: {exc}")]
        return result
    result.document = document if isinstance(document, dict) else None
    result.problems = check_flow(document, catalog(base, prompts, result.audio), name)
    if result.document is not None and result.document.get("id") != flow_key:
        result.problems.insert(
            0, FlowProblem(name, f"the id must stay {flow_key!r} (a new flow is a new file)", field="id")
        )
    return result


def catalog(
    base: FlowVersion,
    prompts: dict[str, dict[str, str]],
    audio: dict[str, dict[str, str | None]] | None = None,
) -> PromptCatalog:
    """The draft's prompt texts and recordings with its base version's voices, speech words and
    SMS texts."""
    compiled = CompiledFlow.from_definition(base.definition)
    recordings = {lang: dict(files) for lang, files in compiled.audio.items()}
    for lang, changed in (audio or {}).items():
        for key, file in changed.items():
            if file is None:
                recordings.get(lang, {}).pop(key, None)
            else:
                recordings.setdefault(lang, {})[key] = file
    texts = {lang: {k: v for k, v in given.items() if v.strip()} for lang, given in prompts.items()}
    return PromptCatalog(
        voices=dict(compiled.voices),
        texts=texts,
        speech={lang: words.as_dict() for lang, words in compiled.speech.items()},
        audio=recordings,
        # The base's texts for the survey by text, so that a publish keeps it. The studio edits
        # what is spoken only: a prompt the base has no SMS text for (a new step's) is texted as
        # it is spoken.
        sms={lang: {**texts.get(lang, {}), **sent} for lang, sent in compiled.sms.items()},
    )


# --- writing


def save_draft(
    flow_key: str, yaml_text: str | None, prompts: dict[str, dict[str, str]] | None, who: Principal
) -> Draft:
    """Save the document and/or the prompt texts (whatever was sent), problems or not: a draft
    may be broken; only publishing needs it whole."""
    row = record(flow_key)
    current = draft(flow_key)
    text = current.yaml_text if yaml_text is None else yaml_text.replace("\r\n", "\n")
    merged = {lang: dict(texts) for lang, texts in current.prompts.items()}
    for lang, texts in (prompts or {}).items():
        for key, value in texts.items():
            merged.setdefault(lang, {})[key] = value.strip()
    if len(text) > MAX_YAML:
        raise Invalid(f"the document is longer than {MAX_YAML} characters", "document")
    row.draft_yaml = text
    row.draft_prompts = merged
    row.draft_base_version_id = current.base.id
    row.draft_saved_by = who.label
    row.draft_saved_at = utcnow()
    audit(flow_key, FlowAction.save, who, None, None)
    db.session.commit()
    return checked(flow_key, text, merged, current.base, True, current.audio)


def save_audio(flow_key: str, language: str, prompt_key: str, file: str | None, who: Principal) -> None:
    """Put a recording on the draft for one prompt and language (None: remove it, spoken again)."""
    row = record(flow_key)
    current = draft(flow_key)
    changed = {lang: dict(files) for lang, files in current.audio.items()}
    changed.setdefault(language, {})[prompt_key] = file
    row.draft_yaml = current.yaml_text
    row.draft_prompts = current.prompts
    row.draft_audio = changed
    row.draft_base_version_id = current.base.id
    row.draft_saved_by = who.label
    row.draft_saved_at = utcnow()
    what = "uploaded" if file else "removed"
    audit(flow_key, FlowAction.save, who, None, f"recording of {prompt_key} ({language}) {what}")
    db.session.commit()


def discard_draft(flow_key: str, who: Principal) -> None:
    row = record(flow_key)
    if row.draft_yaml is None:
        return
    row.draft_yaml = row.draft_prompts = row.draft_audio = row.draft_base_version_id = None
    row.draft_saved_by = row.draft_saved_at = None
    audit(flow_key, FlowAction.discard, who, None, None)
    db.session.commit()


def publish(flow_key: str, note: str, who: Principal) -> FlowVersion:
    """The saved draft as a new version, current from now on for new calls; refused while it has
    errors (warnings are allowed) or when it changes nothing."""
    note = note.strip()
    if not note:
        raise Invalid("say what changed and why in the change note", "note")
    if len(note) > MAX_NOTE:
        raise Invalid(f"the change note is longer than {MAX_NOTE} characters", "note")
    current = draft(flow_key)
    if not current.saved:
        raise Conflict("there is no saved draft to publish")
    if current.errors:
        raise Conflict(f"the draft has {len(current.errors)} error(s): fix them first", "document")
    try:
        compiled = compile_flow(
            current.document, catalog(current.base, current.prompts, current.audio), flow_key
        )
    except FlowError as exc:  # pragma: no cover - the check above found them
        raise Conflict(str(exc), "document") from None
    row = record(flow_key)
    now = db.session.get_one(FlowVersion, row.current_version_id)
    if compiled.content_hash == now.content_hash:
        raise Conflict("the draft is the same as the published version: nothing to publish")
    published = publish_version(compiled, who, note, FlowAction.publish, "flow studio")
    row.draft_yaml = row.draft_prompts = row.draft_audio = row.draft_base_version_id = None
    row.draft_saved_by = row.draft_saved_at = None
    db.session.commit()
    return published


def rollback(flow_key: str, number: int, note: str, who: Principal) -> FlowVersion:
    """Republish version `number` as the newest version (the draft, if any, stays)."""
    old = version(flow_key, number)
    row = record(flow_key)
    if old.id == row.current_version_id:
        raise Conflict(f"version {number} is already the published one")
    compiled = CompiledFlow.from_definition(old.definition)
    text = note.strip()[:MAX_NOTE] or f"rolled back to version {number}"
    published = publish_version(compiled, who, text, FlowAction.rollback, f"rollback to version {number}")
    db.session.commit()
    return published


# --- comparing


@dataclass(frozen=True)
class PromptChange:
    language: str
    key: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class Diff:
    steps: list[str]  # unified diff lines of the flow documents
    prompts: list[PromptChange]


def diff(flow_key: str, before: int, after: int) -> Diff:
    old = CompiledFlow.from_definition(version(flow_key, before).definition)
    new = CompiledFlow.from_definition(version(flow_key, after).definition)
    lines = list(
        difflib.unified_diff(
            document_yaml(old.flow).splitlines(),
            document_yaml(new.flow).splitlines(),
            f"version {before}",
            f"version {after}",
            lineterm="",
        )
    )
    changes = []
    for lang in sorted(set(old.prompts) | set(new.prompts)):
        a, b = old.prompts.get(lang, {}), new.prompts.get(lang, {})
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                changes.append(PromptChange(lang, key, a.get(key), b.get(key)))
    return Diff(lines, changes)
