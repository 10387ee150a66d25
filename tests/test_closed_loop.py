"""The closed loop through whole calls: scores, feedback items, callback tasks, escalation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from ivr.extensions import db
from ivr.jobs.scheduled import escalate_task, housekeeping, send_digests
from ivr.jobs.scoring import score_response
from ivr.models import (
    Agent,
    AgentLeg,
    CallbackTask,
    FeedbackItem,
    FeedbackKind,
    Notification,
    NotificationStatus,
    Score,
    SurveyResponse,
    TaskStatus,
)
from ivr.services.organisation import teams as organisation
from ivr.services.perception import self_ratings
from tests.helpers import ALICE, LOW, Twilio, rows, set_up_team, utc

PRAISE = ["5", "10", "1"]  # CSAT 5, NPS 10, resolved
MIDDLE = ["3", "7", "1"]


@pytest.fixture
def team_app(app: Flask) -> Flask:
    set_up_team(app)
    return app


def test_an_extreme_low_opens_one_callback_task_for_the_team_supervisor(
    team_app: Flask, twilio: Twilio
) -> None:
    twilio.play(ALICE, LOW, from_number="+15551230001")

    [score] = rows(team_app, Score)
    assert (score.csat, score.csat_bottom_box, score.csat_top_box, score.extreme_low) == (
        1,
        True,
        False,
        True,
    )
    [task] = rows(team_app, CallbackTask)
    [response] = rows(team_app, SurveyResponse)
    with team_app.app_context():
        task = db.session.get(CallbackTask, task.id)
        assert task.assignee.name == "Sam" and task.team.name == "Support" and task.agent.ref == "alice"
        assert task.status is TaskStatus.open and task.escalation_level == 0
        assert task.caller_number == "+15551230001" and task.at_risk is False
        # Due the flow's 24 hours after the survey ended.
        assert utc(task.due_at) - utc(response.ended_at) == timedelta(hours=24)
        assert [event.action for event in task.events] == ["opened"]
    [item] = rows(team_app, FeedbackItem)
    assert item.kind is FeedbackKind.low and item.csat == 1 and item.nps == 0


def test_middling_scores_open_no_task_and_praise_is_sent_once_the_agent_has_rated_the_call(
    team_app: Flask, twilio: Twilio
) -> None:
    twilio.play(ALICE, MIDDLE)
    praised, _ = twilio.play(ALICE, PRAISE)

    assert rows(team_app, CallbackTask) == []
    middle, praise = rows(team_app, FeedbackItem)
    assert (middle.kind, middle.delivered_at) == (FeedbackKind.regular, None)  # waits for the digest
    # Held back while Alice can still say, blind, how she thinks the caller felt.
    assert praise.kind is FeedbackKind.praise and praise.delivered_at is None
    assert rows(team_app, Notification) == []
    with team_app.app_context():
        alice = db.session.scalar(select(Agent.id).where(Agent.ref == "alice"))
        assert alice is not None
        self_ratings.rate(alice, praised.call_sid, 4)
    [praise] = [item for item in rows(team_app, FeedbackItem) if item.id == praise.id]
    assert praise.delivered_at is not None
    [sent_at_once] = rows(team_app, Notification)
    assert (sent_at_once.event, sent_at_once.recipient) == ("feedback", "alice@example.com")
    assert sent_at_once.feedback_item_id == praise.id
    # No SMTP server is configured: the one attempt fails, and says why.
    assert sent_at_once.status is NotificationStatus.failed and sent_at_once.attempts == 1
    assert "SMTP_HOST is not set" in (sent_at_once.last_error or "")

    [score_middle, score_praise] = rows(team_app, Score)
    assert score_praise.extreme_high and score_praise.csat_top_box
    assert (
        not score_middle.extreme_high and not score_middle.csat_top_box and not score_middle.csat_bottom_box
    )


def test_the_daily_digest_collects_the_rest_once(team_app: Flask, twilio: Twilio) -> None:
    twilio.play(ALICE, MIDDLE)
    twilio.play(ALICE, ["4", "8", "1"])
    with team_app.app_context():
        [digest_id] = send_digests()
        assert send_digests() == []  # nothing new since
        digest = db.session.get(Notification, digest_id)
        assert digest.event == "digest" and digest.recipient == "alice@example.com"
        assert "CSAT 3, NPS 7, resolved" in digest.body and "CSAT 4, NPS 8, resolved" in digest.body
        assert db.session.scalar(select(func.count()).where(FeedbackItem.delivered_at.is_(None))) == 0


def test_immediate_preference_sends_every_item_at_once_when_nothing_is_held_back(app_factory: Any) -> None:
    app = app_factory(self_rating_window_minutes=0)  # no blind self-rating window
    set_up_team(app)
    with app.app_context():
        organisation.save_agent("alice", feedback_delivery="immediate")
    Twilio(app, app.test_client()).play(ALICE, MIDDLE)
    [notification] = rows(app, Notification)
    assert notification.event == "feedback"


def test_held_feedback_goes_out_when_the_window_is_over(team_app: Flask, twilio: Twilio) -> None:
    twilio.play(ALICE, PRAISE)
    [praise] = rows(team_app, FeedbackItem)
    with team_app.app_context():
        assert housekeeping().feedback_released == []  # still within the window
        db.session.execute(update(AgentLeg).values(ended_at=datetime.now(UTC) - timedelta(hours=3)))
        db.session.commit()
        assert housekeeping().feedback_released == [praise.id]
        assert housekeeping().feedback_released == []  # once
    [sent] = rows(team_app, Notification)
    assert sent.feedback_item_id == praise.id


def test_no_feedback_without_an_answer_about_the_agent(team_app: Flask, twilio: Twilio) -> None:
    twilio.play(ALICE, ["!"])  # breakoff before the first answer
    twilio.play("/voice/survey?lang=en", MIDDLE)  # no agent named
    assert rows(team_app, FeedbackItem) == []
    assert len(rows(team_app, Score)) == 2


def test_a_partial_response_is_scored_from_what_it_has(team_app: Flask, twilio: Twilio) -> None:
    twilio.play(ALICE, ["2", "!"])
    [score] = rows(team_app, Score)
    assert (score.csat, score.nps, score.resolved, score.csat_bottom_box) == (2, None, None, True)
    [item] = rows(team_app, FeedbackItem)
    assert item.kind is FeedbackKind.regular


def test_the_same_scoring_job_twice_leaves_one_of_everything(app: Flask, twilio: Twilio) -> None:
    set_up_team(app, channels=["email", "sms"])
    twilio.play(ALICE, LOW)
    counts = {model: len(rows(app, model)) for model in (Score, FeedbackItem, CallbackTask, Notification)}
    assert counts == {
        Score: 1,
        FeedbackItem: 1,
        CallbackTask: 1,
        Notification: 2,
    }  # sms+e-mail to Sam (Alice's e-mail waits until she rates the call, or for the window)
    with app.app_context():
        response_id = db.session.scalar(select(SurveyResponse.id))
        score_response(response_id)
        score_response(response_id)
    assert {model: len(rows(app, model)) for model in counts} == counts


def test_two_extreme_lows_in_30_days_flag_the_caller_at_risk(team_app: Flask, twilio: Twilio) -> None:
    twilio.play(ALICE, LOW, from_number="+15551230002")
    twilio.play(ALICE, MIDDLE, from_number="+15551230002")
    twilio.play(ALICE, LOW, from_number="+15551239999")  # someone else
    twilio.play(ALICE, LOW, from_number="+15551230002")
    first, other, second = rows(team_app, CallbackTask)
    assert (first.at_risk, other.at_risk, second.at_risk) == (False, False, True)


def test_a_task_open_at_its_deadline_is_escalated_once_and_notified(app: Flask, twilio: Twilio) -> None:
    set_up_team(app, channels=["email"])
    twilio.play(ALICE, LOW)
    [task] = rows(app, CallbackTask)
    with app.app_context():
        assert escalate_task(task.id) is False  # not due yet
        db.session.execute(update(CallbackTask).values(due_at=datetime.now(UTC) - timedelta(minutes=1)))
        db.session.commit()
        assert escalate_task(task.id) is True
        assert escalate_task(task.id) is False  # a second run (or a retry) changes nothing
        assert housekeeping().escalated == []
        task = db.session.get(CallbackTask, task.id)
        assert task.status is TaskStatus.escalated and task.escalation_level == 1
        assert task.assignee.name == "Morgan"
        assert [event.action for event in task.events] == ["opened", "escalated"]
        notes = db.session.scalars(
            select(Notification).filter_by(task_id=task.id).order_by(Notification.id)
        ).all()
        assert [(n.event, n.recipient) for n in notes] == [
            ("task_opened", "sam@example.com"),
            ("task_escalated", "morgan@example.com"),
        ]
        assert notes[1].body.startswith("ESCALATED: callback overdue")


def test_housekeeping_escalates_a_deadline_whose_job_was_lost(app: Flask, twilio: Twilio) -> None:
    set_up_team(app)
    twilio.play(ALICE, LOW)
    twilio.play(ALICE, LOW)
    with app.app_context():
        first = db.session.scalar(select(CallbackTask.id).order_by(CallbackTask.id))
        db.session.execute(
            update(CallbackTask)
            .where(CallbackTask.id == first)
            .values(due_at=datetime.now(UTC) - timedelta(hours=1))
        )
        db.session.commit()
        assert housekeeping().escalated == [first]
    statuses = [task.status for task in rows(app, CallbackTask)]
    assert statuses == [TaskStatus.escalated, TaskStatus.open]


def test_claimed_tasks_are_not_escalated(team_app: Flask, twilio: Twilio) -> None:
    twilio.play(ALICE, LOW)
    runner = team_app.test_cli_runner()
    assert runner.invoke(args=["tasks", "claim", "1", "--by", "sam@example.com"]).exit_code == 0
    with team_app.app_context():
        db.session.execute(update(CallbackTask).values(due_at=datetime.now(UTC) - timedelta(hours=1)))
        db.session.commit()
        assert housekeeping().escalated == []


def test_cli_lists_claims_and_closes_tasks(app_factory: Callable[..., Flask]) -> None:
    app = app_factory()
    set_up_team(app)
    twilio = Twilio(app, app.test_client())
    runner = app.test_cli_runner()
    assert "No callback tasks yet." in runner.invoke(args=["tasks", "list"]).output

    twilio.play(ALICE, LOW, from_number="+15551230003")
    listing = runner.invoke(args=["tasks", "list", "--status", "open"])
    assert listing.exit_code == 0
    assert "alice" in listing.output and "Sam" in listing.output and "+15551230003" in listing.output
    assert "in 24.0 h" in listing.output or "in 23.9 h" in listing.output

    claimed = runner.invoke(args=["tasks", "claim", "1", "--by", "sam@example.com"])
    assert claimed.exit_code == 0 and "claimed by Sam" in claimed.output
    taken = runner.invoke(args=["tasks", "claim", "1", "--by", "morgan@example.com"])
    assert taken.exit_code == 1 and "already claimed by Sam" in taken.output

    no_cause = runner.invoke(args=["tasks", "close", "1", "--by", "sam@example.com", "--outcome", "resolved"])
    assert no_cause.exit_code == 2 and "--root-cause" in no_cause.output
    closed = runner.invoke(
        args=[
            "tasks",
            "close",
            "1",
            "--by",
            "sam@example.com",
            "--outcome",
            "resolved",
            "--root-cause",
            "billing",
        ]
    )
    assert closed.exit_code == 0, closed.output
    again = runner.invoke(
        args=[
            "tasks",
            "close",
            "1",
            "--by",
            "sam@example.com",
            "--outcome",
            "resolved",
            "--root-cause",
            "billing",
        ]
    )
    assert again.exit_code == 1 and "already done" in again.output

    shown = runner.invoke(args=["tasks", "show", "1"])
    assert "Outcome: resolved, root cause billing" in shown.output
    assert "claimed by Sam" in shown.output and "done by Sam: resolved / billing" in shown.output
    assert "csat                 1" in shown.output
    assert "No callback tasks match." in runner.invoke(args=["tasks", "list", "--status", "open"]).output


def test_team_set_up_refuses_what_cannot_work(app: Flask) -> None:
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["teams", "save", "Support", "--supervisor", "Nobody"])
    assert unknown.exit_code == 1 and "no supervisor named 'Nobody'" in unknown.output
    unsigned = runner.invoke(
        args=["teams", "save", "Support", "--channels", "webhook", "--webhook-url", "http://x"]
    )
    assert unsigned.exit_code == 1 and "--webhook-secret" in unsigned.output
    bad = runner.invoke(args=["teams", "save", "Support", "--channels", "pager"])
    assert bad.exit_code == 1 and "unknown channel(s) ['pager']" in bad.output
