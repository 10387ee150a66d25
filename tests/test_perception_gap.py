"""The gap on the dashboard: a team's blind self-ratings against its callers, supervisors' weekly
forecasts against what callers said, coaching moments for the supervisor and nobody else."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from ivr.extensions import db
from ivr.models import Call, Role, utcnow
from ivr.services import policy
from ivr.services.errors import Conflict, Invalid, NotFound
from ivr.services.organisation import api_keys, users
from ivr.services.organisation import teams as organisation
from ivr.services.perception import forecasts, self_ratings
from tests.helpers import ALICE, LOW, Twilio, make_user, set_up_team, sign_in

HAPPY = ["5", "10", "1", "!"]


def _rated_calls(app: Flask) -> None:
    """Alice takes two calls and rates both 5: one caller said 5, the other 1 (a miss)."""
    twilio = Twilio(app, app.test_client())
    for keys, caller in ((HAPPY, "+15551230081"), (LOW, "+15551230082")):
        twilio.play(ALICE, keys, from_number=caller)
    with app.app_context():
        key = api_keys.create_key("softphone", [Role.agent], "alice").key
        sids = db.session.scalars(db.select(Call.call_sid).order_by(Call.id)).all()
    for sid in sids:
        answer = app.test_client().post(
            f"/api/calls/{sid}/self-rating", json={"rating": 5}, headers={"Authorization": f"Bearer {key}"}
        )
        assert answer.status_code == 201, answer.json


def _principal(app: Flask, email: str) -> policy.Principal:
    user = users.find(email)
    assert user is not None
    return policy.for_user(user)


def _other_team(app: Flask) -> None:
    with app.app_context():
        organisation.save_supervisor("Pat", email="pat@example.com")
        organisation.save_team("Billing", supervisor="Pat")
    make_user(app, "pat@example.com", "supervisor", supervisor="Pat")


def test_a_forecast_is_stated_once_a_week_and_meets_what_callers_said(app: Flask) -> None:
    set_up_team(app)
    _other_team(app)
    _rated_calls(app)  # this week: one caller satisfied (5), one not (1)
    with app.app_context():
        sam = _principal(app, "sam@example.com")
        (support,) = [team_id for team_id, name, _ in forecasts.teams_to_forecast(sam) if name == "Support"]
        forecasts.state(sam, support, 80)
        with pytest.raises(Conflict):
            forecasts.state(sam, support, 90)  # stated once: it cannot follow the callers
        with pytest.raises(Invalid):
            forecasts.state(_principal(app, "morgan@example.com"), support, 140)
        with pytest.raises(NotFound):
            forecasts.state(_principal(app, "pat@example.com"), support, 50)  # not Pat's team
        (row,) = forecasts.compared(sam, [support])
        assert (row.team, row.expected, row.satisfied, row.answers, row.actual) == ("Support", 0.8, 1, 2, 0.5)
        assert row.week_start == forecasts.week_of(utcnow()) and row.week_start.weekday() == 0


def test_a_teams_gap_and_its_coaching_moments_are_seen_by_its_supervisor_only(app: Flask) -> None:
    set_up_team(app)
    _other_team(app)
    _rated_calls(app)
    with app.app_context():
        since = utcnow().replace(year=utcnow().year - 1)
        gap, agents = self_ratings.team_gaps(_principal(app, "sam@example.com"), since, None)
        assert (gap.pairs, gap.we_think, gap.callers_say, gap.expected_satisfied_was_not) == (2, 1.0, 0.5, 1)
        assert gap.mean_absolute_difference == 2.0  # |5-5| and |5-1|, halved
        assert [(row.name, row.gap.pairs) for row in agents] == [("alice", 2)]
        (moment,) = self_ratings.team_coaching_moments(_principal(app, "sam@example.com"), since)
        assert (moment.agent, moment.rating, moment.csat) == ("alice", 5, 1)

        pat = _principal(app, "pat@example.com")
        assert self_ratings.team_gaps(pat, since, None)[0].pairs == 0
        assert self_ratings.team_coaching_moments(pat, since) == []


def test_a_supervisor_states_a_forecast_on_the_dashboard_and_reads_the_gap(
    app: Flask, live_server: str, page: Page
) -> None:
    set_up_team(app)
    _rated_calls(app)
    sign_in(page, live_server, "sam@example.com", path="/dashboard")
    expect(
        page.get_by_text("Agents thought 100% of their callers were satisfied; callers said 50%.")
    ).to_be_visible()
    misses = page.get_by_role("list", name="The biggest misses")
    miss = re.compile(r"alice.*said 5, the caller 1", re.DOTALL)
    expect(misses.get_by_role("listitem")).to_contain_text(miss)

    page.get_by_label("This week, the share of Support's callers you expect to be satisfied (%)").fill("80")
    page.get_by_role("button", name="State forecast for Support").click()
    expect(page.get_by_text("Forecast stated.")).to_be_visible()
    table = page.get_by_role("table", name="Forecasts against what callers said (CSAT 4-5)")
    expect(table.get_by_role("row").nth(1)).to_contain_text(re.compile(r"Support\s*80%\s*50%\s*2\s*Sam"))
    expect(page.get_by_role("button", name="State forecast for Support")).to_have_count(0)  # once a week
