"""Daily rollups of the scores (ivr.models.rollups): kept up after scoring, rebuilt on demand,
and read by the dashboard for the whole days of a period.

A bucket (a UTC day and an agent, or a UTC day and a queue) is always recomputed whole from the
scores and the responses (DELETE, then INSERT of the aggregates, in one transaction): a retried job, a
re-scored response or a rebuild gives the same rows, and nothing is ever counted twice. Two
workers refreshing one bucket at once: the second waits on the unique bucket index, fails, and
recomputes once the first has committed (it then sees both scores).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, delete, exists, func, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError

from ivr.extensions import db
from ivr.models import AgentLeg, AgentScoreDay, Disposition, OfferDay, QueueScoreDay, Score, SurveyResponse
from ivr.models.rollups import COUNT_COLUMNS
from ivr.services.insight import measures

log = logging.getLogger(__name__)
ATTEMPTS = 3
Rollup = type[AgentScoreDay] | type[QueueScoreDay]
# Responses that were offered a survey (asked, whatever they said), and those who answered.
NOT_OFFERED = (Disposition.in_progress, Disposition.suppressed, Disposition.failed)
ANSWERED = (Disposition.completed, Disposition.partial)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def whole_days(start: datetime, end: datetime) -> tuple[date, date] | None:
    """The UTC days lying wholly in [start, end), as [first, last); None when there is none."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    first = start.date() if start == midnight(start.date()) else start.date() + timedelta(days=1)
    last = end.date()
    return (first, last) if first < last else None


def sums(rollup: Rollup) -> list[Any]:
    """The sums of a rollup's counts, in measures.columns() order (counts_from() reads them)."""
    return list(_sums(rollup))


@functools.cache
def _sums(rollup: Rollup) -> tuple[Any, ...]:
    return tuple(func.coalesce(func.sum(getattr(rollup, name)), 0) for name in COUNT_COLUMNS)


def _key(rollup: Rollup) -> Any:
    return AgentScoreDay.agent_id if rollup is AgentScoreDay else QueueScoreDay.queue


def _score_key(rollup: Rollup) -> Any:
    return Score.agent_id if rollup is AgentScoreDay else Score.queue


def _is(column: Any, value: Any) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value  # type: ignore[no-any-return]


def _response_key(rollup: Rollup) -> Any:
    return SurveyResponse.agent_id if rollup is AgentScoreDay else SurveyResponse.queue


def offered_columns() -> list[Any]:
    """Surveys offered (asked, whatever the answer) and answered, over SurveyResponse."""
    offered = SurveyResponse.disposition.not_in(NOT_OFFERED)
    answered = SurveyResponse.disposition.in_(ANSWERED)
    return [
        func.coalesce(func.sum(case((offered, 1), else_=0)), 0),
        func.coalesce(func.sum(case((answered, 1), else_=0)), 0),
    ]


def _recount(rollup: Rollup, day: date, *key: Any) -> None:
    """Recompute the day's buckets (one bucket when a key is given; else all of the day) from
    the scores and the responses, replacing the rows that were there."""
    key_name = "agent_id" if rollup is AgentScoreDay else "queue"
    begins, ends = midnight(day), midnight(day + timedelta(days=1))
    scores = select(_score_key(rollup), *measures.columns()).where(
        Score.started_at >= begins, Score.started_at < ends
    )
    responses = select(_response_key(rollup), *offered_columns()).where(
        SurveyResponse.started_at >= begins,
        SurveyResponse.started_at < ends,
        SurveyResponse.is_test.is_(False),
    )
    gone = delete(rollup).where(rollup.day == day)
    if key:
        scores = scores.where(_is(_score_key(rollup), key[0]))
        responses = responses.where(_is(_response_key(rollup), key[0]))
        gone = gone.where(_is(_key(rollup), key[0]))
    found: dict[Any, dict[str, Any]] = {}
    for row in db.session.execute(scores.group_by(_score_key(rollup))):
        found[row[0]] = {"day": day, key_name: row[0], **dict(zip(COUNT_COLUMNS, row[1:], strict=True))}
    for bucket, offered, answered in db.session.execute(responses.group_by(_response_key(rollup))):
        if bucket not in found:
            found[bucket] = {"day": day, key_name: bucket, **dict.fromkeys(COUNT_COLUMNS, 0)}
        found[bucket].update(offered=int(offered), answered=int(answered))
    db.session.execute(gone)
    rows = [{"offered": 0, "answered": 0, **row} for row in found.values()]
    if rows:
        db.session.execute(insert(rollup), rows)


def _with_retries(work: Callable[[], None]) -> None:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            work()
            db.session.commit()
            return
        except (IntegrityError, OperationalError):
            db.session.rollback()
            if attempt == ATTEMPTS:
                raise
            log.info("rollups: a bucket was refreshed at the same time; again (attempt %s)", attempt + 1)


# The responses scored inside refreshed_together(), whose buckets are recomputed at its end.
_NOTED: ContextVar[set[int] | None] = ContextVar("ivr_rollups_noted", default=None)


def after_scoring(response_id: int) -> None:
    """After a score's commit: recompute its buckets now, or at the end of the scoring job's
    batch (refreshed_together), where each bucket is recomputed once for all its scores."""
    noted = _NOTED.get()
    if noted is None:
        refresh_responses([response_id])
    else:
        noted.add(response_id)


@contextmanager
def refreshed_together() -> Iterator[None]:
    """The buckets of every response scored inside are recomputed once, at the end. A worker
    lost before the end leaves them stale until their next score or a rebuild; a failure is
    logged, not raised (the scores themselves are committed)."""
    token = _NOTED.set(set())
    try:
        yield
    finally:
        noted = _NOTED.get() or set()
        _NOTED.reset(token)
        try:
            refresh_responses(noted)
        except Exception:
            db.session.rollback()
            log.exception("the daily rollups of responses %s could not be refreshed", sorted(noted))


