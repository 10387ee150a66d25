"""Agents rate their own calls blind, and see the gap between their view and the callers'.

A call's caller score is held back from its agent's pages until the agent has rated the call or
SELF_RATING_WINDOW_MINUTES have passed since their leg ended. A rating counts as blind when it
came within that window and before any feedback on the call reached the agent (an immediate
feedback e-mail shows the verdict); a rating after the window is stored and marked late. Only
blind ratings count in the gap.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, select
from sqlalchemy.exc import IntegrityError

from ivr.extensions import db
from ivr.models import Agent, AgentLeg, Call, FeedbackItem, Score, SelfRating, SurveyResponse, as_utc, utcnow
from ivr.outbox import Work, later
from ivr.services import policy
from ivr.services.errors import Conflict, Invalid, NotFound
from ivr.services.policy import Principal
from ivr.settings import settings

RATINGS = range(1, 6)
# Calls an agent is asked about: the ones they answered in the last two days.
AWAITING_DAYS = 2
# A rating this far from the caller's CSAT is a coaching moment (5 against 1 or 2, and so on).
MISS = 3
SATISFIED = 4  # CSAT 4-5 (top box), as the reports count it


def window() -> timedelta:
    return timedelta(minutes=settings().self_rating_window_minutes)


def _leg(agent_id: int, call_id: int) -> AgentLeg | None:
    """The agent's last answered leg of the call, if they took it."""
    return db.session.scalars(
        select(AgentLeg)
        .where(AgentLeg.call_id == call_id, AgentLeg.agent_id == agent_id, AgentLeg.outcome == "completed")
        .order_by(AgentLeg.sequence.desc())
        .limit(1)
    ).first()


def _leg_end(leg: AgentLeg) -> datetime:
    return as_utc(leg.ended_at or leg.started_at)


def rate(
    agent_id: int,
    call: int | str,
    rating: int,
    resolved: bool | None = None,
    source: str = "web",
    now: datetime | None = None,
) -> SelfRating:
    """Store the agent's rating of a call they took (by call id, or by Twilio CallSid)."""
    now = now or utcnow()
    if rating not in RATINGS:
        raise Invalid("a self-rating is a whole number from 1 to 5", "rating")
    column = Call.call_sid if isinstance(call, str) else Call.id
    call_id = db.session.scalar(select(Call.id).where(column == call))
    leg = _leg(agent_id, call_id) if call_id is not None else None
    if call_id is None or leg is None:
        raise NotFound("there is no call of yours with that id")
    late = now > _leg_end(leg) + window()
    responses = select(SurveyResponse.id).where(SurveyResponse.call_id == call_id)
    mine = (FeedbackItem.agent_id == agent_id, FeedbackItem.response_id.in_(responses))
    seen = db.session.scalar(select(exists().where(*mine, FeedbackItem.delivered_at <= now)))
    # The agent may now see the caller's verdict: any feedback held back for this call goes out.
    held = list(db.session.scalars(select(FeedbackItem.id).where(*mine, FeedbackItem.delivered_at.is_(None))))
    given = SelfRating(
        call_id=call_id,
        agent_id=agent_id,
        rating=rating,
        resolved=resolved,
        rated_at=now,
        late=late,
        blind=not late and not seen,
        source=source,
    )
    db.session.add(given)
    for item_id in held:
        later(Work.deliver_feedback, item_id)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("you have already rated this call", "rating") from None
    return given


@dataclass(frozen=True)
class AwaitingCall:
    call_id: int
    call_sid: str
    queue: str | None
    ended_at: datetime


def awaiting(agent_id: int, now: datetime | None = None, limit: int = 10) -> list[AwaitingCall]:
    """The agent's answered calls of the last two days they have not rated, newest first."""
    now = now or utcnow()
    rated = select(SelfRating.call_id).where(SelfRating.agent_id == agent_id)
    ended = func.coalesce(AgentLeg.ended_at, AgentLeg.started_at)
    rows = db.session.execute(
        select(Call.id, Call.call_sid, AgentLeg.queue, func.max(ended))
        .join(AgentLeg, AgentLeg.call_id == Call.id)
        .where(
            AgentLeg.agent_id == agent_id,
            AgentLeg.outcome == "completed",
            AgentLeg.started_at >= now - timedelta(days=AWAITING_DAYS),
            Call.id.not_in(rated),
        )
        .group_by(Call.id, Call.call_sid, AgentLeg.queue)
        .order_by(func.max(ended).desc())
        .limit(limit)
    ).all()
    return [AwaitingCall(call_id, sid, queue, as_utc(end)) for call_id, sid, queue, end in rows]


