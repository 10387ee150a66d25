"""The response filter shared by the explorer, the exports and the dashboard's links.

A filter is a set of conditions over the scores fact table (joined to its response): the
dashboard counts over exactly these conditions, and every number it shows links to the explorer
with the same filter, so a click lists exactly the responses behind the number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select

from ivr.models import (
    Agent,
    Answer,
    Call,
    CallbackTask,
    Disposition,
    FlowVersion,
    Recording,
    Score,
    Sentiment,
    SurveyResponse,
    TaskStatus,
    utcnow,
)
from ivr.services.errors import Invalid

DEFAULT_DAYS = 30
# Links and forms say "no queue" / "no team" with this value (a real queue is never named so).
NONE = "~"
NPS_CATEGORIES = ("promoter", "passive", "detractor")
EXTREMES = ("low", "high")
TASK_STATES = ("any", "open", "overdue", "closed")
MAX_WORDS = 200
# Periods (and the period before them) stay far from datetime's limits.
FIRST_YEAR, LAST_YEAR = 1970, 2999


@dataclass(frozen=True)
class ResponseFilter:
    """Responses (with their score) that started in [start, end) and match every set field."""

    start: datetime
    end: datetime
    team: int | str | None = None  # a team id, or NONE: agents without a team
    agent: int | None = None
    queue: str | None = None  # a queue, or NONE
    flow: str | None = None
    flow_version: int | None = None
    language: str | None = None
    disposition: Disposition | None = None
    extreme: str | None = None  # "low" or "high"
    sentiment: Sentiment | None = None
    csat: int | None = None
    nps: str | None = None  # an NPS category
    resolved: bool | None = None
    task: str | None = None  # one of TASK_STATES
    caller: str | None = None  # the caller's keyed number hash (never the number)
    words: str | None = None

    def but(self, **changes: Any) -> ResponseFilter:
        return replace(self, **changes)

    def args(self) -> dict[str, str]:
        """The filter as query-string arguments (what parse() reads back)."""
        found: dict[str, str] = {}
        for name, value in asdict(self).items():
            if value is None:
                continue
            if isinstance(value, datetime):
                found[name] = value.astimezone(UTC).isoformat()
            elif isinstance(value, bool):
                found[name] = "yes" if value else "no"
            else:
                found[name] = str(value)
        return found


def _when(raw: str, name: str, is_end: bool) -> datetime:
    try:
        value = datetime.fromisoformat(raw.strip().replace(" ", "T", 1) if "T" not in raw else raw.strip())
    except (ValueError, OverflowError):
        raise Invalid(f"{name}: give a date (2026-11-23) or a time (2026-11-23 14:30) in UTC", name) from None
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise Invalid(f"{name}: a year from {FIRST_YEAR} to {LAST_YEAR}", name)
    date_only = len(raw.strip()) == 10
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    # A date as the end of a period includes that whole day.
    return value + timedelta(days=1) if is_end and date_only else value


def _int(raw: str, name: str, low: int = 1, high: int = 2**31 - 1) -> int:
    if not raw.strip().isdigit() or not low <= int(raw) <= high:
        raise Invalid(f"{name}: give a whole number from {low} to {high}", name)
    return int(raw)


def _choice(raw: str, name: str, choices: tuple[str, ...]) -> str:
    if raw not in choices:
        raise Invalid(f"{name}: one of {', '.join(choices)}", name)
    return raw


def parse(args: Mapping[str, str], now: datetime | None = None) -> ResponseFilter:
    """A filter from query-string arguments; Invalid (naming the argument) for a bad value.
    Without a period: the last DEFAULT_DAYS days."""
    now = now or utcnow()
    values: dict[str, Any] = {}
    known = {f.name for f in fields(ResponseFilter)}
    for name in known:
        raw = args.get(name)
        if raw is None or raw.strip() == "":
            continue
        raw = raw.strip()
        if name in ("start", "end"):
            values[name] = _when(raw, name, name == "end")
        elif name == "team":
            values[name] = NONE if raw == NONE else _int(raw, name)
        elif name in ("agent", "flow_version"):
            values[name] = _int(raw, name)
        elif name == "csat":
            values[name] = _int(raw, name, 1, 10)
        elif name == "disposition":
            values[name] = Disposition(_choice(raw, name, tuple(Disposition)))
        elif name == "sentiment":
            values[name] = Sentiment(_choice(raw, name, tuple(Sentiment)))
        elif name == "extreme":
            values[name] = _choice(raw, name, EXTREMES)
        elif name == "nps":
            values[name] = _choice(raw, name, NPS_CATEGORIES)
        elif name == "resolved":
            values[name] = _choice(raw, name, ("yes", "no")) == "yes"
        elif name == "task":
            values[name] = _choice(raw, name, TASK_STATES)
        elif name == "words":
            if len(raw) > MAX_WORDS:
                raise Invalid(f"words: at most {MAX_WORDS} characters", name)
            values[name] = raw
        else:
            if len(raw) > 128:
                raise Invalid(f"{name}: at most 128 characters", name)
            values[name] = raw
    values.setdefault("end", now)
    values.setdefault("start", values["end"] - timedelta(days=DEFAULT_DAYS))
    if values["start"] >= values["end"]:
        raise Invalid("start: the period must start before it ends", "start")
    return ResponseFilter(**values)


def team_agents(team: int | str) -> Any:
    """The ids of a team's agents (NONE: of agents without a team), as a subquery."""
    if team == NONE:
        return select(Agent.id).where(Agent.team_id.is_(None))
    return select(Agent.id).where(Agent.team_id == team)


