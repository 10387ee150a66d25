"""An agent's own feedback: their scores against the period before, and what callers said."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ivr.models import utcnow
from ivr.services.errors import DomainError
from ivr.services.insight import agent_summary, dashboard
from ivr.services.insight.agent_summary import CSAT_POINTS, PERIOD_DAYS, AgentNumbers, PeriodNumbers
from ivr.services.insight.filters import ResponseFilter
from ivr.services.insight.measures import period_for
from ivr.services.perception import self_ratings
from ivr.services.perception.self_ratings import RATINGS, Gap
from ivr.web import bp
from ivr.web.dashboard import trend_charts
from ivr.web.sessions import principal

BLUE, GREY = "#1f5fbf", "#98a2b3"  # this period / the callers; the one before / the agent


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
                "backgroundColor": BLUE,
            },
            {
                "label": f"The {PERIOD_DAYS} days before",
                "data": counts(numbers.previous),
                "backgroundColor": GREY,
            },
        ],
    }


def gap_chart(gap: Gap) -> dict[str, object]:
    """What the agent expected against what callers said, on the same calls."""
    return {
        "labels": [f"{point}" for point in RATINGS],
        "datasets": [
            {"label": "You thought", "data": [gap.predicted[p] for p in RATINGS], "backgroundColor": GREY},
            {"label": "Callers said", "data": [gap.actual[p] for p in RATINGS], "backgroundColor": BLUE},
        ],
    }


@bp.get("/me")
def agent_home() -> str:
    who = principal()
    assert who is not None  # the policy lets only agents here
    before_id = request.args.get("before", type=int)
    if who.agent_id is None:  # an agent user not (yet) linked to an agent: nothing of theirs to show
        return render_template(
            "agent_home.html", numbers=None, feedback=None, before_id=before_id, awaiting=[]
        )
    hidden = self_ratings.held_back_responses(who.agent_id)
    numbers = agent_summary.agent_numbers(who.agent_id, hidden=hidden)
    now = utcnow()
    period = period_for(str(PERIOD_DAYS), now)
    # The trend stops where calls may still be held back from the agent (until they rate them).
    shown_until = min(period.end, now - self_ratings.window())
    trend = dashboard.weekly_trend(who, period, ResponseFilter(period.start, shown_until, agent=who.agent_id))
    feedback = agent_summary.feedback_page(who.agent_id, before_id=before_id, hidden=hidden)
    since = now - timedelta(days=PERIOD_DAYS)
    gap = self_ratings.gap(who.agent_id, since)
    awaiting = self_ratings.awaiting(who.agent_id)
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
        awaiting=awaiting,
        ratings=RATINGS,
        gap=gap,
        gap_chart=gap_chart(gap),
        moments=self_ratings.coaching_moments(who.agent_id, since),
        window_hours=f"{self_ratings.window().total_seconds() / 3600:g}",
        charts=trend_charts(trend),
    )


@bp.post("/me/calls/<int:call_id>/self-rating")
def agent_self_rating(call_id: int) -> Response:
    """One tap: the agent's rating of a call they took (and, if they said, whether it was resolved)."""
    who = principal()
    if who is None or who.agent_id is None:  # an agent user not linked to an agent has no calls
        abort(404)
    resolved = {"yes": True, "no": False}.get(request.form.get("resolved", ""))
    try:
        given = self_ratings.rate(who.agent_id, call_id, request.form.get("rating", type=int) or 0, resolved)
    except DomainError as exc:
        flash(exc.message[:1].upper() + exc.message[1:] + ".")
    else:
        late = " It came after the window, so it is kept but left out of your gap." if given.late else ""
        flash(f"Thanks: you rated that call {given.rating}. What the caller said is shown now.{late}")
    return redirect(url_for("web.agent_home"), 303)
