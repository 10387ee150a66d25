"""The team dashboard: a period against the one before, per team and per queue, the agents'
league table, survey-offer rates, callers at risk and weekly trends.

Every number is a SQL aggregate over the scores fact table (grouped, never rows counted in
Python) under the policy's scope, and each carries the ResponseFilter that lists exactly the
responses behind it in the explorer.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, or_, select, text

from ivr.extensions import db
from ivr.models import (
    Agent,
    AgentLeg,
    AgentScoreDay,
    Call,
    CallbackTask,
    OfferDay,
    QueueScoreDay,
    Score,
    SurveyResponse,
    TaskStatus,
    Team,
    as_utc,
    utcnow,
)
from ivr.services import policy
from ivr.services.consent.privacy import mask
from ivr.services.insight import measures, rollups
from ivr.services.insight.filters import NONE, ResponseFilter, score_conditions, team_agents
from ivr.services.insight.measures import Counts, Interval, Period, wilson
from ivr.services.policy import Principal

WORK_MEM = "64MB"
MIN_RANKED = 10  # fewer responses than this: shown greyed, never ranked
AT_RISK_DAYS = 30
AT_RISK_LOWS = 2


@dataclass
class TaskCounts:
    open: int = 0
    overdue: int = 0
    closed: int = 0
    median_close_seconds: float | None = None

    def add(self, other: TaskCounts) -> None:
        self.open += other.open
        self.overdue += other.overdue
        self.closed += other.closed


@dataclass
class Slice:
    """One row of the team or queue table: its numbers now and before, and its filter."""

    label: str
    filter: ResponseFilter
    current: Counts = field(default_factory=Counts)
    previous: Counts = field(default_factory=Counts)
    offered: int = 0
    answered: int = 0
    tasks: TaskCounts = field(default_factory=TaskCounts)

    @property
    def response_rate(self) -> float | None:
        return measures.share(self.answered, self.offered)

    def change(self, measure: str) -> float | None:
        now, before = getattr(self.current, measure), getattr(self.previous, measure)
        return None if now is None or before is None else float(now - before)


@dataclass(frozen=True)
class LeagueRow:
    agent_id: int
    name: str
    team: str | None
    current: Counts
    previous: Counts
    top_box: Interval | None
    bottom_box: Interval | None
    filter: ResponseFilter
    rank: int | None = None

    @property
    def ranked(self) -> bool:
        return self.current.csat_answers >= MIN_RANKED

    def change(self, measure: str) -> float | None:
        now, before = getattr(self.current, measure), getattr(self.previous, measure)
        return None if now is None or before is None else now - before


@dataclass(frozen=True)
class OfferRow:
    agent_id: int
    name: str
    answered_calls: int
    surveyed_calls: int

    @property
    def rate(self) -> float | None:
        return measures.share(self.surveyed_calls, self.answered_calls)


@dataclass(frozen=True)
class RiskTask:
    id: int
    status: str
    overdue: bool


@dataclass(frozen=True)
class AtRiskCaller:
    caller: str  # masked
    lows: int
    last_low: datetime
    filter: ResponseFilter
    tasks: list[RiskTask]


@dataclass(frozen=True)
class TrendWeek:
    week: int  # 1: the period's first week
    current: Counts
    previous: Counts


@dataclass
class Dashboard:
    period: Period
    base: ResponseFilter  # the selected teams over the current period
    teams: list[Slice]
    queues: list[Slice]
    total: Slice
    league: list[LeagueRow]
    offers: list[OfferRow]
    at_risk: list[AtRiskCaller]
    trend: list[TrendWeek]


def _periods(f: ResponseFilter, period: Period) -> list[tuple[str, ResponseFilter]]:
    """The filter over the period and over the one before. Two queries, not one grouped by a
    CASE on the time: PostgreSQL cannot estimate such groups and would sort every row."""
    return [("current", f), ("previous", f.but(start=period.previous.start, end=period.start))]


def _scored(principal: Principal, query: Any, f: ResponseFilter) -> Any:
    return policy.scope_scores(principal, query.where(*score_conditions(f)))


def _agent_day_conditions(f: ResponseFilter) -> list[ColumnElement[bool]]:
    """score_conditions() for the rollups of whole days (the dashboard's filters only)."""
    whole = rollups.whole_days(f.start, f.end)
    assert whole is not None
    found: list[ColumnElement[bool]] = [AgentScoreDay.day >= whole[0], AgentScoreDay.day < whole[1]]
    if f.team is not None:
        in_team = AgentScoreDay.agent_id.in_(team_agents(f.team))
        found.append(or_(in_team, AgentScoreDay.agent_id.is_(None)) if f.team == NONE else in_team)
    if f.agent is not None:
        found.append(AgentScoreDay.agent_id == f.agent)
    return found


def _edges(f: ResponseFilter) -> tuple[ResponseFilter | None, list[ResponseFilter]]:
    """The filter over the period's whole UTC days (None: no whole day), and over its edges."""
    whole = rollups.whole_days(f.start, f.end)
    if whole is None:
        return None, [f]
    first, last = rollups.midnight(whole[0]), rollups.midnight(whole[1])
    edges = []
    if f.start < first:
        edges.append(f.but(end=first))
    if last < f.end:
        edges.append(f.but(start=last))
    return f, edges


# Within one dashboard, what its parts read alike is read once: (kind, bounds...) -> rows.
Memo = dict[tuple[Any, ...], Any]


def _agent_days(principal: Principal, whole: ResponseFilter, memo: Memo | None) -> list[AgentDays]:
    """Per agent over the filter's whole days, from the rollups: the counts, and the surveys
    offered and answered. The team slices, the league table and the response rates all add
    these up (the team is the agent's team now, as the scores' own aggregates count it)."""
    key = ("agent days", whole.start, whole.end, whole.team, whole.agent)
    if memo is not None and key in memo:
        return memo[key]  # type: ignore[no-any-return]
    query: Any = (
        select(
            AgentScoreDay.agent_id,
            *rollups.sums(AgentScoreDay),
            func.sum(AgentScoreDay.offered),
            func.sum(AgentScoreDay.answered),
        )
        .where(*_agent_day_conditions(whole))
        .group_by(AgentScoreDay.agent_id)
    )
    rows = [
        AgentDays(row[0], measures.counts_from(row[1:-2]), int(row[-2] or 0), int(row[-1] or 0))
        for row in db.session.execute(policy.scope_agent_days(principal, query))
    ]
    if memo is not None:
        memo[key] = rows
    return rows


@dataclass(frozen=True)
class AgentDays:
    agent_id: int | None
    counts: Counts
    offered: int
    answered: int


def _teams_of(rows: list[AgentDays], memo: Memo | None) -> dict[int, int | None]:
    """Each agent's team now."""
    key = ("teams",)
    known: dict[int, int | None] = memo.setdefault(key, {}) if memo is not None else {}
    missing = [row.agent_id for row in rows if row.agent_id is not None and row.agent_id not in known]
    if missing:
        agents = select(Agent.id, Agent.team_id).where(Agent.id.in_(missing))
        known.update((agent_id, team_id) for agent_id, team_id in db.session.execute(agents))
    return known


def _by_team(rows: list[AgentDays], memo: Memo | None) -> dict[int | None, list[AgentDays]]:
    teams = _teams_of(rows, memo)
    grouped: dict[int | None, list[AgentDays]] = {}
    for row in rows:
        grouped.setdefault(teams.get(row.agent_id) if row.agent_id is not None else None, []).append(row)
    return grouped


def counted(
    principal: Principal, f: ResponseFilter, by: str, memo: Memo | None = None
) -> list[tuple[Any, Counts]]:
    """The period's counts grouped by "team" (the agent's team now), "agent", "day" or "queue":
    the whole days summed from the daily rollups, the edges counted from the scores. A key may
    come twice (a day's rollup and an edge); the caller adds them up."""
    # The rollups know the day, the agent (so the team) and the queue: other filters count scores.
    unfiltered = f == ResponseFilter(start=f.start, end=f.end, team=f.team, agent=f.agent)
    whole, edges = _edges(f) if unfiltered else (None, [f])
    everything = principal.sees_everything and f.team is None and f.agent is None
    if by == "queue" and not everything:
        # Queues per team are not rolled up: one team's scores are few, read through its agents.
        whole, edges = None, [f]
    found: list[tuple[Any, Counts]] = []
    if whole is not None:
        if by == "agent":
            found += [(row.agent_id, row.counts) for row in _agent_days(principal, whole, memo)]
        elif by == "team":
            for team_id, members in _by_team(_agent_days(principal, whole, memo), memo).items():
                total = Counts()
                for member in members:
                    total.add(member.counts)
                found.append((team_id, total))
        else:
            # Everyone's days: the queues' rows add up to the agents' and are far fewer.
            rollup = QueueScoreDay if by == "queue" or everything else AgentScoreDay
            first, last = rollups.whole_days(whole.start, whole.end) or (None, None)
            key: Any = rollup.day if by == "day" else QueueScoreDay.queue
            query: Any = select(key, *rollups.sums(rollup)).group_by(key)
            if rollup is QueueScoreDay:
                query = query.where(QueueScoreDay.day >= first, QueueScoreDay.day < last)
            else:
                query = policy.scope_agent_days(principal, query.where(*_agent_day_conditions(whole)))
            found += [(row[0], measures.counts_from(row[1:])) for row in db.session.execute(query)]
    for edge in edges:
        key = {
            "team": Agent.team_id,
            "agent": Score.agent_id,
            "day": func.date(Score.started_at),
            "queue": Score.queue,
        }[by]
        query = select(key, *measures.columns()).select_from(Score).group_by(key)
        if by == "team":
            query = query.outerjoin(Agent, Agent.id == Score.agent_id)
        rows = db.session.execute(_scored(principal, query, edge))
        found += [(row[0], measures.counts_from(row[1:])) for row in rows]
    return found


def team_choices(principal: Principal) -> list[tuple[int, str]]:
    query: Any = select(Team.id, Team.name).order_by(Team.name)
    query = policy.scope_teams(principal, query)
    return [(team_id, name) for team_id, name in db.session.execute(query)]


def build(
    principal: Principal, period: Period, team: int | str | None = None, now: datetime | None = None
) -> Dashboard:
    now = now or utcnow()
    # First: it may store the offer counts of days settled since (and commit).
    offers = offer_rates(principal, period, team)
    if db.engine.dialect.name == "postgresql":
        # A period's scores are grouped in memory: with the default 4 MB, 90 days of every team
        # would be sorted on disk. For this transaction only.
        db.session.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    base = ResponseFilter(start=period.start, end=period.end, team=team)
    names = dict(team_choices(principal))
    memo: Memo = {}

    teams: dict[Any, Slice] = {}
    queues: dict[Any, Slice] = {}
    total = Slice(
        "All teams shown"
        if team is None
        else names.get(team, "No team")
        if isinstance(team, int)
        else "No team",
        base,
    )

    def team_slice(team_id: int | None) -> Slice:
        key = team_id if team_id is not None else NONE
        if key not in teams:
            teams[key] = Slice(names.get(team_id, "No team") if team_id else "No team", base.but(team=key))
        return teams[key]

    def queue_slice(queue: str | None) -> Slice:
        key = queue if queue is not None else NONE
        if key not in queues:
            queues[key] = Slice(queue or "No queue", base.but(queue=key))
        return queues[key]

    # Per team and per queue, one period at a time: whole days from the daily rollups, the
    # edges (today so far, a custom bound within a day) from the scores.
    for which, f in _periods(base, period):
        for team_id, counts in counted(principal, f, "team", memo):
            for target in (team_slice(team_id), total):
                getattr(target, which).add(counts)
        for queue, counts in counted(principal, f, "queue", memo):
            getattr(queue_slice(queue), which).add(counts)

    _response_rates(principal, base, memo, team_slice=team_slice, queue_slice=queue_slice, total=total)
    _tasks(principal, base, now, team_slice, queue_slice, total)
    league = league_table(principal, period, base, memo)
    return Dashboard(
        period=period,
        base=base,
        teams=sorted(teams.values(), key=lambda s: s.label),
        queues=sorted(queues.values(), key=lambda s: s.label),
        total=total,
        league=league,
        offers=offers,
        at_risk=callers_at_risk(principal, team, now),
        trend=weekly_trend(principal, period, base, memo),
    )


def _response_rates(
    principal: Principal, base: ResponseFilter, memo: Memo, team_slice: Any, queue_slice: Any, total: Slice
) -> None:
    """Offered surveys and answered ones in the period, from the responses' dispositions: whole
    days from the daily rollups, the edges from the responses themselves."""
    for by in ("team", "queue"):
        for key, n_offered, n_answered in offered(principal, base, by, memo):
            for target in (team_slice(key), total) if by == "team" else (queue_slice(key),):
                target.offered += n_offered
                target.answered += n_answered


def offered(
    principal: Principal, f: ResponseFilter, by: str, memo: Memo | None = None
) -> list[tuple[Any, int, int]]:
    """Surveys offered and answered over the filter's period and team, by "team" or "queue"."""
    whole, edges = _edges(f)
    if by == "queue" and not (principal.sees_everything and f.team is None):
        whole, edges = None, [f]
    found: list[tuple[Any, int, int]] = []
    query: Any
    if whole is not None:
        first, last = rollups.whole_days(whole.start, whole.end) or (None, None)
        if by == "queue":
            query = (
                select(QueueScoreDay.queue, func.sum(QueueScoreDay.offered), func.sum(QueueScoreDay.answered))
                .where(QueueScoreDay.day >= first, QueueScoreDay.day < last)
                .group_by(QueueScoreDay.queue)
            )
            found += [(key, int(n or 0), int(a or 0)) for key, n, a in db.session.execute(query)]
        else:
            days = whole.but(agent=None) if whole.agent is not None else whole
            for team_id, members in _by_team(_agent_days(principal, days, memo), memo).items():
                found.append((team_id, sum(m.offered for m in members), sum(m.answered for m in members)))
    for edge in edges:
        key = Agent.team_id if by == "team" else SurveyResponse.queue
        query = (
            select(key, *rollups.offered_columns())
            .select_from(SurveyResponse)
            .where(SurveyResponse.started_at >= edge.start, SurveyResponse.started_at < edge.end)
            .group_by(key)
        )
        if by == "team":
            query = query.outerjoin(Agent, Agent.id == SurveyResponse.agent_id)
        if edge.team is not None:
            # As the counts have it: responses without an agent are "No team"'s.
            in_team = SurveyResponse.agent_id.in_(team_agents(edge.team))
            query = query.where(
                or_(in_team, SurveyResponse.agent_id.is_(None)) if edge.team == NONE else in_team
            )
        rows = db.session.execute(policy.scope_responses(principal, query))
        found += [(key, int(n), int(a)) for key, n, a in rows]
    return found


def _close_seconds() -> Any:
    if db.engine.dialect.name == "postgresql":
        return func.extract("epoch", CallbackTask.closed_at - CallbackTask.created_at)
    return (func.julianday(CallbackTask.closed_at) - func.julianday(CallbackTask.created_at)) * 86400.0


def _tasks(
    principal: Principal, base: ResponseFilter, now: datetime, team_slice: Any, queue_slice: Any, total: Slice
) -> None:
    """Callback tasks of the period's extreme lows: open, overdue, closed, median time to close."""
    not_done = CallbackTask.status != TaskStatus.done
    query = (
        select(
            Agent.team_id,
            Score.queue,
            func.coalesce(func.sum(case((not_done, 1), else_=0)), 0),
            func.coalesce(func.sum(case(((not_done) & (CallbackTask.due_at < now), 1), else_=0)), 0),
            func.coalesce(func.sum(case((CallbackTask.status == TaskStatus.done, 1), else_=0)), 0),
        )
        .select_from(Score)
        .join(CallbackTask, CallbackTask.response_id == Score.response_id)
        .outerjoin(Agent, Agent.id == Score.agent_id)
        .group_by(Agent.team_id, Score.queue)
    )
    for team_id, queue, n_open, n_overdue, n_closed in db.session.execute(_scored(principal, query, base)):
        counts = TaskCounts(int(n_open), int(n_overdue), int(n_closed))
        for target in (team_slice(team_id), queue_slice(queue), total):
            target.tasks.add(counts)
    # The median time to close: the middle row(s) by duration, found by window functions.
    seconds = _close_seconds().label("seconds")
    durations = (
        select(
            Agent.team_id.label("team_id"),
            seconds,
            func.row_number().over(partition_by=Agent.team_id, order_by=seconds).label("position"),
            func.count().over(partition_by=Agent.team_id).label("n"),
        )
        .select_from(Score)
        .join(CallbackTask, CallbackTask.response_id == Score.response_id)
        .outerjoin(Agent, Agent.id == Score.agent_id)
        .where(CallbackTask.status == TaskStatus.done, CallbackTask.closed_at.is_not(None))
    )
    ranked = _scored(principal, durations, base).subquery()
    middle = ranked.c.position.in_([(ranked.c.n + 1) / 2, (ranked.c.n + 2) / 2])
    medians = select(ranked.c.team_id, func.avg(ranked.c.seconds)).where(middle).group_by(ranked.c.team_id)
    for team_id, median in db.session.execute(medians):
        team_slice(team_id).tasks.median_close_seconds = float(median)
    overall = (
        select(
            seconds,
            func.row_number().over(order_by=seconds).label("position"),
            func.count().over().label("n"),
        )
        .select_from(Score)
        .join(CallbackTask, CallbackTask.response_id == Score.response_id)
        .where(CallbackTask.status == TaskStatus.done, CallbackTask.closed_at.is_not(None))
    )
    ranked_all = _scored(principal, overall, base).subquery()
    middle_all = ranked_all.c.position.in_([(ranked_all.c.n + 1) / 2, (ranked_all.c.n + 2) / 2])
    median_all = db.session.scalar(select(func.avg(ranked_all.c.seconds)).where(middle_all))
    total.tasks.median_close_seconds = float(median_all) if median_all is not None else None


def league_table(
    principal: Principal, period: Period, base: ResponseFilter, memo: Memo | None = None
) -> list[LeagueRow]:
    """Every agent with scores in the period: n, top and bottom box with 95% Wilson intervals,
    the change on the period before. Ranked by the interval's lower bound of the top box (so
    4 of 4 does not beat 90 of 100); agents with fewer than MIN_RANKED answers are not ranked."""
    found: dict[int, dict[str, Counts]] = {}
    for which, f in _periods(base, period):
        for agent_id, counts in counted(principal, f, "agent", memo):
            if agent_id is not None:
                found.setdefault(agent_id, {}).setdefault(which, Counts()).add(counts)
    if not found:
        return []
    agents = db.session.execute(
        select(Agent.id, Agent.display_name, Agent.ref, Team.name)
        .outerjoin(Team, Team.id == Agent.team_id)
        .where(Agent.id.in_(list(found)))
    ).all()
    rows = []
    for agent_id, display_name, ref, team_name in agents:
        current = found[agent_id].get("current", Counts())
        if not current.responses:
            continue  # nothing this period: not in this period's table
        rows.append(
            LeagueRow(
                agent_id=agent_id,
                name=display_name or ref,
                team=team_name,
                current=current,
                previous=found[agent_id].get("previous", Counts()),
                top_box=wilson(current.top_box, current.csat_answers),
                bottom_box=wilson(current.bottom_box, current.csat_answers),
                filter=base.but(agent=agent_id),
            )
        )

    def order(row: LeagueRow) -> tuple[bool, float, str]:
        return (not row.ranked, -(row.top_box.low if row.top_box else 0.0), row.name)

    rows.sort(key=order)
    return [replace(row, rank=index + 1) if row.ranked else row for index, row in enumerate(rows)]


def offer_rates(principal: Principal, period: Period, team: int | str | None) -> list[OfferRow]:
    """Per agent: calls they answered (front door and Dial-action hand-offs alike record an agent
    leg) and how many of those calls reached a survey. An agent who keeps unhappy callers away
    from the survey shows a low rate. Settled days are counted once (rollups.OfferDay), the
    rest of the period from the legs."""
    counts: dict[int, list[int]] = {}

    def add(rows: Any) -> None:
        for agent_id, n, s in db.session.execute(rows):
            found = counts.setdefault(agent_id, [0, 0])
            found[0] += int(n)
            found[1] += int(s)

    settled = rollups.settled_days(period.start, period.end, utcnow())
    live = [(period.start, period.end)]
    if settled is not None and rollups.count_offer_days(*settled):
        first, last = settled
        query: Any = (
            select(OfferDay.agent_id, func.sum(OfferDay.answered), func.sum(OfferDay.surveyed))
            .where(OfferDay.agent_id.is_not(None), OfferDay.day >= first, OfferDay.day < last)
            .group_by(OfferDay.agent_id)
        )
        if team is not None:
            query = query.where(OfferDay.agent_id.in_(team_agents(team)))
        add(policy.scope_offer_days(principal, query))
        live = [(period.start, rollups.midnight(first)), (rollups.midnight(last), period.end)]
    for start, end in live:
        if start < end:
            query = rollups.leg_counts(start, end)
            if team is not None:
                query = query.where(AgentLeg.agent_id.in_(team_agents(team)))
            add(policy.scope_agent_legs(principal, query))
    if not counts:
        return []
    names = db.session.execute(
        select(Agent.id, Agent.display_name, Agent.ref).where(Agent.id.in_(list(counts)))
    )
    rows = [OfferRow(agent_id, name or ref, *counts[agent_id]) for agent_id, name, ref in names]
    return sorted(rows, key=lambda row: (row.rate if row.rate is not None else 1.0, row.name))


def callers_at_risk(principal: Principal, team: int | str | None, now: datetime) -> list[AtRiskCaller]:
    """Callers with AT_RISK_LOWS or more extreme lows in the last AT_RISK_DAYS days, and their tasks."""
    window = ResponseFilter(start=now - timedelta(days=AT_RISK_DAYS), end=now, team=team, extreme="low")
    query = (
        select(Call.from_hash, func.max(Call.from_number), func.count(), func.max(Score.started_at))
        .select_from(Score)
        .join(SurveyResponse, SurveyResponse.id == Score.response_id)
        .join(Call, Call.id == SurveyResponse.call_id)
        .where(Call.from_hash.is_not(None))
        .group_by(Call.from_hash)
        .having(func.count() >= AT_RISK_LOWS)
        .order_by(func.count().desc(), func.max(Score.started_at).desc())
        .limit(50)
    )
    callers = db.session.execute(_scored(principal, query, window)).all()
    if not callers:
        return []
    hashes = [row[0] for row in callers]
    tasks: dict[str | None, list[RiskTask]] = {}
    task_query: Any = (
        select(Call.from_hash, CallbackTask.id, CallbackTask.status, CallbackTask.due_at)
        .join(SurveyResponse, SurveyResponse.id == CallbackTask.response_id)
        .join(Call, Call.id == SurveyResponse.call_id)
        .where(Call.from_hash.in_(hashes))
        .order_by(CallbackTask.id.desc())
    )
    for caller_hash, task_id, status, due_at in db.session.execute(policy.scope_tasks(principal, task_query)):
        overdue = status != TaskStatus.done and as_utc(due_at) < now
        tasks.setdefault(caller_hash, []).append(RiskTask(task_id, str(status), overdue))
    return [
        AtRiskCaller(
            mask(number) or "unknown",
            int(n),
            as_utc(last),
            window.but(caller=caller_hash),
            tasks.get(caller_hash, []),
        )
        for caller_hash, number, n, last in callers
    ]


def weekly_trend(
    principal: Principal, period: Period, base: ResponseFilter, memo: Memo | None = None
) -> list[TrendWeek]:
    """Week by week from each period's start: the current period's weeks beside the previous one's.
    Counted per day in SQL; the days are then added into weeks."""
    weeks = max(1, -(-int(period.days) // 7))
    found = {n: TrendWeek(n, Counts(), Counts()) for n in range(1, weeks + 1)}
    for which, f in _periods(base, period):
        for raw_day, counts in counted(principal, f, "day", memo):
            when = raw_day if not isinstance(raw_day, str) else datetime.fromisoformat(raw_day).date()
            week = min(weeks, max(1, (when - f.start.date()).days // 7 + 1))
            getattr(found[week], which).add(counts)
    return list(found.values())
