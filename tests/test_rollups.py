"""The dashboard's daily rollups: the same numbers as the live aggregates over the scores (every
measure, one team and all teams, whole days and edges), an idempotent rebuild, and a re-scored
response counted once."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from ivr.extensions import db
from ivr.models import (
    Agent,
    AgentLeg,
    AgentScoreDay,
    Call,
    OfferDay,
    QueueScoreDay,
    Score,
    SurveyResponse,
    utcnow,
)
from ivr.services import policy
from ivr.services.closed_loop import scoring
from ivr.services.insight import dashboard, rollups
from ivr.services.insight.filters import NONE
from ivr.services.insight.measures import Period, period_for
from ivr.services.organisation import users
from tests.test_dashboard import seed


def numbers(board: dashboard.Dashboard) -> dict[str, Any]:
    """Every count the dashboard shows but the tasks, the offer rates and the callers at risk
    (not rolled up)."""
    return {
        "teams": [(s.label, s.current, s.previous, s.offered, s.answered) for s in board.teams],
        "queues": [(s.label, s.current, s.previous, s.offered, s.answered) for s in board.queues],
        "total": (board.total.current, board.total.previous, board.total.offered, board.total.answered),
        "league": [(r.name, r.rank, r.current, r.previous, r.top_box, r.bottom_box) for r in board.league],
        "trend": [(w.week, w.current, w.previous) for w in board.trend],
    }


def rows() -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    for rollup in (AgentScoreDay, QueueScoreDay):
        for row in db.session.scalars(select(rollup)):
            values = sorted(vars(row).items())
            found.append(tuple(v for k, v in values if k not in ("id", "_sa_instance_state")))
    db.session.rollback()
    return sorted(found, key=repr)


def test_the_rollups_give_exactly_the_live_numbers(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = seed(app)
    with app.app_context():
        # A response without an agent (a transfer nobody was credited for): "No team"'s.
        orphan = ids["alice"][-1]
        db.session.execute(update(SurveyResponse).where(SurveyResponse.id == orphan).values(agent_id=None))
        db.session.execute(update(Score).where(Score.response_id == orphan).values(agent_id=None))
        db.session.commit()
        rollups.rebuild()
        sam = policy.for_user(users.find("sam@example.com"))  # type: ignore[arg-type]
        now = utcnow()
        midnight = rollups.midnight(now.date())
        periods = [
            period_for("30", now),
            period_for("90", now),
            period_for("7", now),
            Period(midnight - timedelta(days=20), midnight - timedelta(days=1), "whole days"),
            period_for("today", now),
        ]
        people = {"sam": sam, "admin": policy.OPERATOR}
        boards = {
            (name, p.label, team): numbers(dashboard.build(who, p, team, now))
            for name, who in people.items()
            for p in periods
            for team in (None, 1, NONE)
        }
        assert rows(), "scoring kept the rollups up"
        # The same dashboards counted from the scores alone.
        monkeypatch.setattr(rollups, "whole_days", lambda start, end: None)
        for (name, label, team), seen in boards.items():
            who = people[name]
            period = next(p for p in periods if p.label == label)
            assert seen == numbers(dashboard.build(who, period, team, now)), (name, label, team)
        monkeypatch.undo()
        support = boards[("sam", "Last 30 days", None)]["teams"][0][1]
        assert support.csat == {1: 2, 2: 1, 3: 0, 4: 5, 5: 6}  # one 5 is the orphan's now

        # A rebuild (twice) and a re-scored response leave the same rows.
        before = rows()
        assert rollups.rebuild() == rollups.rebuild()
        assert rows() == before
        scoring.score(ids["alice"][0])
        scoring.score(ids["alice"][0])
        assert rows() == before
        assert rollups.rebuild(since=(now - timedelta(days=5)).date()) >= 5
        assert rows() == before


def _unsurveyed_legs(app: Flask, agent: str, days_ago: list[float]) -> None:
    """Calls the agent answered that never reached a survey."""
    with app.app_context():
        agent_id = db.session.scalar(select(Agent.id).where(Agent.ref == agent))
        for ago in days_ago:
            started = utcnow() - timedelta(days=ago)
            call = Call(
                call_sid="CA" + uuid.uuid4().hex, queue="support", status="completed", started_at=started
            )
            db.session.add(call)
            db.session.flush()
            db.session.add(
                AgentLeg(
                    call_id=call.id,
                    agent_id=agent_id,
                    sequence=1,
                    queue="support",
                    outcome="completed",
                    started_at=started,
                )
            )
        db.session.commit()


def test_the_offer_rates_of_settled_days_are_counted_once_and_equal_the_live_ones(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(app)
    _unsurveyed_legs(app, "alice", [0.2, 1.5, 2.5, 6, 12, 31, 80])
    _unsurveyed_legs(app, "bob", [4, 4, 5])
    with app.app_context():
        sam = policy.for_user(users.find("sam@example.com"))  # type: ignore[arg-type]
        now = utcnow()
        midnight = rollups.midnight(now.date())
        periods = [
            period_for("7", now),
            period_for("30", now),
            period_for("90", now),
            Period(midnight - timedelta(days=20), midnight - timedelta(days=1), "whole days"),
        ]
        cases = [(who, p, team) for who in (sam, policy.OPERATOR) for p in periods for team in (None, 1)]
        counted = {(who.label, p.label, team): dashboard.offer_rates(who, p, team) for who, p, team in cases}
        marks = select(func.count()).select_from(OfferDay).where(OfferDay.agent_id.is_(None))
        days = db.session.scalar(marks)
        assert days and days >= 85, "the settled days of 90 were counted"
        assert db.session.scalar(
            select(func.count()).select_from(OfferDay).where(OfferDay.agent_id.is_not(None))
        )
        dashboard.offer_rates(policy.OPERATOR, periods[2], None)
        assert db.session.scalar(marks) == days, "each day is counted once"
        monkeypatch.setattr(rollups, "settled_days", lambda start, end, now: None)
        for who, p, team in cases:
            assert counted[(who.label, p.label, team)] == dashboard.offer_rates(who, p, team), (
                who.label,
                p.label,
            )
        alice = next(row for row in counted[(sam.label, "Last 30 days", None)] if row.name == "alice")
        assert alice.rate is not None and alice.rate < 1.0
