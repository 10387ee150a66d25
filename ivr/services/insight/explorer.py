"""The response explorer and its exports: responses matching a filter, newest first, a page at
a time (keyset paging on the score's start time and the response id, so a page deep in costs
what the first one does), and every matching response as rows for CSV or JSON lines, fetched
in chunks so that an export of a year never holds more than one chunk.

Scoped by the policy (ivr.services.policy.scope_scores); caller numbers never appear here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Integer, Select, any_, literal, select
from sqlalchemy import text as sql_text

from ivr.extensions import db
from ivr.models import (
    Agent,
    Answer,
    Call,
    CallbackTask,
    FlowVersion,
    Recording,
    Score,
    SurveyResponse,
    Team,
    as_utc,
    utcnow,
)
from ivr.services import policy
from ivr.services.errors import Invalid
from ivr.services.insight.filters import ResponseFilter, keyset_after, response_conditions
from ivr.services.policy import Principal

PAGE_SIZE = 50
EXPORT_CHUNK = 1000


@dataclass(frozen=True)
class Found:
    """One response as the explorer lists it."""

    response_id: int
    started_at: datetime
    ended_at: datetime | None
    call_sid: str
    agent: str | None
    team: str | None
    queue: str | None
    flow: str
    flow_version: int
    language: str
    channel: str  # voice or sms
    disposition: str
    csat: int | None
    nps: int | None
    nps_category: str | None
    ces: int | None
    resolved: bool | None
    sentiment: str | None
    extreme_low: bool
    extreme_high: bool
    task_id: int | None
    task_status: str | None
    verbatim: str | None = None

    @property
    def cursor(self) -> str:
        return f"{self.started_at.isoformat()}~{self.response_id}"


@dataclass(frozen=True)
class ExplorerPage:
    rows: list[Found]
    next_cursor: str | None


def parse_cursor(raw: str | None) -> tuple[datetime, int] | None:
    """The position a page starts after ("<started_at>~<response id>" from the page before)."""
    if not raw:
        return None
    when, _, ident = raw.rpartition("~")
    try:
        return as_utc(datetime.fromisoformat(when)), int(ident)
    except ValueError:
        raise Invalid(
            "after: not a position from a page of results; start from the first page", "after"
        ) from None


def _rows_query(principal: Principal, f: ResponseFilter, now: datetime) -> Select[Any]:
    query: Any = (
        select(
            Score.response_id,
            Score.started_at,
            SurveyResponse.ended_at,
            Call.call_sid,
            Agent.display_name,
            Agent.ref,
            Team.name,
            Score.queue,
            FlowVersion.flow_key,
            FlowVersion.version,
            SurveyResponse.language,
            SurveyResponse.channel,
            SurveyResponse.disposition,
            Score.csat,
            Score.nps,
            Score.nps_category,
            Score.ces,
            Score.resolved,
            Score.sentiment_label,
            Score.extreme_low,
            Score.extreme_high,
            CallbackTask.id,
            CallbackTask.status,
        )
        .join(SurveyResponse, SurveyResponse.id == Score.response_id)
        .join(Call, Call.id == SurveyResponse.call_id)
        .join(FlowVersion, FlowVersion.id == SurveyResponse.flow_version_id)
        .outerjoin(Agent, Agent.id == Score.agent_id)
        .outerjoin(Team, Team.id == Agent.team_id)
        .outerjoin(CallbackTask, CallbackTask.response_id == Score.response_id)
        .where(*response_conditions(f, now))
        .order_by(Score.started_at.desc(), Score.response_id.desc())
    )
    return policy.scope_scores(principal, query)


def _found(row: Any, verbatim: str | None = None) -> Found:
    rid, started, ended, sid, name, ref, team, queue, flow, version = row[:10]
    language, channel, disposition = row[10:13]
    csat, nps, category, ces, resolved, sentiment, low, high, task_id, task_status = row[13:]
    return Found(
        response_id=rid,
        started_at=as_utc(started),
        ended_at=as_utc(ended) if ended is not None else None,
        call_sid=sid,
        agent=name or ref,
        team=team,
        queue=queue,
        flow=flow,
        flow_version=version,
        language=language,
        channel=str(channel),
        disposition=str(disposition),
        csat=csat,
        nps=nps,
        nps_category=category,
        ces=ces,
        resolved=resolved,
        sentiment=str(sentiment) if sentiment is not None else None,
        extreme_low=bool(low),
        extreme_high=bool(high),
        task_id=task_id,
        task_status=str(task_status) if task_status is not None else None,
        verbatim=verbatim,
    )


def _among(column: Any, ids: list[int]) -> Any:
    """column IN ids; on PostgreSQL one array parameter (= ANY), not a thousand placeholders."""
    if db.engine.dialect.name == "postgresql":
        return column == any_(literal(ids, ARRAY(Integer)))
    return column.in_(ids)


def _comments(response_ids: list[int]) -> dict[int, list[str]]:
    comments: dict[int, list[str]] = {}
    for rid, text in db.session.execute(
        select(Recording.response_id, Recording.transcript)
        .where(_among(Recording.response_id, response_ids), Recording.transcript.is_not(None))
        .order_by(Recording.id)
    ):
        comments.setdefault(rid, []).append(text or "")
    return comments


def _verbatim(comments: list[str] | None, spoken: list[str] | None) -> str | None:
    """The caller's words: the comments' transcripts, else what they said in spoken answers."""
    words = comments or spoken
    return " / ".join(words) if words else None


def verbatims(response_ids: list[int]) -> dict[int, str]:
    """The caller's words per response."""
    if not response_ids:
        return {}
    comments = _comments(response_ids)
    spoken: dict[int, list[str]] = {}
    for rid, text in db.session.execute(
        select(Answer.response_id, Answer.speech_result)
        .where(_among(Answer.response_id, response_ids), Answer.speech_result.is_not(None))
        .order_by(Answer.id)
    ):
        spoken.setdefault(rid, []).append(text or "")
    found = {rid: _verbatim(comments.get(rid), spoken.get(rid)) for rid in set(comments) | set(spoken)}
    return {rid: words for rid, words in found.items() if words is not None}


