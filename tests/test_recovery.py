"""Proving recovery: a follow-up after every callback closed as done, linked to its task, through
the outbound survey machinery and whole calls; the recovery rate; callers likely to leave."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flask import Flask

from ivr.extensions import db
from ivr.jobs.scheduled import housekeeping
from ivr.models import CallbackTask, ListSource, Notification, OutboundState, OutboundSurvey, utcnow
from ivr.services import policy
from ivr.services.closed_loop import callback_tasks, recovery
from ivr.services.consent import do_not_survey
from ivr.services.consent.privacy import number_hash
from ivr.services.organisation import users
from tests.helpers import ACCOUNT_SID, ALICE, LOW, Twilio, rows, run_worker, set_up_team
from tests.local_servers import HttpRecorder, private_redis

PUBLIC = "https://survey.example.com"
CRM = "https://crm.example.com/hook"


def _app(app_factory: Callable[..., Flask], twilio_api: HttpRecorder, **settings: object) -> Flask:
    app = app_factory(
        twilio_api_base_url=twilio_api.url,
        twilio_account_sid=ACCOUNT_SID,
        twilio_caller_id="+15005550100",
        public_base_url=PUBLIC,
        **settings,
    )
    return app


def _task(app: Flask, caller: str) -> int:
    Twilio(app, app.test_client(), base_url=PUBLIC).play(ALICE, LOW, from_number=caller)
    with app.app_context():
        task_id = db.session.scalar(db.select(CallbackTask.id).order_by(CallbackTask.id.desc()))
    assert task_id is not None
    return task_id


def _close(app: Flask, task_id: int, outcome: str = "resolved") -> list[str]:
    """Sam closes the task; the actions now on its history."""
    with app.app_context():
        sam = users.find("sam@example.com")
        assert sam is not None
        task = callback_tasks.close(task_id, sam, outcome, "billing")
        return [event.action for event in task.events]


def _answer_follow_up(app: Flask, twilio_api: HttpRecorder, task_id: int, keys: list[str]) -> None:
    """A day later housekeeping places the task's follow-up call; the caller answers it."""
    with app.app_context():
        db.session.execute(
            db.update(OutboundSurvey)
            .where(OutboundSurvey.task_id == task_id)
            .values(call_at=utcnow() - timedelta(minutes=1))
        )
        db.session.commit()
        housekeeping(min_age_seconds=0)
    placed = twilio_api.received[-1].form
    Twilio(app, app.test_client(), base_url=PUBLIC).play(
        placed["Url"].removeprefix(PUBLIC),
        keys,
        call_sid=twilio_api.calls[-1]["sid"],
        from_number=placed["To"],
    )


def test_a_task_closed_as_done_plans_exactly_one_follow_up_after_the_delay(
    app_factory: Callable[..., Flask], twilio_api: HttpRecorder
) -> None:
    app = _app(app_factory, twilio_api)
    set_up_team(app)
    task_id = _task(app, "+15551230091")
    before = datetime.now(UTC)
    assert _close(app, task_id)[-2:] == ["done", "follow-up planned"]
    with app.app_context():
        (row,) = db.session.scalars(db.select(OutboundSurvey)).all()
        assert (row.task_id, row.flow_key, row.to_number, row.state) == (
            task_id,
            "follow-up",
            "+15551230091",
            OutboundState.scheduled,
        )
        assert row.agent_ref is None and row.queue is None  # the answer is not about the agent's call
        due = row.call_at if row.call_at.tzinfo else row.call_at.replace(tzinfo=UTC)
        assert timedelta(hours=23, minutes=59) < due - before < timedelta(hours=24, minutes=1)
        assert housekeeping(min_age_seconds=0).outbound == []  # not due for a day
    assert [r for r in twilio_api.received if r.path.endswith("/Calls.json")] == []


def test_no_follow_up_for_a_number_on_the_do_not_survey_list_or_an_unreachable_caller(
    app_factory: Callable[..., Flask], twilio_api: HttpRecorder
) -> None:
    app = _app(app_factory, twilio_api)
    set_up_team(app)
    listed, unreachable = _task(app, "+15551230092"), _task(app, "+15551230093")
    with app.app_context():
        do_not_survey.add_hash(number_hash("+15551230092"), ListSource.admin)
        db.session.commit()
    assert _close(app, listed)[-1] == "no follow-up"
    assert _close(app, unreachable, outcome="unreachable")[-1] == "done"  # nobody was reached
    with app.app_context():
        task = db.session.get(CallbackTask, listed)
        assert task is not None and "do-not-survey" in (task.events[-1].detail or "")
        assert db.session.scalars(db.select(OutboundSurvey)).all() == []


