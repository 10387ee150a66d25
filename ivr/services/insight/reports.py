"""Report queries: distributions and extremes, never only an average.

Used by the supervisors' views and timed at scale by bench/.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select

from ivr.extensions import db
from ivr.models import Agent, Score, SurveyResponse, utcnow
from ivr.services.closed_loop import recovery
from ivr.services.errors import Invalid
from ivr.services.insight import dashboard, filters
from ivr.services.insight.measures import PERIOD_CHOICES, Counts, Interval, period_for
from ivr.services.policy import Principal

CSAT_BOTTOM_BOX = 2  # 1-2 on a 1-5 scale
CSAT_TOP_BOX = 4  # 4-5


@dataclass
class Distribution:
    """CSAT counts per point of the scale, with bottom-box and top-box shares."""

    counts: dict[int, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def bottom_box(self) -> float | None:
        low = sum(n for value, n in self.counts.items() if value <= CSAT_BOTTOM_BOX)
        return low / self.total if self.total else None

    @property
    def top_box(self) -> float | None:
        high = sum(n for value, n in self.counts.items() if value >= CSAT_TOP_BOX)
        return high / self.total if self.total else None


@dataclass(frozen=True)
class DailyPoint:
    queue: str | None
    day: date
    responses: int
    csat_mean: float | None
    bottom_box: int
    promoters: int
    detractors: int
    nps_answers: int

    @property
    def nps(self) -> float | None:
        if not self.nps_answers:
            return None
        return 100.0 * (self.promoters - self.detractors) / self.nps_answers


def _since(days: int) -> datetime:
    return utcnow() - timedelta(days=days)


def agent_csat_distribution(agent_ref: str, days: int = 30) -> Distribution:
    agent_id = select(Agent.id).where(Agent.ref == agent_ref).scalar_subquery()
    rows = db.session.execute(
        select(Score.csat, func.count())
        .where(Score.agent_id == agent_id, Score.started_at >= _since(days), Score.csat.is_not(None))
        .group_by(Score.csat)
    ).all()
    return Distribution({int(csat or 0): int(n) for csat, n in rows})


def team_csat_distributions(days: int = 30) -> dict[str, Distribution]:
    """Every agent's CSAT distribution over the period, keyed by agent reference."""
    counts = (
        select(Score.agent_id, Score.csat, func.count().label("n"))
        .where(Score.started_at >= _since(days), Score.csat.is_not(None), Score.agent_id.is_not(None))
        .group_by(Score.agent_id, Score.csat)
        .subquery()
    )
    # Aggregate first, then name the agents: the join touches a few thousand rows, not the period.
    rows = db.session.execute(
        select(Agent.ref, counts.c.csat, counts.c.n).join(counts, Agent.id == counts.c.agent_id)
    )
    result: dict[str, Distribution] = {}
    for ref, csat, n in rows:
        result.setdefault(ref, Distribution()).counts[int(csat or 0)] = int(n)
    return result


def queue_daily_trend(days: int = 30, queue: str | None = None) -> list[DailyPoint]:
    day = func.date(Score.started_at)
    query: Any = (
        select(
            Score.queue,
            day,
            func.count(),
            func.avg(Score.csat),
            func.sum(case((Score.csat <= CSAT_BOTTOM_BOX, 1), else_=0)),
            # The category scoring decided (closed_loop.scoring.nps_category), not the cut-offs again.
            func.sum(case((Score.nps_category == "promoter", 1), else_=0)),
            func.sum(case((Score.nps_category == "detractor", 1), else_=0)),
            func.count(Score.nps),
        )
        .where(Score.started_at >= _since(days))
        # No ORDER BY: PostgreSQL cannot estimate the number of (queue, day) groups and would
        # sort the whole period (spilling to disk) instead of hashing a few hundred groups.
        .group_by(Score.queue, day)
    )
    if queue is not None:
        query = query.where(Score.queue == queue)
    points = []
    for queue_name, raw_day, n, mean, bottom, promoters, detractors, nps_n in db.session.execute(query):
        points.append(
            DailyPoint(
                queue=queue_name,
                day=raw_day if isinstance(raw_day, date) else date.fromisoformat(str(raw_day)),
                responses=int(n),
                csat_mean=float(mean) if mean is not None else None,
                bottom_box=int(bottom or 0),
                promoters=int(promoters or 0),
                detractors=int(detractors or 0),
                nps_answers=int(nps_n),
            )
        )
    return sorted(points, key=lambda point: (point.queue or "", point.day))


