"""Report queries on a few real surveys: distributions, extremes, daily trend per queue."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select, update

from ivr.extensions import db
from ivr.models import Score, SurveyResponse, utcnow
from ivr.services.insight import reports
from tests.helpers import Twilio

START = "/voice/survey?agent={agent}&queue={queue}&lang=en"


def survey(twilio: Twilio, agent: str, queue: str, keys: list[str]) -> None:
    twilio.play(START.format(agent=agent, queue=queue), keys)


def test_distributions_and_trend(app: Flask, twilio: Twilio) -> None:
    survey(twilio, "alice", "billing", ["5", "10", "1"])
    survey(twilio, "alice", "billing", ["1", "0", "2", "1"])
    survey(twilio, "alice", "tech", ["4", "8", "1"])
    survey(twilio, "bob", "tech", ["2", "!"])
    survey(twilio, "bob", "tech", ["!"])  # breakoff: scored, but no CSAT
    survey(twilio, "carol", "tech", ["5", "9", "1"])
    with app.app_context():
        # carol's survey was long ago: outside the 30-day window.
        long_ago = utcnow() - timedelta(days=45)
        carol = SurveyResponse.agent.has(ref="carol")
        db.session.execute(update(SurveyResponse).where(carol).values(started_at=long_ago))
        db.session.execute(
            update(Score)
            .where(Score.response_id.in_(select(SurveyResponse.id).where(carol)))
            .values(started_at=long_ago)
        )
        db.session.commit()

        alice = reports.agent_csat_distribution("alice")
        assert alice.counts == {5: 1, 1: 1, 4: 1}
        assert alice.total == 3
        assert alice.bottom_box == 1 / 3 and alice.top_box == 2 / 3
        assert reports.agent_csat_distribution("nobody").bottom_box is None

        team = reports.team_csat_distributions()
        assert {ref: d.counts for ref, d in team.items()} == {"alice": {5: 1, 1: 1, 4: 1}, "bob": {2: 1}}
        assert reports.team_csat_distributions(days=60)["carol"].counts == {5: 1}

        trend = reports.queue_daily_trend()
        by_queue = {point.queue: point for point in trend}
        assert set(by_queue) == {"billing", "tech"}
        billing, tech = by_queue["billing"], by_queue["tech"]
        assert (billing.responses, billing.csat_mean, billing.bottom_box) == (2, 3.0, 1)
        assert (billing.promoters, billing.detractors, billing.nps_answers, billing.nps) == (1, 1, 2, 0.0)
        assert (tech.responses, tech.csat_mean, tech.bottom_box, tech.nps_answers) == (3, 3.0, 1, 1)
        assert billing.day == utcnow().date()
        assert [p.queue for p in reports.queue_daily_trend(queue="tech")] == ["tech"]
        assert reports.unscored_final_responses() == 0
        # Scores carry the response's agent, queue and start for the reports.
        score = db.session.scalar(select(Score).where(Score.csat == 2))
        assert score is not None and score.queue == "tech" and score.agent_id is not None
        assert score.response.scored_at is not None