def test_the_follow_up_answer_is_linked_to_the_task_and_counts_in_the_recovery_rate(
    app_factory: Callable[..., Flask], twilio_api: HttpRecorder
) -> None:
    app = _app(app_factory, twilio_api)
    set_up_team(
        app, channels=["webhook"], webhook_url="https://crm.example.com/hook", webhook_secret="s3cret"
    )
    won, lost = _task(app, "+15551230094"), _task(app, "+15551230095")
    for task_id in (won, lost):
        _close(app, task_id)
    _answer_follow_up(app, twilio_api, won, ["5", "5"])
    _answer_follow_up(app, twilio_api, lost, ["2", "1"])

    with app.app_context():
        assert db.session.get(CallbackTask, won).events[-1].detail == "satisfied now: 5"  # type: ignore[union-attr]
        sam = policy.for_user(users.find("sam@example.com"))  # type: ignore[arg-type]
        found = recovery.recovery(sam, utcnow() - timedelta(days=1), utcnow() + timedelta(days=1))
        assert (found.total.followed_up, found.total.answered, found.total.recovered) == (2, 2, 1)
        assert found.total.rate == 0.5
        assert [(r.label, r.rate) for r in found.by_team] == [("Support", 0.5)]
        assert [(r.label, r.followed_up) for r in found.by_root_cause] == [("billing", 2)]
        # Neither caller was at risk (one extreme low each): nobody is likely to leave.
        assert [t.likely_to_leave for t in rows(app, CallbackTask)] == [False, False]


def test_a_caller_at_risk_who_is_not_won_back_is_likely_to_leave_and_goes_to_the_crm(
    app_factory: Callable[..., Flask], twilio_api: HttpRecorder
) -> None:
    app = _app(app_factory, twilio_api)
    set_up_team(
        app, channels=["webhook"], webhook_url="https://crm.example.com/hook", webhook_secret="s3cret"
    )
    _task(app, "+15551230096")
    task_id = _task(app, "+15551230096")  # a second extreme low in 30 days: at risk
    _close(app, task_id)
    _answer_follow_up(app, twilio_api, task_id, ["2", "1"])
    with app.app_context():
        task = db.session.get(CallbackTask, task_id)
        assert task is not None and task.at_risk and task.likely_to_leave
        assert [e.action for e in task.events][-2:] == ["followed up", "likely to leave"]
        (sent,) = db.session.scalars(db.select(Notification).where(Notification.event == "likely_to_leave"))
        assert (sent.channel.value, sent.recipient, sent.task_id) == (
            "webhook",
            "https://crm.example.com/hook",
            task_id,
        )


def test_redis_lost_between_the_close_and_the_delay_still_gives_exactly_one_follow_up(
    app_factory: Callable[..., Flask], twilio_api: HttpRecorder
) -> None:
    """The follow-up is an outbound-survey row from the close on: Redis stopped (and its queued
    job lost) before the delay is over, housekeeping places it once, however often it runs.
    (A worker killed mid-placement is the outbound machinery's own test: test_outbound.py.)"""
    with private_redis() as redis_server:
        app = _app(app_factory, twilio_api, redis_url=redis_server.url)
        set_up_team(app)
        Twilio(app, app.test_client(), base_url=PUBLIC).play(ALICE, LOW, from_number="+15551230097")
        run_worker(app, redis_server.url)  # scores the response: the task opens
        (task,) = rows(app, CallbackTask)
        assert _close(app, task.id)[-1] == "follow-up planned"
        redis_server.stop()  # the scheduled job goes with it
        redis_server.start()
        with app.app_context():
            db.session.execute(db.update(OutboundSurvey).values(call_at=utcnow() - timedelta(minutes=1)))
            db.session.commit()
            (due,) = housekeeping(min_age_seconds=0).outbound
        run_worker(app, redis_server.url)
        with app.app_context():
            assert housekeeping(min_age_seconds=0).outbound == []  # placed: nothing left to do
        run_worker(app, redis_server.url)
    (row,) = [r for r in rows(app, OutboundSurvey) if r.id == due]
    assert row.state is OutboundState.placed and row.task_id == task.id
    assert len(twilio_api.calls) == 1