def score_conditions(f: ResponseFilter) -> list[ColumnElement[bool]]:
    """The conditions on the scores table alone (what the dashboard's aggregates use)."""
    found: list[ColumnElement[bool]] = [Score.started_at >= f.start, Score.started_at < f.end]
    if f.team is not None:
        in_team = Score.agent_id.in_(team_agents(f.team))
        found.append(or_(in_team, Score.agent_id.is_(None)) if f.team == NONE else in_team)
    if f.agent is not None:
        found.append(Score.agent_id == f.agent)
    if f.queue is not None:
        found.append(Score.queue.is_(None) if f.queue == NONE else Score.queue == f.queue)
    if f.extreme == "low":
        found.append(Score.extreme_low.is_(True))
    elif f.extreme == "high":
        found.append(Score.extreme_high.is_(True))
    if f.sentiment is not None:
        found.append(Score.sentiment_label == f.sentiment)
    if f.csat is not None:
        found.append(Score.csat == f.csat)
    if f.nps is not None:
        found.append(Score.nps_category == f.nps)
    if f.resolved is not None:
        found.append(Score.resolved.is_(f.resolved))
    return found


def task_condition(state: str, now: datetime) -> ColumnElement[bool]:
    """Responses with a callback task in this state (overdue: not done and past due)."""
    task = select(CallbackTask.id).where(CallbackTask.response_id == Score.response_id)
    if state == "open":
        task = task.where(CallbackTask.status != TaskStatus.done)
    elif state == "overdue":
        task = task.where(CallbackTask.status != TaskStatus.done, CallbackTask.due_at < now)
    elif state == "closed":
        task = task.where(CallbackTask.status == TaskStatus.done)
    return exists(task)


def _like(words: str) -> str:
    escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def response_conditions(f: ResponseFilter, now: datetime | None = None) -> list[ColumnElement[bool]]:
    """Every condition, for a query over Score joined to SurveyResponse."""
    found = score_conditions(f)
    if f.flow is not None:
        found.append(
            SurveyResponse.flow_version_id.in_(select(FlowVersion.id).where(FlowVersion.flow_key == f.flow))
        )
    if f.flow_version is not None:
        found.append(SurveyResponse.flow_version_id == f.flow_version)
    if f.language is not None:
        found.append(SurveyResponse.language == f.language)
    if f.disposition is not None:
        found.append(SurveyResponse.disposition == f.disposition)
    if f.task is not None:
        found.append(task_condition(f.task, now or utcnow()))
    if f.caller is not None:
        found.append(SurveyResponse.call_id.in_(select(Call.id).where(Call.from_hash == f.caller)))
    if f.words is not None:
        pattern = _like(f.words)
        # IN, not a correlated EXISTS: the few matching answers are found once and hashed,
        # instead of probing every response of the period.
        said = select(Answer.response_id).where(Answer.speech_result.ilike(pattern, escape="\\"))
        commented = select(Recording.response_id).where(Recording.transcript.ilike(pattern, escape="\\"))
        found.append(or_(SurveyResponse.id.in_(said), SurveyResponse.id.in_(commented)))
    return found


def keyset_after(started_at: datetime, response_id: int) -> ColumnElement[bool]:
    """Rows after (older than) this one in the explorer's order: newest first, then by id."""
    return and_(
        # Redundant, but an index can start its range here (the OR alone it cannot use, and a
        # page deep in would skip every row before it).
        Score.started_at <= started_at,
        or_(
            Score.started_at < started_at,
            and_(Score.started_at == started_at, Score.response_id < response_id),
        ),
    )
