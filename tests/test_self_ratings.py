"""Agents' blind self-ratings through whole calls: the API, the hold-back on the agent's page, the gap."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect

from ivr.extensions import db
from ivr.models import Agent, AgentLeg, Call, Role, SelfRating
from ivr.services.organisation import api_keys
from ivr.services.organisation import teams as organisation
from ivr.services.perception import self_ratings
from tests.helpers import ALICE, LOW, PASSWORD, Twilio, make_user, set_up_team, sign_in

HAPPY = ["5", "10", "1", "!"]  # CSAT 5, NPS 10, resolved


def _call(app: Flask, keys: list[str], caller: str) -> str:
    """A whole call Alice took, with its survey; its CallSid."""
    Twilio(app, app.test_client()).play(ALICE, keys, from_number=caller)
    with app.app_context():
        sid = db.session.scalar(db.select(Call.call_sid).order_by(Call.id.desc()))
    assert sid is not None
    return sid


def _key(app: Flask, agent: str) -> dict[str, str]:
    with app.app_context():
        key = api_keys.create_key(f"{agent}'s softphone", [Role.agent], agent).key
    return {"Authorization": f"Bearer {key}"}


def _rate(
    client: FlaskClient, sid: str, key: dict[str, str], **body: object
) -> tuple[int, dict[str, object]]:
    answer = client.post(f"/api/calls/{sid}/self-rating", json=body, headers=key)
    return answer.status_code, answer.get_json()


def test_the_api_stores_one_rating_per_call_for_the_agent_who_took_it(app: Flask) -> None:
    set_up_team(app)
    with app.app_context():
        organisation.save_agent("bob", team="Support")
    sid = _call(app, LOW, "+15551230071")
    client = app.test_client()
    alice, bob = _key(app, "alice"), _key(app, "bob")

    assert _rate(client, sid, bob, rating=3)[0] == 404  # Bob did not take the call
    assert _rate(client, "CA" + "0" * 32, alice, rating=3)[0] == 404  # no such call
    status, body = _rate(client, sid, alice, rating=7)
    assert status == 400 and body["error"]
    status, body = _rate(client, sid, alice, rating=5, resolved=True)
    assert status == 201, body
    assert body["agent"] == "alice" and body["rating"] == 5 and body["resolved"] is True
    assert body["blind"] is True and body["late"] is False
    status, body = _rate(client, sid, alice, rating=4)
    assert status == 409 and "already rated" in str(body["message"])
    with app.app_context():
        (rating,) = db.session.scalars(db.select(SelfRating)).all()
        assert (rating.rating, rating.source, rating.blind) == (5, "api", True)


def test_a_key_that_is_no_agents_cannot_rate(app: Flask) -> None:
    set_up_team(app)
    sid = _call(app, LOW, "+15551230072")
    with app.app_context():
        key = api_keys.create_key("a CTI", [Role.integrator]).key
    status, _ = _rate(app.test_client(), sid, {"Authorization": f"Bearer {key}"}, rating=5)
    assert status in (403, 404)


def test_a_rating_after_the_window_is_late_and_left_out_of_the_gap(app: Flask) -> None:
    set_up_team(app)
    on_time, late = _call(app, LOW, "+15551230073"), _call(app, HAPPY, "+15551230074")
    client, key = app.test_client(), _key(app, "alice")
    with app.app_context():
        late_call = db.session.scalar(db.select(Call.id).where(Call.call_sid == late))
        three_hours_ago = datetime.now(UTC) - timedelta(hours=3)
        db.session.execute(
            db.update(AgentLeg).where(AgentLeg.call_id == late_call).values(ended_at=three_hours_ago)
        )
        db.session.commit()
    assert _rate(client, on_time, key, rating=5)[1]["blind"] is True
    status, body = _rate(client, late, key, rating=2)
    assert status == 201 and body["late"] is True and body["blind"] is False

    with app.app_context():
        alice = db.session.scalar(db.select(Agent.id).where(Agent.ref == "alice"))
        assert alice is not None
        gap = self_ratings.gap(alice, datetime.now(UTC) - timedelta(days=30))
    # Only the blind pair counts: Alice said 5, the caller 1.
    assert gap.pairs == 1 and gap.late == 1
    assert gap.predicted == {1: 0, 2: 0, 3: 0, 4: 0, 5: 1}
    assert gap.actual == {1: 1, 2: 0, 3: 0, 4: 0, 5: 0}
    assert gap.expected_satisfied_was_not == 1 and gap.expected_unhappy_was_satisfied == 0
    assert gap.mean_absolute_difference == 4.0
    assert (gap.we_think, gap.callers_say) == (1.0, 0.0)


def test_the_agent_rates_in_the_page_and_only_then_sees_what_the_caller_said(
    app: Flask, live_server: str, page: Page
) -> None:
    set_up_team(app)
    make_user(app, "alice@example.com", "agent", agent="alice")
    _call(app, LOW, "+15551230075")
    sign_in(page, live_server, "alice@example.com", password=PASSWORD)

    # The caller gave CSAT 1, but Alice has not rated the call: the score is held back.
    feedback = page.get_by_role("list", name="Feedback, newest first")
    expect(feedback).to_contain_text("Rate this call above to see what the caller said.")
    expect(feedback).not_to_contain_text("CSAT")
    one = page.get_by_role("table", name="CSAT answers per score").get_by_role("row", name=re.compile("^1 "))
    expect(one).to_have_text(re.compile(r"^1\s*0\s*0$"))  # nor is it counted yet

    waiting = page.get_by_role("list", name="Calls waiting for your rating")
    expect(waiting.get_by_role("listitem")).to_have_count(1)
    page.get_by_label("Was their issue resolved?").select_option("yes")
    waiting.get_by_role("button", name=re.compile(r"^5 for the call at")).click()

    expect(
        page.get_by_text("Thanks: you rated that call 5. What the caller said is shown now.")
    ).to_be_visible()
    expect(page.get_by_role("list", name="Calls waiting for your rating")).to_have_count(0)
    expect(feedback).to_contain_text("CSAT 1")
    expect(one).to_have_text(re.compile(r"^1\s*1\s*0$"))
    expect(
        page.get_by_text("You thought 100% of these callers were satisfied; they said 0%.")
    ).to_be_visible()
    moments = page.get_by_role("list", name="Your biggest misses")
    expect(moments.get_by_role("listitem")).to_contain_text("You said 5, the caller 1")
    with app.app_context():
        (rating,) = db.session.scalars(db.select(SelfRating)).all()
        assert (rating.rating, rating.resolved, rating.source, rating.blind) == (5, True, "web", True)
