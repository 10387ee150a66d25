"""Scoring jobs on real Redis, run by a real RQ worker against the test database."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from redis import Redis
from rq import Queue
from rq.job import Job
from sqlalchemy import func, select, update

from ivr.extensions import db
from ivr.jobs import SCORES_JOB_QUEUED, SCORES_WAITING, SCORING_QUEUE
from ivr.jobs.scoring import score_response, sweep_unscored
from ivr.models import AgentScoreDay, Score, SurveyResponse, utcnow
from ivr.services.closed_loop import scoring as closed_loop_scoring
from tests.helpers import Twilio, run_worker
from tests.local_servers import free_port

START = "/voice/survey?agent=alice&queue=billing&lang=en"


def scores(app: Flask) -> list[Score]:
    with app.app_context():
        return list(db.session.scalars(select(Score).order_by(Score.response_id)))


def test_final_response_is_enqueued_on_redis_and_scored_by_a_worker(
    app_factory: Callable[..., Flask], redis_url: str, backend: str
) -> None:
    app = app_factory(redis_url=redis_url)
    twilio = Twilio(app, app.test_client())
    _call, _ = twilio.play(START, ["1", "0", "!"])

    queue = Queue(SCORING_QUEUE, connection=Redis.from_url(redis_url))
    assert queue.count == 1
    [job] = queue.jobs
    assert job.func_name == "ivr.jobs.scoring.score_waiting"  # the scoring list's job
    assert scores(app) == []  # nothing scored until a worker runs

    run_worker(app, redis_url, queues=[SCORING_QUEUE])

    assert queue.count == 0
    [score] = scores(app)
    assert (score.csat, score.nps, score.nps_category, score.extreme_low) == (1, 0, "detractor", True)
    # Succeeded: RQ deleted it (result_ttl=0, the score row is the result), and nothing failed.
    assert not Job.exists(job.id, connection=queue.connection)
    assert queue.failed_job_registry.count == 0


def test_one_job_scores_every_response_finished_while_it_waited(
    app_factory: Callable[..., Flask], redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under load the worker pays RQ's own work once for many responses; each is still scored
    (and counted, and logged) on its own, and one that fails becomes a retried job of its own."""
    app = app_factory(redis_url=redis_url)
    twilio = Twilio(app, app.test_client())
    for keys in (["1", "0", "!"], ["5", "9", "1"], ["3", "7", "!"]):
        twilio.play(START, keys)
    redis = Redis.from_url(redis_url)
    queue = Queue(SCORING_QUEUE, connection=redis)
    assert queue.count == 1  # one job for the three
    assert [int(i) for i in redis.lrange(SCORES_WAITING, 0, -1)] == [1, 2, 3]
    score = closed_loop_scoring.score

    def fails_for_the_second(response_id: int) -> object:
        if response_id == 2:
            raise RuntimeError("the database refused it")
        return score(response_id)

    monkeypatch.setattr(closed_loop_scoring, "score", fails_for_the_second)

    run_worker(app, redis_url, queues=[SCORING_QUEUE])

    assert [score.response_id for score in scores(app)] == [1, 3]
    assert redis.llen(SCORES_WAITING) == 0 and not redis.exists(SCORES_JOB_QUEUED)
    # The dashboard's daily rollups, recomputed once for the batch, count both scores.
    with app.app_context():
        [day] = db.session.scalars(select(AgentScoreDay)).all()
        assert (day.responses, day.csat_1, day.csat_3, day.extreme_lows) == (2, 1, 1, 1)
    # The failed one waits for its retry as a job of its own.
    assert queue.scheduled_job_registry.get_job_ids() == ["score-response-2"]
    twilio.play(START, ["4", "8", "1"])  # a response after the job ran queues a new job
    assert queue.count == 1 and redis.lrange(SCORES_WAITING, 0, -1) == [b"4"]


