"""The demo as written: seeded agents match the routing file, `.env.example` lists every setting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from pydantic import ValidationError
from sqlalchemy import select

from ivr import engine_options
from ivr.extensions import db
from ivr.models import Agent
from ivr.services.conversation.front_door import front_door
from ivr.settings import Settings
from tests.helpers import Twilio, make_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def test_demo_agents_are_the_agents_the_routing_file_rings(app: Flask, twilio: Twilio) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    assert runner.invoke(args=["demo", "seed"]).output.startswith("demo agents: 0 added")
    with app.app_context():
        rung = {ref for queue in front_door().routing.queues.values() for ref in queue.agents}
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
