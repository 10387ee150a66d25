"""An agent's own feedback: their scores against the period before, and what callers said."""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template, request

from ivr.models import utcnow
from ivr.services.insight import agent_summary, dashboard
from ivr.services.insight.agent_summary import CSAT_POINTS, PERIOD_DAYS, AgentNumbers, PeriodNumbers
from ivr.services.insight.filters import ResponseFilter
from ivr.services.insight.measures import period_for
from ivr.web import bp
from ivr.web.dashboard import trend_charts
from ivr.web.sessions import principal


@dataclass(frozen=True)
class Headline:
    label: str
    value: str
    change: str


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{round(100 * share)}%"


def _change(now: float | None, before: float | None, unit: str, scale: float = 1.0) -> str:
    if before is None:
        return f"nothing to compare with in the {PERIOD_DAYS} days before"
    if now is None:
        return "no answers yet in this period"
    delta = round(scale * (now - before))
    if delta == 0:
        return f"no change on the {PERIOD_DAYS} days before"
    return f"{delta:+d}{unit} on the {PERIOD_DAYS} days before"


def headlines(numbers: AgentNumbers) -> list[Headline]:
    now, before = numbers.current, numbers.previous
    nps = "—" if now.nps is None else f"{round(now.nps):+d}"
    return [
        Headline(
            "Responses",
            str(now.responses),
            _change(now.responses, before.responses if before.responses else None, ""),
        ),
        Headline(
            "Top box (CSAT 4-5)", _percent(now.top_box), _change(now.top_box, before.top_box, " points", 100)
        ),
        Headline(
            "Bottom box (CSAT 1-2)",
            _percent(now.bottom_box),
            _change(now.bottom_box, before.bottom_box, " points", 100),
        ),
        Headline(
            f"NPS ({now.promoters} promoters, {now.detractors} detractors of {now.nps_answers})",
            nps,
            _change(now.nps, before.nps, ""),
        ),
        Headline(
            "Resolved",
            _percent(now.resolution_rate),
            _change(now.resolution_rate, before.resolution_rate, " points", 100),
        ),
    ]


def csat_chart(numbers: AgentNumbers) -> dict[str, object]:
    """The data block app.js draws: this period's CSAT distribution beside the previous one's."""

    def counts(period: PeriodNumbers) -> list[int]:
        return [period.csat_counts[point] for point in CSAT_POINTS]

    return {
        "labels": [f"CSAT {point}" for point in CSAT_POINTS],
        "datasets": [
            {
                "label": f"Last {PERIOD_DAYS} days",
                "data": counts(numbers.current),
                "backgroundColor": "#1f5fbf",
            },
            {
                "label": f"The {PERIOD_DAYS} days before",
                "data": counts(numbers.previous),
                "backgroundColor": "#98a2b3",
            },
        ],
    }


@bp.get("/me")
def agent_home() -> str:
    who = principal()
    assert who is not None  # the policy lets only agents here
    before_id = request.args.get("before", type=int)
    if who.agent_id is None:  # an agent user not (yet) linked to an agent: nothing of theirs to show
        return render_template("agent_home.html", numbers=None, feedback=None, before_id=before_id)
    numbers = agent_summary.agent_numbers(who.agent_id)
    now = utcnow()
    period = period_for(str(PERIOD_DAYS), now)
    trend = dashboard.weekly_trend(who, period, ResponseFilter(period.start, period.end, agent=who.agent_id))
    feedback = agent_summary.feedback_page(who.agent_id, before_id=before_id)
    nothing_yet = not (numbers.current.responses or numbers.previous.responses or feedback.items or before_id)
    return render_template(
        "agent_home.html",
        numbers=None if nothing_yet else numbers,
        headlines=headlines(numbers),
        chart=csat_chart(numbers),
        csat_points=CSAT_POINTS,
        feedback=feedback,
        before_id=before_id,
        period_days=PERIOD_DAYS,
        charts=trend_charts(trend),
    )