def release_at(agent_id: int, call_id: int, now: datetime | None = None) -> datetime | None:
    """When the caller's verdict on this call may reach the agent; None: now (they rated it, the
    window has passed, or they did not take the call)."""
    now = now or utcnow()
    leg = _leg(agent_id, call_id)
    if leg is None:
        return None
    rated = db.session.scalar(
        select(exists().where(SelfRating.agent_id == agent_id, SelfRating.call_id == call_id))
    )
    end = _leg_end(leg) + window()
    return None if rated or end <= now else end


def held_back_calls(agent_id: int, now: datetime | None = None) -> set[int]:
    """Calls whose caller score the agent may not see yet: taken within the window, not rated."""
    now = now or utcnow()
    rated = select(SelfRating.call_id).where(SelfRating.agent_id == agent_id)
    ended = func.coalesce(AgentLeg.ended_at, AgentLeg.started_at)
    return set(
        db.session.scalars(
            select(AgentLeg.call_id).where(
                AgentLeg.agent_id == agent_id,
                AgentLeg.outcome == "completed",
                ended > now - window(),
                AgentLeg.call_id.not_in(rated),
            )
        )
    )


def held_back_responses(agent_id: int, now: datetime | None = None) -> Collection[int]:
    calls = held_back_calls(agent_id, now)
    if not calls:
        return ()
    return set(db.session.scalars(select(SurveyResponse.id).where(SurveyResponse.call_id.in_(calls))))


# --- the gap


@dataclass(frozen=True)
class Gap:
    """Blind self-ratings of calls whose caller gave a CSAT, against that CSAT."""

    pairs: int
    predicted: dict[int, int]  # how many calls the agent rated 1..5
    actual: dict[int, int]  # how many of those calls the callers rated 1..5
    expected_satisfied_was_not: int  # the agent said 4-5, the caller 1-3
    expected_unhappy_was_satisfied: int  # the agent said 1-3, the caller 4-5
    mean_absolute_difference: float | None
    late: int  # ratings given after the window, left out of everything above

    def _share(self, counts: dict[int, int]) -> float | None:
        return sum(counts[p] for p in RATINGS if p >= SATISFIED) / self.pairs if self.pairs else None

    @property
    def we_think(self) -> float | None:
        """The share of calls the agent believed left the caller satisfied (4-5)."""
        return self._share(self.predicted)

    @property
    def callers_say(self) -> float | None:
        return self._share(self.actual)


def _period(start: datetime, end: datetime | None) -> list[ColumnElement[bool]]:
    return [Score.started_at >= start] + ([Score.started_at < end] if end is not None else [])


def _pairs(columns: Sequence[Any], *conditions: ColumnElement[bool]) -> Select[Any]:
    """Self-ratings joined to the caller's score of the same call, credited to the same agent."""
    return (
        select(*columns)
        .select_from(SelfRating)
        .join(SurveyResponse, SurveyResponse.call_id == SelfRating.call_id)
        .join(Score, Score.response_id == SurveyResponse.id)
        .where(SelfRating.agent_id == Score.agent_id, Score.csat.is_not(None), *conditions)
    )


def _gap_columns() -> list[Any]:
    blind = SelfRating.blind.is_(True)

    def count_when(*condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((and_(blind, *condition), 1), else_=0)), 0)

    return [
        count_when(),
        *(count_when(SelfRating.rating == point) for point in RATINGS),
        *(count_when(Score.csat == point) for point in RATINGS),
        count_when(SelfRating.rating >= SATISFIED, Score.csat < SATISFIED),
        count_when(SelfRating.rating < SATISFIED, Score.csat >= SATISFIED),
        func.avg(case((blind, func.abs(SelfRating.rating - Score.csat)), else_=None)),
        func.coalesce(func.sum(case((SelfRating.late.is_(True), 1), else_=0)), 0),
    ]


def _gap_from(row: Sequence[Any]) -> Gap:
    counts = [int(value) for value in (*row[:13], row[14])]
    mad = row[13]
    return Gap(
        pairs=counts[0],
        predicted={p: counts[p] for p in RATINGS},
        actual={p: counts[5 + p] for p in RATINGS},
        expected_satisfied_was_not=counts[11],
        expected_unhappy_was_satisfied=counts[12],
        mean_absolute_difference=float(mad) if mad is not None else None,
        late=counts[13],
    )


