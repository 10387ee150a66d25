"""Commands say what they did: `jobs sweep` with Redis down, `simulate`'s flags, whole help texts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import click
import pytest
from flask import Flask
from sqlalchemy import update

from ivr.extensions import db
from ivr.models import SurveyResponse, utcnow
from ivr.services.consent import do_not_survey
from ivr.services.insight import responses
from ivr.services.policy import OPERATOR
from ivr.simulator import problem_with
from tests.helpers import ALICE, Twilio
from tests.local_servers import free_port


def _finished_unscored(app: Flask) -> None:
    Twilio(app, app.test_client()).play(ALICE, ["2", "5", "2", "1", "rec:4"])
    with app.app_context():
        db.session.execute(update(SurveyResponse).values(ended_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()


def test_jobs_sweep_with_redis_down_says_what_it_could_not_enqueue(
    app_factory: Callable[..., Flask], redis_url: str
) -> None:
    down = app_factory(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    _finished_unscored(down)
    result = down.test_cli_runner().invoke(args=["jobs", "sweep"])
    assert result.exit_code == 1
    assert "0 unscored response(s) enqueued" in result.output
    assert "1 unscored response(s) NOT enqueued" in result.output and "REDIS_URL" in result.output
    assert "Traceback" not in result.output

    up = app_factory(redis_url=redis_url)
    result = up.test_cli_runner().invoke(args=["jobs", "sweep"])
    assert result.exit_code == 0 and "1 unscored response(s) enqueued" in result.output
    assert "NOT" not in result.output


@pytest.mark.parametrize(
    "action",
    ["4", "10", "7#", "*", "-", "!", "h", "say:very satisfied", "say:five@0.3", "rec:8", "rec:12:slow"],
)
def test_every_documented_action_is_accepted(action: str) -> None:
    assert problem_with(action) is None


@pytest.mark.parametrize(
    "action", ["x", "4x", "say:", "say:five@2", "rec:", "rec:a", "dial:ringing", "dial:completed"]
)
def test_unknown_actions_are_refused(action: str) -> None:
    assert problem_with(action) is not None


def test_simulate_rejects_unknown_keys_before_calling(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["simulate", "--url", "http://127.0.0.1:9", "--keys", "4 five !"]
    )
    assert result.exit_code == 2
    assert "Invalid value for --keys: 'five' is not a caller action" in result.output
    assert "Cannot reach" not in result.output  # refused before any webhook


def test_simulate_follows_public_base_url_and_prints_a_fresh_caller(
    app_factory: Callable[..., Flask], live_server: str
) -> None:
    app = app_factory(public_base_url=live_server)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["simulate", "--keys", "4 *"])  # the opt-out key: on the list for good
    second = runner.invoke(args=["simulate", "--keys", "5 !"])
    for result in (first, second):
        assert result.exit_code == 0, result.output
        assert f"Calling {live_server}/voice/survey" in result.output
    callers = [
        line.split(" from ")[1].split(" as ")[0]
        for r in (first, second)
        for line in r.output.splitlines()
        if line.startswith("Calling")
    ]
    assert callers[0] != callers[1] and all(c.startswith("+155501") for c in callers)
    with app.app_context():
        dispositions = sorted(r.disposition.value for r in responses.find_responses(OPERATOR))
    assert dispositions == ["partial", "refused"]  # the second demo call was asked, not suppressed


def test_simulate_from_sets_the_number_and_warns_when_it_is_suppressed(app: Flask, live_server: str) -> None:
    with app.app_context():
        do_not_survey.add_number("+15557654321", note="asked by phone")
    result = app.test_cli_runner().invoke(
        args=["simulate", "--url", live_server, "--from", "+15557654321", "--keys", "5 !"]
    )
    assert result.exit_code == 0, result.output
    assert "from +15557654321 as CA" in result.output
    assert "note: +15557654321 will not be surveyed: it is on the do-not-survey list" in result.output
    with app.app_context():
        [response] = responses.find_responses(OPERATOR)
        assert response.disposition.value == "suppressed"


def test_interactive_hang_up_is_the_same_key_as_in_keys(app: Flask, live_server: str) -> None:
    result = app.test_cli_runner().invoke(args=["simulate", "--url", live_server], input="nope\n4\n!\n")
    assert result.exit_code == 0, result.output
    assert "'!' hangs up (as in --keys)" in result.output
    assert "'nope' is not a caller action" in result.output  # asked again, not sent
    assert "caller hung up" in result.output


def test_help_texts_are_whole_sentences(app: Flask) -> None:
    runner = app.test_cli_runner()
    groups = [""] + [name for name, c in app.cli.commands.items() if isinstance(c, click.Group)]
    for group in groups:
        result = runner.invoke(args=[*group.split(), "--help"] if group else ["--help"])
        assert result.exit_code == 0, result.output
        listing = result.output.partition("Commands:")[2]
        assert "..." not in listing, f"{group or 'flask'} --help cuts a help text short:\n{listing}"
