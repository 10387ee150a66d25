"""An agent's own page in a real browser: their numbers against the period before, their feedback
newest first, their recordings played through the app, nobody else's, and no caller numbers."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from ivr.extensions import db
from ivr.models import Agent, AgentLeg, Call, FeedbackKind, SurveyResponse
from ivr.services.insight import agent_summary
from ivr.services.organisation import teams as organisation
from tests.helpers import ACCOUNT_SID, LOW, Twilio, make_user, set_up_team, sign_in
from tests.local_servers import HttpRecorder

CALLER = "+15005550006"  # the simulator's caller number


def start(agent: str = "alice") -> str:
    return f"/voice/survey?agent={agent}&queue=billing&lang=en"


@pytest.fixture
def app(app_factory: Callable[..., Flask], twilio_api: HttpRecorder) -> Flask:
    """This module's app fetches recordings from the stand-in for Twilio's API."""
    return app_factory(twilio_api_base_url=twilio_api.url, twilio_account_sid=ACCOUNT_SID)


def play(twilio: Twilio, keys: list[str], agent: str = "alice", days_ago: int = 0) -> tuple[int, list[str]]:
    """A whole survey call about `agent`, started `days_ago` days ago; its response id and recordings.

    The agent's leg ended three hours ago at the latest: past the self-rating window, so the
    caller's verdict is not held back from the agent (tests/test_self_ratings.py covers that)."""
    call, transcript = twilio.play(start(agent), keys)
    with twilio.app.app_context():
        response_id = db.session.scalar(
            select(SurveyResponse.id).where(SurveyResponse.survey_call_sid == call.call_sid)
        )
        assert response_id is not None
        call_id = db.session.scalar(select(Call.id).where(Call.call_sid == call.call_sid))
        earlier = datetime.now(UTC) - timedelta(hours=3, days=days_ago)
        db.session.execute(update(AgentLeg).where(AgentLeg.call_id == call_id).values(ended_at=earlier))
        db.session.commit()
        if days_ago:
            # In Python, not SQL: date arithmetic differs between the two databases.
            response = db.session.get(SurveyResponse, response_id)
            assert response is not None and response.score is not None
            response.started_at -= timedelta(days=days_ago)
            response.score.started_at = response.started_at
            db.session.commit()
    return response_id, transcript.recording_sids


def agent_id(app: Flask, ref: str) -> int:
    with app.app_context():
        found = db.session.scalar(select(Agent.id).where(Agent.ref == ref))
        assert found is not None
        return found


# -- the numbers, against hand-computed values --------------------------------------------------


def test_an_agents_numbers_are_the_last_30_days_against_the_30_before(app: Flask, twilio: Twilio) -> None:
    set_up_team(app)
    with app.app_context():
        organisation.save_agent("bob", team="Support")
    # The last 30 days: CSAT 5, 4, 2, 1; NPS 9 (promoter), 7 (passive), 3 and 0 (detractors);
    # resolved yes, yes, no, and one hung up before the question.
    play(twilio, ["5", "9", "1", "rec:3"])
    play(twilio, ["4", "7", "1", "rec:3"])
    play(twilio, ["2", "3", "2", "1", "rec:3"])
    play(twilio, LOW)
    # The 30 days before: CSAT 3 and 5; NPS 8 (passive) and 9 (promoter); resolved yes, no.
    play(twilio, ["3", "8", "1", "rec:3"], days_ago=40)
    play(twilio, ["5", "9", "2", "1", "rec:3"], days_ago=45)
    # Neither period: too old, or another agent's.
    play(twilio, LOW, days_ago=70)
    play(twilio, LOW, agent="bob")

    with app.app_context():
        numbers = agent_summary.agent_numbers(agent_id(app, "alice"))
    now, before = numbers.current, numbers.previous
    assert now.responses == 4
    assert now.csat_counts == {1: 1, 2: 1, 3: 0, 4: 1, 5: 1}
    assert (now.bottom_box, now.top_box) == (0.5, 0.5)
    assert (now.promoters, now.detractors, now.nps_answers, now.nps) == (1, 2, 4, -25.0)
    assert (now.resolved, now.resolution_answers) == (2, 3)
    assert now.resolution_rate == pytest.approx(2 / 3)

    assert before.responses == 2
    assert before.csat_counts == {1: 0, 2: 0, 3: 1, 4: 0, 5: 1}
    assert (before.bottom_box, before.top_box) == (0.0, 0.5)
    assert (before.promoters, before.detractors, before.nps_answers, before.nps) == (1, 0, 2, 50.0)
    assert before.resolution_rate == 0.5


def test_feedback_items_come_newest_first_with_the_callers_words_and_in_pages(
    app: Flask, twilio: Twilio
) -> None:
    set_up_team(app)
    play(twilio, ["4", "8", "1", "rec:4:Quick and friendly."])
    play(twilio, ["say:Very satisfied!", "say:Nine.", "say:yes, it was", "rec:0"])  # spoken, no comment
    _, [praised] = play(twilio, ["5", "9", "1", "rec:6"])
    alice = agent_id(app, "alice")
    with app.app_context():
        first = agent_summary.feedback_page(alice, limit=2)
        second = agent_summary.feedback_page(alice, before_id=first.next_before_id, limit=2)
    assert [item.kind for item in first.items] == [FeedbackKind.praise, FeedbackKind.praise]
    assert [(r.sid, r.duration_seconds) for r in first.items[0].recordings] == [(praised, 6)]
    assert first.items[1].verbatim == "Very satisfied! / Nine. / yes, it was"  # the spoken answers
    assert first.items[1].recordings == []
    assert [(item.kind, item.csat, item.verbatim) for item in second.items] == [
        (FeedbackKind.regular, 4, "Quick and friendly.")  # the comment's transcript
    ]
    assert second.next_before_id is None