def gap(agent_id: int, start: datetime, end: datetime | None = None) -> Gap:
    """The agent's view against the callers' for calls started in [start, end), in one query."""
    row = db.session.execute(_pairs(_gap_columns(), Score.agent_id == agent_id, *_period(start, end))).one()
    return _gap_from(row)


@dataclass(frozen=True)
class AgentGap:
    agent_id: int
    name: str
    gap: Gap


def _sum(gaps: Sequence[Gap]) -> Gap:
    pairs = sum(g.pairs for g in gaps)
    weighted = sum((g.mean_absolute_difference or 0.0) * g.pairs for g in gaps)
    return Gap(
        pairs=pairs,
        predicted={p: sum(g.predicted[p] for g in gaps) for p in RATINGS},
        actual={p: sum(g.actual[p] for g in gaps) for p in RATINGS},
        expected_satisfied_was_not=sum(g.expected_satisfied_was_not for g in gaps),
        expected_unhappy_was_satisfied=sum(g.expected_unhappy_was_satisfied for g in gaps),
        mean_absolute_difference=weighted / pairs if pairs else None,
        late=sum(g.late for g in gaps),
    )


def team_gaps(
    principal: Principal, start: datetime, end: datetime | None, team_id: int | None = None
) -> tuple[Gap, list[AgentGap]]:
    """The gap of every agent the principal may see (of one team, if given), and all of them."""
    query = _pairs([Score.agent_id, *_gap_columns()], *_period(start, end)).group_by(Score.agent_id)
    if team_id is not None:
        query = query.where(Score.agent_id.in_(select(Agent.id).where(Agent.team_id == team_id)))
    found = {row[0]: _gap_from(row[1:]) for row in db.session.execute(policy.scope_scores(principal, query))}
    names = dict(
        db.session.execute(
            select(Agent.id, func.coalesce(Agent.display_name, Agent.ref)).where(Agent.id.in_(list(found)))
        ).all()
    )
    rows = sorted(
        (
            AgentGap(agent_id, names.get(agent_id, "?"), g)
            for agent_id, g in found.items()
            if g.pairs or g.late
        ),
        key=lambda row: (-(row.gap.mean_absolute_difference or 0.0), row.name),
    )
    return _sum(list(found.values())), rows


@dataclass(frozen=True)
class CoachingMoment:
    call_id: int
    started_at: datetime
    rating: int
    csat: int
    verbatim: str | None
    agent: str = ""


def coaching_moments(agent_id: int, start: datetime, limit: int = 5) -> list[CoachingMoment]:
    """The agent's biggest blind misses (they said 5, the caller 1, and so on), newest first."""
    return _moments(Score.agent_id == agent_id, start, limit, None)


def team_coaching_moments(
    principal: Principal, start: datetime, team_id: int | None = None, limit: int = 10
) -> list[CoachingMoment]:
    """The biggest blind misses of the agents the principal may see (a supervisor: their teams')."""
    return _moments(None, start, limit, (principal, team_id))


def _moments(
    only: ColumnElement[bool] | None, start: datetime, limit: int, scope: tuple[Principal, int | None] | None
) -> list[CoachingMoment]:
    query = (
        _pairs(
            [
                SelfRating.call_id,
                Score.started_at,
                SelfRating.rating,
                Score.csat,
                FeedbackItem.verbatim,
                func.coalesce(Agent.display_name, Agent.ref),
            ],
            *_period(start, None),
            SelfRating.blind.is_(True),
            func.abs(SelfRating.rating - Score.csat) >= MISS,
        )
        .join(Agent, Agent.id == Score.agent_id)
        .outerjoin(
            FeedbackItem,
            and_(FeedbackItem.response_id == SurveyResponse.id, FeedbackItem.agent_id == Score.agent_id),
        )
        .order_by(Score.started_at.desc())
        .limit(limit)
    )
    if only is not None:
        query = query.where(only)
    if scope is not None:
        principal, team_id = scope
        query = policy.scope_scores(principal, query)
        if team_id is not None:
            query = query.where(Agent.team_id == team_id)
    return [
        CoachingMoment(c, as_utc(at), r, s or 0, v, name)
        for c, at, r, s, v, name in db.session.execute(query)
    ]
