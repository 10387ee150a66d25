"""Supervisors' weekly forecasts: the share of their team's callers they expect to be satisfied,
stated once at the start of a week, against the share of callers who said so (CSAT 4-5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError

from ivr.extensions import db
from ivr.models import Agent, Forecast, Role, Score, Team, utcnow
from ivr.services.errors import Conflict, Invalid, NotFound
from ivr.services.policy import Principal

WEEKS_SHOWN = 8


def week_of(moment: datetime) -> date:
    """The Monday (UTC) that starts the week of `moment`."""
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def state(principal: Principal, team_id: int, percent: float | None, now: datetime | None = None) -> Forecast:
    """The supervisor's forecast for one of their teams, this week; once a week per team."""
    if not principal.has(Role.supervisor) or team_id not in principal.team_ids or principal.user_id is None:
        raise NotFound("you supervise no such team")
    if percent is None or not 0 <= percent <= 100:
        raise Invalid("say what share of callers you expect to be satisfied, from 0 to 100%", "share")
    forecast = Forecast(
        team_id=team_id,
        week_start=week_of(now or utcnow()),
        top_box_share=percent / 100,
        stated_by_id=principal.user_id,
    )
    db.session.add(forecast)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("this week's forecast for that team is already stated", "share") from None
    return forecast


@dataclass(frozen=True)
class ForecastRow:
    team: str
    week_start: date
    expected: float
    # What callers said that week: CSAT 4-5 of all CSAT answers (None: no answers yet).
    satisfied: int
    answers: int
    stated_by: str

    @property
    def actual(self) -> float | None:
        return self.satisfied / self.answers if self.answers else None


def compared(principal: Principal, team_ids: list[int], now: datetime | None = None) -> list[ForecastRow]:
    """The last WEEKS_SHOWN weeks' forecasts of these teams against what their callers said."""
    since = week_of(now or utcnow()) - timedelta(weeks=WEEKS_SHOWN - 1)
    forecasts = db.session.scalars(
        select(Forecast)
        .where(Forecast.team_id.in_(team_ids), Forecast.week_start >= since)
        .order_by(Forecast.week_start.desc(), Forecast.team_id)
    ).all()
    rows = []
    for forecast in forecasts:
        start = datetime.combine(forecast.week_start, time(), tzinfo=UTC)
        satisfied, answers = db.session.execute(
            select(
                func.coalesce(func.sum(case((Score.csat_top_box.is_(True), 1), else_=0)), 0),
                func.count(Score.csat),
            )
            .join(Agent, Agent.id == Score.agent_id)
            .where(
                Agent.team_id == forecast.team_id,
                Score.started_at >= start,
                Score.started_at < start + timedelta(weeks=1),
            )
        ).one()
        rows.append(
            ForecastRow(
                forecast.team.name,
                forecast.week_start,
                forecast.top_box_share,
                int(satisfied),
                int(answers),
                forecast.stated_by.label,
            )
        )
    return rows


def teams_to_forecast(principal: Principal, now: datetime | None = None) -> list[tuple[int, str, bool]]:
    """The supervisor's teams: (id, name, already forecast this week)."""
    if not principal.has(Role.supervisor) or not principal.team_ids:
        return []
    week = week_of(now or utcnow())
    done = set(
        db.session.scalars(
            select(Forecast.team_id).where(
                Forecast.week_start == week, Forecast.team_id.in_(principal.team_ids)
            )
        )
    )
    teams = db.session.execute(
        select(Team.id, Team.name).where(Team.id.in_(principal.team_ids)).order_by(Team.name)
    ).all()
    return [(team_id, name, team_id in done) for team_id, name in teams]
