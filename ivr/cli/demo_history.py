"""Six weeks of demo calls for a laptop, so that every page has something to show.

Each demo response is written as a survey would leave it (call, agent leg, response, answers, a
comment's transcript) and then scored by the real scoring service, which writes the feedback
items and opens the callback tasks of the extreme lows. Agents differ on purpose (one excellent,
one uneven, one struggling) and most old tasks are closed, a few left open or overdue.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from ivr.extensions import db
from ivr.models import (
    AgentLeg,
    Answer,
    AnswerStatus,
    Call,
    CallbackTask,
    CallbackTaskEvent,
    Disposition,
    FeedbackItem,
    Forecast,
    LanguageSource,
    Recording,
    SelfRating,
    SurveyResponse,
    TaskStatus,
    Team,
    TranscriptStatus,
    User,
    as_utc,
    utcnow,
)
from ivr.services.closed_loop import scoring
from ivr.services.consent.privacy import number_hash
from ivr.services.conversation.flow_versions import registry
from ivr.services.perception import forecasts
from ivr.settings import settings

DAYS = 42
PRAISE = [
    "Alice was wonderful, she sorted my bill out in minutes.",
    "Really helpful and friendly, thank you so much.",
    "Quick answer and very polite, great service.",
    "The agent explained everything clearly. Excellent.",
]
COMPLAINTS = [
    "I was transferred three times and nobody could help me.",
    "Terrible wait, and the problem is still not fixed.",
    "The agent was rude and hung up on me.",
    "I have called four times about the same charge, this is awful.",
]
NEUTRAL = ["It was okay I suppose.", "Fine, thanks.", "The call was alright but took a while."]


@dataclass(frozen=True)
class Profile:
    """How an agent's callers tend to answer: CSAT weights for 1..5."""

    csat_weights: tuple[int, int, int, int, int]
    calls_per_day: float
    # Answered calls that never reach the survey (the dashboard's survey-offer rate).
    unsurveyed: float = 0.05


PROFILES = [
    Profile((1, 1, 4, 18, 30), 3.0),  # excellent
    Profile((4, 5, 10, 14, 10), 2.5),  # uneven
    Profile((7, 7, 9, 7, 4), 2.0, unsurveyed=0.35),  # struggling, and keeps callers from the survey
]
# Callers who keep calling and keep being unhappy: the dashboard's callers at risk.
REGULARS = ["+15550107001", "+15550107002", "+15550107003"]


def seed_history(agents: list[tuple[int, str]], closer: User | None, rng: random.Random | None = None) -> int:
    """Write six weeks of scored responses for these (agent id, queue) pairs (once: nothing when
    responses exist).
    Returns how many responses were written."""
    if db.session.scalar(select(SurveyResponse.id).limit(1)) is not None:
        return 0
    rng = rng or random.Random(20261123)
    published = registry().current(settings().default_flow)
    assert published is not None, "the default flow is checked at start"
    version_id = published.version_id
    db.session.commit()
    now = utcnow()
    written = 0
    for index, (agent_id, queue) in enumerate(agents):
        profile = PROFILES[index % len(PROFILES)]
        for day in range(DAYS, -1, -1):
            for _ in range(_poisson(rng, profile.calls_per_day)):
                started = now - timedelta(days=day, hours=rng.uniform(0, 9), minutes=rng.uniform(0, 59))
                if started > now - timedelta(minutes=10):
                    continue
                if rng.random() < profile.unsurveyed:
                    _write_call(rng, agent_id, queue, started, _caller(rng))
                    continue
                response_id = _write_response(rng, agent_id, queue, version_id, profile, started)
                scoring.score(response_id)
                written += 1
    _work_the_old_tasks(rng, closer, now)
    _forecasts(rng, now)
    return written


def _forecasts(rng: random.Random, now: datetime) -> None:
    """Each supervisor's forecasts for the past weeks (not this one: theirs to state), a little
    hopeful, as forecasts are."""
    this_week = forecasts.week_of(now)
    for team in db.session.scalars(select(Team).where(Team.supervisor_id.is_not(None))):
        stated_by = db.session.scalar(select(User).where(User.supervisor_id == team.supervisor_id))
        if stated_by is None:
            continue
        for weeks_ago in range(1, 6):
            db.session.add(
                Forecast(
                    team_id=team.id,
                    week_start=this_week - timedelta(weeks=weeks_ago),
                    top_box_share=rng.choice([0.8, 0.85, 0.85, 0.9]),
                    stated_by_id=stated_by.id,
                )
            )
    db.session.commit()


def _poisson(rng: random.Random, mean: float) -> int:
    count, limit, product = 0, pow(2.718281828, -mean), rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _caller(rng: random.Random) -> str:
    return f"+1555{rng.randint(1000000, 1999999)}"


