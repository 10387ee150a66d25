"""The routing check: every problem of a routing document, each with its field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ivr import create_app
from ivr.flows import load_catalog
from ivr.flows.compiled import CompiledFlow
from ivr.flows.prompts import load_prompts
from ivr.flows.routing import ROUTING_FILE, check_routing
from tests.helpers import make_settings

ROOT = Path(__file__).resolve().parent.parent
CALLFLOWS = ROOT / "callflows"
PROMPTS = ROOT / "prompts"


@pytest.fixture(scope="module")
def flows() -> dict[str, CompiledFlow]:
    return load_catalog(CALLFLOWS, PROMPTS)


@pytest.fixture(scope="module")
def texts() -> dict[str, dict[str, str]]:
    return load_prompts(PROMPTS).texts


def _fields(text: str, flows: dict[str, CompiledFlow], texts: dict[str, dict[str, str]]) -> dict[str, str]:
    _, problems = check_routing(text, "draft", flows, "post-call-csat", texts)
    return {problem.field or "": problem.message for problem in problems}


def test_the_shipped_routing_has_no_problem(
    flows: dict[str, CompiledFlow], texts: dict[str, dict[str, str]]
) -> None:
    routing, problems = check_routing(
        (CALLFLOWS / ROUTING_FILE).read_text(encoding="utf-8"), "file", flows, "post-call-csat", texts
    )
    assert routing is not None
    assert problems == []


def test_every_problem_is_reported_at_its_field(
    flows: dict[str, CompiledFlow], texts: dict[str, dict[str, str]]
) -> None:
    text = """
default_queue: support
queues:
  support:
    agents: [client:alice, client:alice]
    flow: no-such-flow
  billing:
    agents: [client:carol]
    flow: post-call-csat
    language: xx
"""
    fields = _fields(text, flows, texts)
    assert fields["queues.support.flow"] == "unknown flow 'no-such-flow'"
    assert "listed twice" in fields["queues.support.agents.1"]
    assert "no language 'xx'" in fields["queues.billing.language"]


def test_schema_problems_carry_their_field(
    flows: dict[str, CompiledFlow], texts: dict[str, dict[str, str]]
) -> None:
    text = "default_queue: support\nqueues:\n  support:\n    agents: [client:a]\n    ring_seconds: 2\n"
    assert "queues.support.ring_seconds" in _fields(text, flows, texts)
    assert _fields("queues: [", flows, texts).keys() == {""}


def test_flows_check_command_checks_the_routing(tmp_path: Path) -> None:
    callflows, prompts = tmp_path / "callflows", tmp_path / "prompts"
    shutil.copytree(CALLFLOWS, callflows)
    shutil.copytree(PROMPTS, prompts)
    app = create_app(make_settings(None, tmp_path, callflows_dir=callflows, prompts_dir=prompts))
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["flows", "check"])
    assert ok.exit_code == 0, ok.output
    assert "ok  routing: 2 queue(s), 2 number(s)" in ok.output

    routing = callflows / ROUTING_FILE
    routing.write_text(routing.read_text(encoding="utf-8").replace("flow: post-call-csat", "flow: nope", 1))
    broken = runner.invoke(args=["flows", "check"])
    assert broken.exit_code == 1
    assert "field 'queues.support.flow': unknown flow 'nope'" in broken.output
