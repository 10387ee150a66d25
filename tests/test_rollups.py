"""The dashboard's daily rollups: the same numbers as the live aggregates over the scores (every
measure, one team and all teams, whole days and edges), an idempotent rebuild, and a re-scored
response counted once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from ivr.extensions import db
from ivr.models import AgentScoreDay, QueueScoreDay, utcnow
from ivr.services import policy
from ivr.services.closed_loop import scoring
from ivr.services.insight import dashboard, rollups
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
            for team in (None, 1)
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
        assert support.csat == {1: 2, 2: 1, 3: 0, 4: 5, 5: 7}

        # A rebuild (twice) and a re-scored response leave the same rows.
        before = rows()
        assert rollups.rebuild() == rollups.rebuild()
        assert rows() == before
        scoring.score(ids["alice"][0])
        scoring.score(ids["alice"][0])
        assert rows() == before
        assert rollups.rebuild(since=(now - timedelta(days=5)).date()) >= 5
        assert rows() == before