def unscored_final_responses() -> int:
    """Finished responses still waiting for their score: the work queue a supervisor worries about."""
    return int(db.session.scalar(select(func.count()).where(SurveyResponse.awaiting_score())) or 0)


# --- the dashboard as JSON, for BI tools (GET /api/reports/dashboard)


def _numbers(counts: Counts) -> dict[str, Any]:
    return {
        "responses": counts.responses,
        "csat": {str(point): n for point, n in counts.csat.items()},
        "bottom_box": counts.bottom_box_share,
        "top_box": counts.top_box_share,
        "nps": counts.nps,
        "promoters": counts.promoters,
        "passives": counts.passives,
        "detractors": counts.detractors,
        "resolution_rate": counts.resolution_rate,
        "effort": counts.effort,
        "extreme_lows": counts.extreme_lows,
    }


def _slice(found: dashboard.Slice) -> dict[str, Any]:
    return {
        "name": found.label,
        "current": _numbers(found.current),
        "previous": _numbers(found.previous),
        "offered": found.offered,
        "answered": found.answered,
        "response_rate": found.response_rate,
        "tasks_open": found.tasks.open,
        "tasks_overdue": found.tasks.overdue,
        "tasks_closed": found.tasks.closed,
        "median_close_seconds": found.tasks.median_close_seconds,
    }


def _interval(found: Interval | None) -> dict[str, float] | None:
    return None if found is None else {"low": found.low, "high": found.high}


def dashboard_report(
    principal: Principal, choice: str, first: str | None, last: str | None, team: str | None
) -> dict[str, Any]:
    """The dashboard's numbers; Invalid (naming the parameter) for a bad period or a team the
    principal may not see."""
    now = utcnow()
    if choice not in PERIOD_CHOICES and choice != "custom":
        raise Invalid(f"period: one of {', '.join(PERIOD_CHOICES)} or custom", "period")
    bounds = None
    if choice == "custom":
        if not (first and last):
            raise Invalid("start and end: a custom period needs both", "start")
        bounds = filters.parse({"start": first, "end": last}, now)
    period = period_for(choice, now, bounds.start if bounds else None, bounds.end if bounds else None)
    chosen: int | str | None = None
    if team:
        allowed = {str(team_id): team_id for team_id, _ in dashboard.team_choices(principal)}
        if team not in allowed:
            raise Invalid(f"team: no team {team} that this key may see", "team")
        chosen = allowed[team]
    board = dashboard.build(principal, period, chosen, now)
    return {
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "previous_start": period.previous.start.isoformat(),
        "total": _slice(board.total),
        "teams": [_slice(found) for found in board.teams],
        "queues": [_slice(found) for found in board.queues],
        "agents": [
            {
                "agent_id": row.agent_id,
                "name": row.name,
                "team": row.team,
                "rank": row.rank,
                "current": _numbers(row.current),
                "previous": _numbers(row.previous),
                "top_box_interval": _interval(row.top_box),
                "bottom_box_interval": _interval(row.bottom_box),
            }
            for row in board.league
        ],
        "recovery": _recovery(recovery.recovery(principal, period.start, period.end, team_id_of(chosen))),
    }


def team_id_of(chosen: int | str | None) -> int | None:
    """The one team chosen, if any (not "no team")."""
    return chosen if isinstance(chosen, int) else None


def _recovery(found: recovery.Recovery) -> dict[str, Any]:
    def row(r: recovery.RecoveryRow) -> dict[str, Any]:
        return {
            "label": r.label,
            "followed_up": r.followed_up,
            "answered": r.answered,
            "recovered": r.recovered,
            "rate": r.rate,
        }

    return {
        "total": row(found.total),
        "by_team": [row(r) for r in found.by_team],
        "by_supervisor": [row(r) for r in found.by_supervisor],
        "by_root_cause": [row(r) for r in found.by_root_cause],
        "by_outcome": [row(r) for r in found.by_outcome],
    }
