"""One agent's own numbers (the last 30 days against the 30 before) and their feedback items.

The numbers are SQL aggregates over the scores fact table (one indexed range scan per period on
agent_id, started_at); only the page of feedback items is loaded as rows. Nothing here carries a
caller's number: what an agent reads is built from scores, answers and recordings only.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from ivr.extensions import db
from ivr.models import FeedbackItem, FeedbackKind, Score, SurveyResponse, utcnow

PERIOD_DAYS = 30
PAGE_SIZE = 20
CSAT_POINTS = (1, 2, 3, 4, 5)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class PeriodNumbers:
    """An agent's scores over one period, as counts; the shares and NPS follow from them."""

    start: datetime
    end: datetime | None  # None: up to now
    responses: int = 0
    csat_counts: dict[int, int] = field(default_factory=lambda: dict.fromkeys(CSAT_POINTS, 0))
    bottom_box_count: int = 0
    top_box_count: int = 0
    promoters: int = 0
    detractors: int = 0
    nps_answers: int = 0
    resolved: int = 0
    resolution_answers: int = 0

    @property
    def csat_answers(self) -> int:
        return sum(self.csat_counts.values())

    @property
    def bottom_box(self) -> float | None:
        """Share of CSAT answers in the bottom box (1-2)."""
        return _share(self.bottom_box_count, self.csat_answers)

    @property
    def top_box(self) -> float | None:
        """Share of CSAT answers in the top box (4-5)."""
        return _share(self.top_box_count, self.csat_answers)

    @property
    def nps(self) -> float | None:
        """Promoters minus detractors over NPS answers, from -100 to 100."""
        if not self.nps_answers:
            return None
        return 100.0 * (self.promoters - self.detractors) / self.nps_answers

    @property
    def resolution_rate(self) -> float | None:
        return _share(self.resolved, self.resolution_answers)


@dataclass(frozen=True)
class AgentNumbers:
    current: PeriodNumbers
    previous: PeriodNumbers


def _count_when(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def period_numbers(
    agent_id: int, start: datetime, end: datetime | None = None, hidden: Collection[int] = ()
) -> PeriodNumbers:
    """One agent's scores that started in [start, end) (end None: since start), in one aggregate
    query; `hidden`: responses held back from the agent until they rate the call."""
    columns = [
        func.count(),
        *(_count_when(Score.csat == point) for point in CSAT_POINTS),
        # The boxes and NPS categories scoring decided (it knows the flow's scale), not cut-offs again.
        _count_when(Score.csat_bottom_box.is_(True)),
        _count_when(Score.csat_top_box.is_(True)),
        _count_when(Score.nps_category == "promoter"),
        _count_when(Score.nps_category == "detractor"),
        func.count(Score.nps),
        _count_when(Score.resolved.is_(True)),
        func.count(Score.resolved),
    ]
    query = select(*columns).where(Score.agent_id == agent_id, Score.started_at >= start)
    if end is not None:
        query = query.where(Score.started_at < end)
    if hidden:
        query = query.where(Score.response_id.not_in(hidden))
    row = db.session.execute(query).one()
    values = [int(value or 0) for value in row]
    responses, csat, rest = values[0], values[1:6], values[6:]
    bottom, top, promoters, detractors, nps_answers, resolved, resolution_answers = rest
    return PeriodNumbers(
        start=start,
        end=end,
        responses=responses,
        csat_counts=dict(zip(CSAT_POINTS, csat, strict=True)),
        bottom_box_count=bottom,
        top_box_count=top,
        promoters=promoters,
        detractors=detractors,
        nps_answers=nps_answers,
        resolved=resolved,
        resolution_answers=resolution_answers,
    )


def agent_numbers(
    agent_id: int, now: datetime | None = None, days: int = PERIOD_DAYS, hidden: Collection[int] = ()
) -> AgentNumbers:
    """The last `days` days against the `days` before them (without the `hidden` responses)."""
    middle = (now or utcnow()) - timedelta(days=days)
    return AgentNumbers(
        current=period_numbers(agent_id, middle, hidden=hidden),
        previous=period_numbers(agent_id, middle - timedelta(days=days), middle),
    )


# --- feedback items


@dataclass(frozen=True)
class ItemRecording:
    sid: str
    duration_seconds: int | None


@dataclass(frozen=True)
class AgentFeedbackItem:
    """A feedback item as its agent reads it: scores, the caller's words, the recordings."""

    id: int
    kind: FeedbackKind
    started_at: datetime
    csat: int | None
    nps: int | None
    ces: int | None
    resolved: bool | None
    verbatim: str | None
    recordings: list[ItemRecording]
    # The caller's verdict is held back until the agent rates the call (see perception).
    call_id: int | None = None
    held_back: bool = False


@dataclass(frozen=True)
class FeedbackPage:
    items: list[AgentFeedbackItem]
    # Where the next (older) page starts, or None on the last page.
    next_before_id: int | None


def _verbatim(response: SurveyResponse) -> str | None:
    """The caller's words: the comments' transcripts, else what they said in their spoken answers."""
    transcripts = [r.transcript for r in response.recordings if r.transcript]
    if transcripts:
        return " / ".join(transcripts)
    spoken = [a.speech_result for a in response.answers if a.speech_result]
    return " / ".join(spoken) or None


def feedback_page(
    agent_id: int, before_id: int | None = None, limit: int = PAGE_SIZE, hidden: Collection[int] = ()
) -> FeedbackPage:
    """The agent's feedback items, newest first, `limit` at a time (keyset paging on the id); the
    scores and words of `hidden` responses are left out until the agent rates their call."""
    query = (
        select(FeedbackItem)
        .where(FeedbackItem.agent_id == agent_id)
        .options(
            selectinload(FeedbackItem.response).selectinload(SurveyResponse.recordings),
            selectinload(FeedbackItem.response).selectinload(SurveyResponse.answers),
        )
        .order_by(FeedbackItem.id.desc())
        .limit(limit + 1)
    )
    if before_id is not None:
        query = query.where(FeedbackItem.id < before_id)
    found = list(db.session.scalars(query))
    items = [
        AgentFeedbackItem(
            id=item.id,
            kind=item.kind,
            started_at=item.response.started_at,
            csat=item.csat,
            nps=item.nps,
            ces=item.ces,
            resolved=item.resolved,
            verbatim=_verbatim(item.response),
            recordings=[
                ItemRecording(r.recording_sid, r.duration_seconds)
                for r in item.response.recordings
                # The retention purge removes the link: nothing left to play.
                if r.media_url is not None
            ],
            call_id=item.response.call_id,
        )
        if item.response_id not in hidden
        else AgentFeedbackItem(
            id=item.id,
            kind=FeedbackKind.regular,
            started_at=item.response.started_at,
            csat=None,
            nps=None,
            ces=None,
            resolved=None,
            verbatim=None,
            recordings=[],
            call_id=item.response.call_id,
            held_back=True,
        )
        for item in found[:limit]
    ]
    return FeedbackPage(items, items[-1].id if len(found) > limit else None)