def _write_call(rng: random.Random, agent_id: int, queue: str, started: datetime, caller: str) -> Call:
    """A call the agent answered (its agent leg), with or without a survey after it."""
    call = Call(
        call_sid="CA" + uuid.UUID(int=rng.getrandbits(128)).hex,
        from_number=caller,
        from_hash=number_hash(caller),
        to_number="+15005550001",
        queue=queue,
        status="completed",
        started_at=started - timedelta(minutes=6),
        ended_at=started + timedelta(minutes=2),
    )
    db.session.add(call)
    db.session.flush()
    db.session.add(
        AgentLeg(
            call_id=call.id,
            agent_id=agent_id,
            sequence=1,
            queue=queue,
            outcome="completed",
            started_at=call.started_at,
            ended_at=started,
        )
    )
    return call


def _self_rate(rng: random.Random, call: Call, agent_id: int, csat: int, ended: datetime) -> None:
    """Most agents rate most calls before the window closes, a little more hopefully than callers
    (the gap the agent page shows); the last two hours' calls are left for the demo agent to rate."""
    if ended > utcnow() - timedelta(hours=2) or rng.random() < 0.3:
        return
    hopeful = min(5, max(1, csat + rng.choice([-1, 0, 0, 1, 1, 2])))
    db.session.add(
        SelfRating(
            call_id=call.id,
            agent_id=agent_id,
            rating=hopeful,
            resolved=None,
            rated_at=ended + timedelta(minutes=rng.randint(1, 90)),
            source="web",
        )
    )


def _write_response(
    rng: random.Random, agent_id: int, queue: str, version_id: int, profile: Profile, started: datetime
) -> int:
    csat = rng.choices([1, 2, 3, 4, 5], weights=profile.csat_weights)[0]
    recent = started > utcnow() - timedelta(days=28)
    caller = rng.choice(REGULARS) if csat == 1 and recent and rng.random() < 0.5 else _caller(rng)
    call = _write_call(rng, agent_id, queue, started, caller)
    finished = rng.random() > 0.12
    response = SurveyResponse(
        call_id=call.id,
        survey_call_sid=call.call_sid,
        flow_version_id=version_id,
        agent_id=agent_id,
        queue=queue,
        language="en",
        language_source=LanguageSource.ivr,
        disposition=Disposition.completed if finished else Disposition.partial,
        started_at=started,
        ended_at=started + timedelta(minutes=2),
    )
    db.session.add(response)
    db.session.flush()
    _self_rate(rng, call, agent_id, csat, started)
    nps = max(0, min(10, csat * 2 + rng.randint(-2, 1)))
    resolved = "yes" if csat >= 3 and rng.random() > 0.15 else "no"
    answers: list[tuple[str, str, int | None]] = [("csat", str(csat), csat), ("nps", str(nps), nps)]
    if finished:
        answers.append(("resolved", resolved, None))
    for key, value, number in answers:
        db.session.add(
            Answer(
                response_id=response.id,
                step_key=key,
                status=AnswerStatus.answered,
                raw_input=value,
                value=value,
                number=number,
                answered_at=started,
            )
        )
    if finished and rng.random() < 0.45:
        words = rng.choice(PRAISE if csat >= 4 else COMPLAINTS if csat <= 2 else NEUTRAL)
        sid = "RE" + uuid.UUID(int=rng.getrandbits(128)).hex
        db.session.add(
            Answer(
                response_id=response.id,
                step_key="comment",
                status=AnswerStatus.answered,
                raw_input=sid,
                value="recorded",
                answered_at=started,
            )
        )
        db.session.add(
            Recording(
                response_id=response.id,
                step_key="comment",
                recording_sid=sid,
                duration_seconds=9,
                media_url=f"https://api.twilio.com/demo/{sid}",
                status="completed",
                transcript_status=TranscriptStatus.completed,
                transcript=words,
                transcribed_at=started,
            )
        )
    db.session.commit()
    return response.id


def _work_the_old_tasks(rng: random.Random, closer: User | None, now: datetime) -> None:
    """Tasks older than four days were worked: most closed, a few left overdue."""
    config = settings()
    tasks = db.session.scalars(select(CallbackTask)).all()
    for task in tasks:
        due = as_utc(task.due_at)
        if due > now - timedelta(days=4) or rng.random() < 0.15:
            continue  # recent ones are open; a few old ones were forgotten (overdue)
        task.status = TaskStatus.done
        task.outcome = rng.choice(config.task_outcomes)
        task.root_cause = rng.choice(config.task_root_causes)
        task.closed_by = closer
        task.closed_at = due - timedelta(hours=rng.uniform(1, 20))
        task.events.append(
            CallbackTaskEvent(action="done", actor=closer, detail=f"{task.outcome} / {task.root_cause}")
        )
    # Scoring dates tasks and feedback "now"; give them the dates of their calls.
    for model in (CallbackTask, FeedbackItem):
        db.session.execute(
            update(model)
            .where(model.response_id == SurveyResponse.id)
            .values(created_at=SurveyResponse.ended_at)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
