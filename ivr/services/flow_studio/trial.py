"""Try a flow before callers hear it: a whole call on a draft or any version, through the same
signed webhooks a real call uses (the simulator, in process), marked as a test response so that
no report, list, feedback or callback task ever counts it; and what scoring would decide.
"""

from __future__ import annotations

import shlex
import urllib.parse
import uuid
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

from flask import current_app
from sqlalchemy import func, select

from ivr.extensions import db
from ivr.flows import CompiledFlow, FlowError, compile_flow
from ivr.models import FlowVersion, SurveyResponse
from ivr.services.closed_loop.scoring import judge_comments, score_fields
from ivr.services.errors import Conflict, Invalid, NotFound
from ivr.services.flow_studio import drafts
from ivr.settings import settings
from ivr.simulator import SimulatedCall, demo_caller, problem_with

DRAFT_SUFFIX = ".draft"  # flow ids cannot hold a dot: a draft's try-out versions never mix in
MAX_ACTIONS = 40


@dataclass(frozen=True)
class Exchange:
    url: str
    sent: dict[str, str]
    heard: list[str]
    twiml: str


@dataclass(frozen=True)
class StoredAnswer:
    """An answer as the test response stored it, with a spoken answer's confidence and a voice
    comment's length and transcript."""

    step: str
    value: str | None
    given: str | None
    confidence: float | None = None
    seconds: int | None = None
    transcript: str | None = None


@dataclass
class Trial:
    call_sid: str
    version: FlowVersion
    exchanges: list[Exchange] = field(default_factory=list)
    heard: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    disposition: str = ""
    answers: list[StoredAnswer] = field(default_factory=list)
    score: dict[str, Any] = field(default_factory=dict)
    task: str | None = None


def parse_actions(text: str) -> list[str]:
    """The caller's actions as `flask simulate --keys` takes them; Invalid names the bad one."""
    try:
        actions = shlex.split(text)
    except ValueError as exc:
        raise Invalid(f'{exc} (quote a spoken answer whole: "say:very satisfied")', "keys") from None
    if len(actions) > MAX_ACTIONS:
        raise Invalid(f"at most {MAX_ACTIONS} answers in one try", "keys")
    problems = [problem for action in actions if (problem := problem_with(action)) is not None]
    if problems:
        raise Invalid("; ".join(problems), "keys")
    return actions


def draft_version(flow_key: str) -> FlowVersion:
    """The saved draft frozen as a try-out version (flow key `<flow>.draft`, never current for
    anything); the same content reuses its row. Conflict while the draft has errors."""
    draft = drafts.draft(flow_key)
    if draft.errors:
        raise Conflict(f"the draft has {len(draft.errors)} error(s): fix them before trying it", "version")
    try:
        compiled = compile_flow(
            draft.document, drafts.catalog(draft.base, draft.prompts, draft.audio), flow_key
        )
    except FlowError as exc:  # pragma: no cover - the check above found them
        raise Conflict(str(exc), "version") from None
    key = flow_key + DRAFT_SUFFIX
    found = db.session.scalar(select(FlowVersion).filter_by(flow_key=key, content_hash=compiled.content_hash))
    if found is None:
        latest = db.session.scalar(select(func.max(FlowVersion.version)).filter_by(flow_key=key))
        found = FlowVersion(
            flow_key=key,
            version=(latest or 0) + 1,
            content_hash=compiled.content_hash,
            definition=compiled.definition(),
            source="flow studio draft (try-out)",
        )
        db.session.add(found)
    db.session.commit()
    return found


def try_call(version: FlowVersion, actions: list[str], language: str | None = None) -> Trial:
    """Play a whole call on this version through the webhooks, in process and signed."""
    compiled = CompiledFlow.from_definition(version.definition)
    language = compiled.language_or_default(language)
    config = settings()
    base = (config.public_base_url or "http://localhost").rstrip("/")
    client = current_app.test_client()

    def transport(url: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        parts = urllib.parse.urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        answer = client.post(path, data=form, headers=headers, base_url=f"{parts.scheme}://{parts.netloc}")
        return answer.status_code, answer.get_data(as_text=True)

    call_sid = "CA" + uuid.uuid4().hex
    heard_now: list[str] = []
    call = SimulatedCall(
        transport,
        base,
        config.twilio_auth_token,
        call_sid=call_sid,
        from_number=demo_caller(),
        on_hear=heard_now.append,
    )
    params = {"flow": compiled.id, "lang": language, "queue": "try-it", "test_version": str(version.id)}
    db.session.commit()  # the webhooks run in their own sessions: nothing of ours may hold a lock
    transcript = call.run("/voice/survey?" + urllib.parse.urlencode(params), iter(actions))
    trial = Trial(call_sid, version, heard=transcript.heard, errors=transcript.errors)
    for exchange in transcript.exchanges:
        trial.exchanges.append(Exchange(exchange.url.removeprefix(base), exchange.form, [], exchange.body))
    _attach_heard(trial)
    _results(trial, compiled)
    return trial


def _attach_heard(trial: Trial) -> None:
    for index, exchange in enumerate(trial.exchanges):
        try:
            root = ElementTree.fromstring(exchange.twiml)
        except ElementTree.ParseError:
            continue
        said = [node.text or "" for node in root.iter("Say")]
        said += [f"[audio {node.text}]" for node in root.iter("Play")]
        trial.exchanges[index] = Exchange(exchange.url, exchange.sent, said, exchange.twiml)


def _results(trial: Trial, compiled: CompiledFlow) -> None:
    response = db.session.scalar(select(SurveyResponse).filter_by(survey_call_sid=trial.call_sid))
    if response is None:
        trial.errors.append("the call left no survey response (see the TwiML above)")
        return
    trial.disposition = response.disposition.value
    comments = {recording.step_key: recording for recording in response.recordings}
    trial.answers = [
        StoredAnswer(
            a.step_key,
            a.value,
            a.raw_input or a.speech_result,
            a.speech_confidence,
            comments[a.step_key].duration_seconds if a.step_key in comments else None,
            comments[a.step_key].transcript if a.step_key in comments else None,
        )
        for a in response.answers
    ]
    judge_comments(response)  # what the scoring job would judge; not kept
    trial.score = score_fields(response, compiled)
    db.session.rollback()
    if trial.score["extreme_low"]:
        hours = compiled.flow.scoring.callback_deadline_hours
        trial.task = f"a callback task for the agent's team supervisor, due within {hours} hours"


def version_for(flow_key: str, choice: str) -> FlowVersion:
    """`draft` or a version number, as the try-out form names them."""
    if choice == "draft":
        return draft_version(flow_key)
    if not choice.isdigit():
        raise NotFound(f"flow {flow_key!r} has no version {choice!r}")
    return drafts.version(flow_key, int(choice))
