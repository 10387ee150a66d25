"""The demo as written: seeded agents match the routing file, `.env.example` lists every setting."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from pydantic import ValidationError
from sqlalchemy import func, select

from ivr import engine_options
from ivr.extensions import db
from ivr.models import Agent, CallbackTask, Score, SurveyResponse, TaskStatus, Team, User
from ivr.services.conversation.routing_versions import current_routing
from ivr.services.insight import dashboard
from ivr.services.insight.measures import period_for
from ivr.services.policy import OPERATOR
from ivr.settings import Settings
from tests.helpers import Twilio, make_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def test_demo_agents_are_the_agents_the_routing_file_rings(app: Flask, twilio: Twilio) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "seed", "--no-history"])
    assert first.exit_code == 0, first.output
    assert runner.invoke(args=["demo", "seed", "--no-history"]).output.startswith("demo agents: 0 added")
    with app.app_context():
        rung = {ref for queue in current_routing().queues.values() for ref in queue.agents}
        seeded = {agent.ref: agent for agent in db.session.scalars(select(Agent))}
        assert set(seeded) == rung
        assert all(agent.team is not None for agent in seeded.values())
    # A front-door call credits a seeded agent with a team (no new, team-less agent appears).
    twilio.play("/voice/incoming", ["1", "dial:completed:60", "1", "0", "!"], to_number="+15005550001")
    with app.app_context():
        assert {agent.ref for agent in db.session.scalars(select(Agent))} == rung


def test_env_example_lists_every_setting() -> None:
    text = (PROJECT_ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#?\s?([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))
    assert listed == {name.upper() for name in Settings.model_fields}
    assert ".env" in (PROJECT_ROOT / ".gitignore").read_text().splitlines()


def test_pgbouncer_transaction_mode_turns_off_prepared_statements(tmp_path: Path) -> None:
    url = "postgresql+psycopg://u@db/ivr"
    assert "connect_args" not in engine_options(make_settings(url, tmp_path))
    off = engine_options(make_settings(url, tmp_path, database_prepared_statements=False))
    assert off["connect_args"] == {"prepare_threshold": None}


def test_a_sentinel_url_is_refused_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="Sentinel URLs are not read by redis-py or RQ"):
        make_settings(None, tmp_path, redis_url="redis+sentinel://s1:26379,s2:26379/mymaster/0")


def test_demo_history_gives_every_page_something_to_show(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(ivr_env="development")
    runner = app.test_cli_runner()
    seeded = runner.invoke(args=["demo", "seed"])
    assert seeded.exit_code == 0, seeded.output
    assert "sign in at /login as any of these" in seeded.output and "alice@example.com" in seeded.output
    with app.app_context():
        responses = db.session.scalar(select(func.count()).select_from(SurveyResponse))
        scored = db.session.scalar(select(func.count()).select_from(Score))
        statuses = dict(
            db.session.execute(select(CallbackTask.status, func.count()).group_by(CallbackTask.status)).all()
        )
        now = datetime.now(UTC)
        overdue = [
            task
            for task in db.session.scalars(select(CallbackTask).where(CallbackTask.status != TaskStatus.done))
            if (task.due_at if task.due_at.tzinfo else task.due_at.replace(tzinfo=UTC)) < now
        ]
        roles = {user.role.value for user in db.session.scalars(select(User))}
        teams = {team.name: team.channels for team in db.session.scalars(select(Team))}
        # The dashboard has something in every section: at-risk callers, agents who keep callers
        # from the survey, and a league table.
        board = dashboard.build(OPERATOR, period_for("30", now), now=now)
    assert responses and responses > 300 and scored == responses
    assert statuses.get(TaskStatus.done, 0) > 5 and statuses.get(TaskStatus.open, 0) > 0 and overdue
    assert roles == {"admin", "analyst", "supervisor", "agent"}
    assert all(channels == ["email"] for channels in teams.values())  # alerts on once the history is in
    assert board.at_risk and all(caller.tasks for caller in board.at_risk)
    assert min(row.rate or 1.0 for row in board.offers) < 0.8 < max(row.rate or 0.0 for row in board.offers)
    assert any(row.rank == 1 for row in board.league)
    again = runner.invoke(args=["demo", "seed"])
    assert "demo history: already there" in again.output