# -- the page -----------------------------------------------------------------------------------


def csat_row(page: Page, score: int):  # type: ignore[no-untyped-def]
    table = page.get_by_role("table", name="CSAT answers per score")
    return table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=str(score), exact=True))


def test_an_agent_reads_their_numbers_and_feedback_newest_first_without_caller_numbers(
    app: Flask, twilio: Twilio, live_server: str, page: Page
) -> None:
    set_up_team(app)
    make_user(app, "alice@example.com", "agent", agent="alice")
    play(twilio, ["3", "8", "1", "rec:3"], days_ago=35)
    play(twilio, ["4", "8", "1", "rec:5"])
    play(twilio, LOW)
    play(twilio, ["5", "9", "1", "rec:6:Alice sorted it out in two minutes, thank you."])

    sign_in(page, live_server, "alice@example.com")
    expect(page).to_have_url(live_server + "/me")
    expect(page.get_by_role("heading", name="My feedback", exact=True)).to_be_visible()
    expected = {1: ("1", "0"), 2: ("0", "0"), 3: ("0", "1"), 4: ("1", "0"), 5: ("1", "0")}
    for score, counts in expected.items():
        expect(csat_row(page, score).get_by_role("cell")).to_have_text(list(counts))
    expect(page.locator("canvas[data-chart='csat-chart']")).to_be_visible()
    expect(page.get_by_text("Responses", exact=True)).to_be_visible()
    # The weekly trend: this period's weeks against the period before, each chart with its table.
    expect(page.get_by_role("heading", name="Weekly trend")).to_be_visible()
    expect(page.locator("canvas[data-chart='trend-responses']")).to_be_visible()

    items = page.get_by_role("list", name="Feedback, newest first").get_by_role("listitem")
    expect(items).to_have_count(4)
    expect(items).to_contain_text(["CSAT 5", "CSAT 1", "CSAT 4", "CSAT 3"])
    expect(items.nth(0).get_by_text("Praise", exact=True)).to_be_visible()
    expect(items.nth(0)).to_contain_text("Alice sorted it out in two minutes, thank you.")
    expect(items.nth(0).get_by_label("The caller's comment (6 seconds)")).to_be_visible()
    expect(items.nth(1).get_by_text("Low score", exact=True)).to_be_visible()
    for other in (items.nth(2), items.nth(3)):
        expect(other.get_by_text("Praise", exact=True)).to_have_count(0)

    html = page.content()
    assert CALLER not in html and CALLER[-4:] not in html and "•" not in html


def test_a_new_agent_sees_what_will_appear_and_when(app: Flask, live_server: str, page: Page) -> None:
    set_up_team(app)
    make_user(app, "alice@example.com", "agent", agent="alice")
    sign_in(page, live_server, "alice@example.com")
    expect(page.get_by_role("heading", name="No feedback yet")).to_be_visible()
    expect(page.get_by_text("Scores arrive within minutes of a survey ending.")).to_be_visible()
    expect(page.get_by_role("table")).to_have_count(0)


def test_the_page_fits_a_phone(app: Flask, twilio: Twilio, live_server: str, page: Page) -> None:
    set_up_team(app)
    make_user(app, "alice@example.com", "agent", agent="alice")
    play(twilio, ["5", "9", "1", "rec:6:Lovely."])
    page.set_viewport_size({"width": 360, "height": 740})
    sign_in(page, live_server, "alice@example.com")
    expect(page.get_by_label("The caller's comment (6 seconds)")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


# -- recordings ---------------------------------------------------------------------------------


def test_an_agent_plays_their_recording_through_the_app_and_never_anothers(
    app: Flask, twilio: Twilio, twilio_api: HttpRecorder, live_server: str, page: Page
) -> None:
    set_up_team(app)
    with app.app_context():
        organisation.save_agent("bob", team="Support")
    make_user(app, "alice@example.com", "agent", agent="alice")
    make_user(app, "bob@example.com", "agent", agent="bob")
    _, [own] = play(twilio, ["5", "9", "1", "rec:6"])
    _, [bobs] = play(twilio, ["2", "3", "1", "rec:4"], agent="bob")
    audio = b"ID3" + bytes(range(256)) * 8
    twilio_api.recordings.update({own: audio, bobs: audio})

    sign_in(page, live_server, "alice@example.com")
    player = page.get_by_label("The caller's comment (6 seconds)")
    expect(player).to_have_attribute("src", f"/recordings/{own}")
    expect(player).to_have_attribute("controls", "")

    whole = page.request.get(f"{live_server}/recordings/{own}")
    assert whole.status == 200 and whole.body() == audio
    assert whole.headers["content-type"] == "audio/mpeg"
    seek = page.request.get(f"{live_server}/recordings/{own}", headers={"Range": "bytes=100-199"})
    assert seek.status == 206 and seek.body() == audio[100:200]
    assert seek.headers["content-range"] == f"bytes 100-199/{len(audio)}"

    fetched = len(twilio_api.received)
    assert page.request.get(f"{live_server}/recordings/{bobs}").status == 404
    assert page.request.get(f"{live_server}/recordings/RE{'0' * 32}").status == 404
    assert len(twilio_api.received) == fetched  # refused before anything reached Twilio
    assert all(
        r.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{own}.mp3" for r in twilio_api.received
    )


def test_a_recording_url_asks_for_sign_in_first(app: Flask, twilio: Twilio) -> None:
    set_up_team(app)
    _, [sid] = play(twilio, ["5", "9", "1", "rec:6"])
    answer = app.test_client().get(f"/recordings/{sid}")
    assert answer.status_code == 302 and re.search(r"/login\?next=/recordings/", answer.headers["Location"])
