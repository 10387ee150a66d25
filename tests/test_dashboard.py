"""The team dashboard: exact distributions of a seeded set, an honest league table (Wilson
intervals, too few answers greyed and unranked), a supervisor's teams only, and every bar
clicking through to exactly the responses behind it; on each database, in a real browser."""

from __future__ import annotations

import re

from flask import Flask
from playwright.sync_api import Page, expect

from ivr.models import utcnow
from ivr.services import policy
from ivr.services.insight import dashboard
from ivr.services.insight.measures import period_for, wilson
from ivr.services.organisation import teams as organisation
from ivr.services.organisation import users
from tests.helpers import PASSWORD, make_user, scored_response, set_up_team, sign_in


def test_the_wilson_interval_of_a_known_case() -> None:
    # 8 of 10: the textbook 95% Wilson interval is 0.490 to 0.943 (the plain one would be 0.55 to 1.05).
    found = wilson(8, 10)
    assert found is not None
    assert (round(found.low, 3), round(found.high, 3)) == (0.490, 0.943)
    zero = wilson(0, 3)
    assert zero is not None and round(zero.low, 9) == 0.0 and round(zero.high, 3) == 0.561
    assert wilson(0, 0) is None


# alice's CSAT answers this period: two 1s, one 2, four 4s, five 5s (12: ranked).
ALICE = {1: 2, 2: 1, 3: 0, 4: 4, 5: 5}
# carol's: three (greyed, not ranked).
CAROL = [5, 5, 4]


def seed(app: Flask) -> dict[str, list[int]]:
    """Two teams: Support (Sam; alice, carol) and Sales (Riley; bob). Returns response ids."""
    set_up_team(app)
    with app.app_context():
        organisation.save_agent("carol", team="Support")
        organisation.save_supervisor("Riley", email="riley@example.com")
        organisation.save_team("Sales", supervisor="Riley")
        organisation.save_agent("bob", team="Sales")
        users.create_user("riley@example.com", PASSWORD, policy.Role.supervisor, None, "Riley", "Riley")
    ids: dict[str, list[int]] = {"alice_csat_1": [], "alice": [], "carol": [], "bob": []}
    day = 0.0
    for score, n in ALICE.items():
        for _ in range(n):
            day += 1
            nps = 9 if score >= 4 else 5
            rid = scored_response(app, "alice", score, nps, score >= 3, days_ago=day)
            ids["alice"].append(rid)
            if score == 1:
                ids["alice_csat_1"].append(rid)
    for score in CAROL:
        ids["carol"].append(scored_response(app, "carol", score, 10, True, days_ago=2))
    # The period before: not in this period's counts.
    scored_response(app, "alice", 3, 7, True, days_ago=40)
    scored_response(app, "alice", 1, 0, False, days_ago=45)
    for _ in range(4):
        ids["bob"].append(scored_response(app, "bob", 1, 0, False, days_ago=3, queue="sales"))
    return ids


def test_a_supervisors_dashboard_counts_their_teams_exactly(app: Flask) -> None:
    seed(app)
    with app.app_context():
        sam = policy.for_user(users.find("sam@example.com"))  # type: ignore[arg-type]
        now = utcnow()
        board = dashboard.build(sam, period_for("30", now), now=now)
    assert [s.label for s in board.teams] == ["Support"]
    support = board.teams[0]
    assert support.current.csat == {1: 2, 2: 1, 3: 0, 4: 5, 5: 7}
    assert support.current.responses == 15
    assert (support.current.bottom_box, support.current.top_box) == (3, 12)
    assert support.previous.csat == {1: 1, 2: 0, 3: 1, 4: 0, 5: 0}
    assert (
        support.current.promoters == 12 and support.current.passives == 0 and support.current.detractors == 3
    )
    assert support.current.extreme_lows == 2
    assert support.tasks.open == 2  # each extreme low opened a callback task
    assert support.offered == 15 and support.answered == 15
    league = {row.name: row for row in board.league}
    assert set(league) == {"alice", "carol"}  # bob is Sales: not Sam's
    assert league["alice"].rank == 1 and league["alice"].ranked
    assert league["carol"].rank is None and not league["carol"].ranked
    assert league["alice"].current.csat_answers == 12
    top = wilson(9, 12)
    assert league["alice"].top_box == top
    assert [row.name for row in board.offers] == ["alice", "carol"]
    assert all(row.rate == 1.0 for row in board.offers)