def refresh_responses(response_ids: Iterable[int]) -> int:
    """Recompute the buckets of these responses' scores, each bucket once; how many buckets.
    Commits (call it after the scores' own commit)."""
    ids = sorted(set(response_ids))
    if not ids:
        return 0
    agents: set[tuple[date, int | None]] = set()
    queues: set[tuple[date, str | None]] = set()
    for chunk in range(0, len(ids), 1000):
        for started_at, agent_id, queue in db.session.execute(
            select(Score.started_at, Score.agent_id, Score.queue).where(
                Score.response_id.in_(ids[chunk : chunk + 1000])
            )
        ):
            day = started_at.astimezone(UTC).date() if started_at.tzinfo else started_at.date()
            agents.add((day, agent_id))
            queues.add((day, queue))
    db.session.rollback()

    def work() -> None:
        # Always in the same order, so two workers lock buckets alike and never deadlock.
        for day, agent_id in sorted(agents, key=lambda b: (b[0], b[1] or 0)):
            _recount(AgentScoreDay, day, agent_id)
        for day, queue in sorted(queues, key=lambda b: (b[0], b[1] or "")):
            _recount(QueueScoreDay, day, queue)

    _with_retries(work)
    return len(agents) + len(queues)


# --- the survey-offer rate's days

# A call's survey can start a day after its agent leg (a text invitation waits out quiet hours):
# a day is settled, and its offer counts kept, once this many days have passed since it ended.
OFFER_SETTLED_AFTER = timedelta(days=2)


def surveyed() -> Any:
    """Whether an agent leg's call reached a survey (the offer rate's numerator)."""
    return exists(select(SurveyResponse.id).where(SurveyResponse.call_id == AgentLeg.call_id))


def leg_counts(start: datetime, end: datetime) -> Any:
    """Per agent: completed agent legs begun in [start, end) and how many reached a survey."""
    return (
        select(
            AgentLeg.agent_id,
            func.count(),
            func.coalesce(func.sum(case((surveyed(), 1), else_=0)), 0),
        )
        .where(AgentLeg.outcome == "completed", AgentLeg.started_at >= start, AgentLeg.started_at < end)
        .group_by(AgentLeg.agent_id)
    )


def settled_days(start: datetime, end: datetime, now: datetime) -> tuple[date, date] | None:
    """The whole days of [start, end) that can no longer change, as [first, last)."""
    whole = whole_days(start, end)
    if whole is None:
        return None
    first, last = whole
    last = min(last, (now.astimezone(UTC) - OFFER_SETTLED_AFTER).date())
    return (first, last) if first < last else None


def count_offer_days(first: date, last: date) -> bool:
    """Count the settled days in [first, last) not counted yet (a query per day, once); commits.
    False when they could not be stored now (the database busy with a writer): count live."""
    counted = set(
        db.session.scalars(
            select(OfferDay.day).where(
                OfferDay.agent_id.is_(None), OfferDay.day >= first, OfferDay.day < last
            )
        )
    )
    missing = [first + timedelta(days=n) for n in range((last - first).days)]
    missing = [day for day in missing if day not in counted]
    if not missing:
        return True
    rows: list[dict[str, Any]] = []
    for day in missing:
        rows.append({"day": day, "agent_id": None, "answered": 0, "surveyed": 0})
        for agent_id, answered, reached in db.session.execute(
            leg_counts(midnight(day), midnight(day + timedelta(days=1)))
        ):
            rows.append({"day": day, "agent_id": agent_id, "answered": answered, "surveyed": reached})
    try:
        db.session.execute(insert(OfferDay), rows)
        db.session.commit()
    except IntegrityError:  # another request counted them at the same time: theirs stand
        db.session.rollback()
    except OperationalError:  # SQLite with another writer: count live this time
        db.session.rollback()
        log.info("offer days %s to %s not stored now: the database is busy", first, last)
        return False
    return True


def rebuild(since: date | None = None, progress: Callable[[date, int], None] | None = None) -> int:
    """Recompute every bucket from `since` (else from the first score) to today; one transaction
    per day. Returns the days rebuilt."""
    first = db.session.scalar(select(func.min(Score.started_at)))
    last = db.session.scalar(select(func.max(Score.started_at)))
    db.session.rollback()
    if first is None or last is None:
        for rollup in (AgentScoreDay, QueueScoreDay):
            db.session.execute(delete(rollup).where(rollup.day >= since) if since else delete(rollup))
        db.session.commit()
        return 0
    # The offer days are counted again when a dashboard next reads them.
    db.session.execute(delete(OfferDay).where(OfferDay.day >= since) if since else delete(OfferDay))
    day = max(since, first.date()) if since else first.date()
    end = max(last.date(), datetime.now(UTC).date())
    # Rows before the first score (or of days no longer scored) go too.
    for rollup in (AgentScoreDay, QueueScoreDay):
        stale = rollup.day >= since if since else rollup.day.is_not(None)
        db.session.execute(delete(rollup).where(stale, rollup.day < day))
    db.session.commit()
    done = 0
    while day <= end:
        _with_retries(lambda day=day: _rebuild_day(day))  # type: ignore[misc]
        done += 1
        if progress is not None:
            progress(day, done)
        day += timedelta(days=1)
    return done


def _rebuild_day(day: date) -> None:
    _recount(AgentScoreDay, day)
    _recount(QueueScoreDay, day)