def test_a_scoring_job_waits_a_moment_for_the_next_response_and_no_second_job_is_queued(
    app_factory: Callable[..., Flask], redis_url: str
) -> None:
    """Calls end one by one: the job that scored the first waits for the next instead of ending
    (and RQ's own work being paid again for a job of its own), and while it runs the webhooks
    queue no second job."""
    app = app_factory(redis_url=redis_url, scoring_linger_seconds=2)
    Twilio(app, app.test_client()).play(START, ["5", "9", "1"])
    redis = Redis.from_url(redis_url)
    queue = Queue(SCORING_QUEUE, connection=redis)
    assert queue.count == 1
    seen_during_the_job: dict[str, object] = {}

    def a_second_call_ends() -> None:
        Twilio(app, app.test_client()).play(START, ["1", "0", "!"])
        seen_during_the_job.update(flag=redis.exists(SCORES_JOB_QUEUED), queued=queue.count)

    second = threading.Timer(0.5, a_second_call_ends)
    second.start()
    began = time.monotonic()
    run_worker(app, redis_url, queues=[SCORING_QUEUE])
    second.join()

    assert seen_during_the_job == {"flag": 1, "queued": 0}  # the first job was still running
    assert [score.response_id for score in scores(app)] == [1, 2]  # so it scored the second too
    assert 2.5 <= time.monotonic() - began < 10  # then waited 2 s more for a third, and ended
    assert redis.llen(SCORES_WAITING) == 0 and not redis.exists(SCORES_JOB_QUEUED)


def test_the_same_job_twice_leaves_one_score(app: Flask, twilio: Twilio) -> None:
    twilio.play(START, ["5", "9", "1"])
    [first] = scores(app)
    with app.app_context():
        response_id = db.session.scalar(select(SurveyResponse.id))
        assert score_response(response_id) == first.id
        assert score_response(response_id) == first.id
        assert db.session.scalar(select(func.count()).select_from(Score)) == 1
        assert score_response(999_999) is None  # a response that is gone ends quietly


def test_job_for_a_response_still_in_progress_does_nothing(app: Flask, twilio: Twilio) -> None:
    twilio.post(START, {"CallSid": "CA-open"})
    with app.app_context():
        response_id = db.session.scalar(select(SurveyResponse.id))
        assert score_response(response_id) is None
    assert scores(app) == []


def test_redis_down_loses_nothing_and_the_sweeper_catches_up(
    app_factory: Callable[..., Flask], redis_url: str
) -> None:
    down = app_factory(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    twilio = Twilio(down, down.test_client())
    _, transcript = twilio.play(START, ["2", "5", "2", "1", "rec:4"])
    assert transcript.errors == [] and transcript.heard[-1] == "Thank you for your feedback. Goodbye."
    assert scores(down) == []

    with down.app_context():
        assert sweep_unscored(min_age_seconds=60) == []  # too recent: the job may still be on its way
        db.session.execute(update(SurveyResponse).values(ended_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()

    up = app_factory(redis_url=redis_url)
    with up.app_context():
        swept = sweep_unscored(min_age_seconds=60)
    assert len(swept) == 1
    run_worker(up, redis_url, queues=[SCORING_QUEUE])
    [score] = scores(up)
    assert score.csat == 2 and score.resolved is False
    with up.app_context():
        assert sweep_unscored(min_age_seconds=0) == []


@pytest.mark.slow
@pytest.mark.parametrize("fork", [False, True])
def test_worker_command_runs_jobs_in_the_app_context(
    app_factory: Callable[..., Flask], redis_url: str, fork: bool
) -> None:
    app = app_factory(redis_url=redis_url)
    Twilio(app, app.test_client()).play(START, ["3", "!"])
    Twilio(app, app.test_client()).play(START, ["5", "10", "1"])
    result = app.test_cli_runner().invoke(args=["worker", "--burst", *(["--fork"] if fork else [])])
    assert result.exit_code == 0, result.output
    assert "worker listening on scoring" in result.output
    assert [score.csat for score in scores(app)] == [3, 5]