def test_callers_with_two_extreme_lows_in_30_days_are_at_risk(app: Flask) -> None:
    set_up_team(app)
    caller = "+15557654321"
    scored_response(app, "alice", 1, 0, False, days_ago=3, caller=caller)
    scored_response(app, "alice", 2, 1, False, days_ago=10, caller=caller)
    scored_response(app, "alice", 1, 0, False, days_ago=40, caller="+15550001111")
    scored_response(app, "alice", 1, 0, False, days_ago=2, caller="+15550001111")  # one low in 30 days
    with app.app_context():
        now = utcnow()
        board = dashboard.build(policy.OPERATOR, period_for("7", now), now=now)
    assert [(c.caller, c.lows, len(c.tasks)) for c in board.at_risk] == [("+•••••••4321", 2, 2)]


# -- in the browser ------------------------------------------------------------------------------


def teams_table(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("table", name=re.compile("^Teams"))


def test_a_supervisor_reads_their_team_and_a_bar_lists_exactly_its_responses(
    app: Flask, live_server: str, page: Page
) -> None:
    ids = seed(app)
    sign_in(page, live_server, "sam@example.com")
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Team dashboard")).to_be_visible()
    table = teams_table(page)
    for point, count in {1: 2, 2: 1, 3: 0, 4: 5, 5: 7}.items():
        expect(table.get_by_role("link", name=f"Support: CSAT {point}", exact=True)).to_have_text(str(count))
    # Nobody else's team: not in the tables, the league table or the team picker.
    expect(page.get_by_role("row", name=re.compile("Sales"))).to_have_count(0)
    expect(page.get_by_role("link", name="bob")).to_have_count(0)
    expect(page.get_by_label("Team", exact=True).get_by_role("option")).to_have_text(
        ["All my teams", "Support"]
    )

    league = page.get_by_role("table", name="League table of agents")
    carol = league.get_by_role("row").filter(has=page.get_by_role("link", name="carol"))
    expect(carol).to_have_class(re.compile("unranked"))
    expect(carol.get_by_role("cell").first).to_have_text("not ranked")
    alice = league.get_by_role("row").filter(has=page.get_by_role("link", name="alice"))
    expect(alice.get_by_role("cell").first).to_have_text("1")

    # The red part of the bar: alice's two CSAT 1 responses, and nothing else.
    page.get_by_role("link", name="Support: CSAT 1, 2 responses").click()
    expect(page.get_by_role("heading", name="Responses")).to_be_visible()
    listed = page.get_by_role("table", name="Survey responses matching the filter").get_by_role(
        "link", name=re.compile(r"^Response \d+$")
    )
    # Newest first: the first one seeded is the most recent.
    expect(listed).to_have_text([f"Response {rid}" for rid in ids["alice_csat_1"]])
    expect(page.get_by_label("CSAT")).to_have_value("1")

    # Another team's response is missing for Sam, as one that never was.
    page.goto(f"{live_server}/responses/{ids['bob'][0]}")
    expect(page.get_by_role("heading", name=f"Response {ids['bob'][0]}")).to_have_count(0)
    page.goto(f"{live_server}/dashboard?team=999")
    expect(page.get_by_text("Choose one of the teams listed.")).to_be_visible()


def test_an_analyst_sees_every_team_on_the_dashboard(app: Flask, live_server: str, page: Page) -> None:
    seed(app)
    make_user(app, "ana@example.com", "analyst")
    sign_in(page, live_server, "ana@example.com")
    page.goto(live_server + "/dashboard?period=90")
    table = teams_table(page)
    expect(table.get_by_role("link", name="Sales: CSAT 1", exact=True)).to_have_text("4")
    expect(table.get_by_role("link", name="Support: CSAT 1", exact=True)).to_have_text("3")  # 45 days ago too
    expect(page.get_by_role("link", name="bob", exact=True).first).to_be_visible()


def test_an_empty_dashboard_says_what_will_appear(app: Flask, live_server: str, page: Page) -> None:
    set_up_team(app)
    sign_in(page, live_server, "sam@example.com")
    page.goto(live_server + "/dashboard?period=today")
    expect(page.get_by_text("No responses in this period")).to_be_visible()