def find(
    principal: Principal,
    f: ResponseFilter,
    after: tuple[datetime, int] | None = None,
    limit: int = PAGE_SIZE,
    now: datetime | None = None,
    with_verbatims: bool = True,
) -> ExplorerPage:
    """One page of matching responses, newest first, after `after` (from the page before)."""
    query = _rows_query(principal, f, now or utcnow())
    if after is not None:
        query = query.where(keyset_after(*after))
    rows = db.session.execute(query.limit(limit + 1)).all()
    words = verbatims([row[0] for row in rows[:limit]]) if with_verbatims else {}
    found = [_found(row, words.get(row[0])) for row in rows[:limit]]
    return ExplorerPage(found, found[-1].cursor if len(rows) > limit else None)


# --- exports


def step_keys(f: ResponseFilter) -> list[str]:
    """One export column per step: the steps of the flows the filter can match, in flow order.
    Read from the flow versions (a small table), not from the answers."""
    query = select(FlowVersion.definition).order_by(FlowVersion.flow_key, FlowVersion.version)
    if f.flow is not None:
        query = query.where(FlowVersion.flow_key == f.flow)
    if f.flow_version is not None:
        query = query.where(FlowVersion.id == f.flow_version)
    keys: list[str] = []
    for definition in db.session.scalars(query):
        for step in (definition or {}).get("flow", {}).get("steps", []):
            key = step.get("key")
            if isinstance(key, str) and key not in keys:
                keys.append(key)
    return keys


BASE_COLUMNS = [
    "response_id",
    "call_sid",
    "agent",
    "team",
    "queue",
    "flow",
    "flow_version",
    "language",
    "channel",
    "disposition",
    "started_at",
    "ended_at",
]
SCORE_COLUMNS = [
    "csat",
    "nps",
    "nps_category",
    "effort",
    "resolved",
    "sentiment",
    "extreme_low",
    "extreme_high",
    "task_status",
    "verbatim",
]


def export_columns(steps: list[str]) -> list[str]:
    return BASE_COLUMNS + [f"step:{key}" for key in steps] + SCORE_COLUMNS


def export_values(principal: Principal, f: ResponseFilter, steps: list[str]) -> Iterator[list[Any]]:
    """Every matching response as one row of values in export_columns() order, newest first.

    One query, streamed (a server-side cursor on PostgreSQL, EXPORT_CHUNK rows fetched at a
    time, so memory stays flat; no keyset query per chunk), and for each chunk its answers and
    comments in two queries on the answers' and recordings' response indexes."""
    query = _rows_query(principal, f, utcnow())
    if db.engine.dialect.name == "postgresql":
        # The plan's cost passes PostgreSQL's JIT threshold, and compiling it takes seconds
        # where running it takes fewer. For this transaction only.
        db.session.execute(sql_text("SET LOCAL jit = off"))
        # A cursor's plan is made for its first tenth by default (nested loops, fast to start);
        # an export reads it all, so plan for the whole (hash joins).
        db.session.execute(sql_text("SET LOCAL cursor_tuple_fraction = 1.0"))
    result = db.session.execute(query, execution_options={"yield_per": EXPORT_CHUNK})
    try:
        for chunk in result.partitions():
            yield from _export_values(chunk, steps)
    finally:
        result.close()  # the server-side cursor, also when the download stops part way


def _export_values(rows: Any, steps: list[str]) -> Iterator[list[Any]]:
    """A chunk of the streamed rows with their answers and comments (two queries a chunk)."""
    ids = [row[0] for row in rows]
    answers: dict[int, dict[str, str | None]] = {}
    said: dict[int, list[str]] = {}
    for rid, key, value, raw, speech in db.session.execute(
        select(Answer.response_id, Answer.step_key, Answer.value, Answer.raw_input, Answer.speech_result)
        .where(_among(Answer.response_id, ids))
        .order_by(Answer.id)
    ):
        answers.setdefault(rid, {})[key] = value if value is not None else raw
        if speech is not None:
            said.setdefault(rid, []).append(speech)
    commented = _comments(ids)
    nothing: dict[str, str | None] = {}
    for row in rows:
        rid, started, ended, sid, name, ref, team, queue, flow, version = row[:10]
        language, channel, disposition = row[10:13]
        csat, nps, category, ces, resolved, sentiment, low, high, _, task_status = row[13:23]
        given = answers.get(rid, nothing)
        comments, spoken = commented.get(rid), said.get(rid)
        yield [
            rid,
            sid,
            name or ref,
            team,
            queue,
            flow,
            version,
            language,
            str(channel),
            str(disposition),
            as_utc(started).isoformat(),
            as_utc(ended).isoformat() if ended is not None else None,
            *[given.get(key) for key in steps],
            csat,
            nps,
            category,
            ces,
            resolved,
            str(sentiment) if sentiment is not None else None,
            bool(low),
            bool(high),
            str(task_status) if task_status is not None else None,
            _verbatim(comments, spoken),
        ]


def export_rows(principal: Principal, f: ResponseFilter, steps: list[str]) -> Iterator[dict[str, Any]]:
    """Every matching response as one flat record (export_columns), newest first, streamed."""
    columns = export_columns(steps)
    for values in export_values(principal, f, steps):
        yield dict(zip(columns, values, strict=True))
