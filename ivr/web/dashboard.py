"""The team dashboard (supervisors: their teams; analysts and admins: any team or all)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ivr.models import utcnow
from ivr.services.closed_loop import recovery
from ivr.services.errors import DomainError, Invalid
from ivr.services.insight import dashboard, filters
from ivr.services.insight.dashboard import TrendWeek
from ivr.services.insight.filters import NONE, ResponseFilter
from ivr.services.insight.measures import CSAT_POINTS, PERIOD_CHOICES, Counts, Interval, period_for
from ivr.services.perception import forecasts, self_ratings
from ivr.web import bp
from ivr.web.sessions import principal

MEASURES = [
    ("responses", "Responses per week", 1.0),
    ("top_box_share", "Top box (CSAT 4-5), %", 100.0),
    ("bottom_box_share", "Bottom box (CSAT 1-2), %", 100.0),
    ("nps", "NPS", 1.0),
    ("resolution_rate", "Resolved, %", 100.0),
]


@bp.app_template_filter("percent")
def percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


@bp.app_template_filter("interval")
def interval(value: Interval | None) -> str:
    return "" if value is None else f"{100 * value.low:.0f} to {100 * value.high:.0f}%"


@bp.app_template_filter("points")
def points(value: float | None, scale: float = 100.0) -> str:
    """A change, in points of a share (scale 100) or in the measure's own units (scale 1)."""
    if value is None:
        return "—"
    delta = round(scale * value)
    return "±0" if delta == 0 else f"{delta:+d}"


@bp.app_template_filter("duration")
def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    hours = seconds / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


@bp.app_template_global("explore")
def explore(f: ResponseFilter, **changes: Any) -> str:
    """The explorer's address for this filter (with these changes): the responses behind a number."""
    target: dict[str, Any] = (f.but(**changes) if changes else f).args()
    return url_for("web.responses", **target)


def trend_charts(trend: list[TrendWeek]) -> list[dict[str, Any]]:
    """One small chart per measure: the period's weeks against the previous period's."""
    charts = []
    for name, label, scale in MEASURES:

        def value(counts: Counts, name: str = name, scale: float = scale) -> float | None:
            found = getattr(counts, name)
            return None if found is None else round(scale * found, 1)

        charts.append(
            {
                "id": f"trend-{name}",
                "title": label,
                "type": "line",
                "labels": [f"Week {week.week}" for week in trend],
                "datasets": [
                    {
                        "label": "This period",
                        "data": [value(w.current) for w in trend],
                        "borderColor": "#1f5fbf",
                        "backgroundColor": "#1f5fbf",
                    },
                    {
                        "label": "The period before",
                        "data": [value(w.previous) for w in trend],
                        "borderColor": "#98a2b3",
                        "backgroundColor": "#98a2b3",
                    },
                ],
            }
        )
    return charts


@bp.get("/dashboard", endpoint="dashboard")
def dashboard_page() -> str:
    who = principal()
    assert who is not None
    now = utcnow()
    teams = dashboard.team_choices(who)
    errors: dict[str, str] = {}
    choice = request.args.get("period", "30")
    if choice not in PERIOD_CHOICES and choice != "custom":
        errors["period"] = "Choose one of the periods listed."
        choice = "30"
    first = last = None
    if choice == "custom":
        try:
            bounds = filters.parse(
                {"start": request.args.get("from", ""), "end": request.args.get("to", "")}, now
            )
            if request.args.get("from") and request.args.get("to"):
                first, last = bounds.start, bounds.end
            else:
                errors["from"] = "Give both dates of a custom period."
        except Invalid as refused:
            errors["from" if "start" in refused.fields else "to"] = refused.message.split(": ", 1)[-1]
    period = period_for(choice if not errors else "30", now, first, last)
    team: int | str | None = None
    raw_team = request.args.get("team", "")
    if raw_team:
        allowed = {str(team_id): team_id for team_id, _ in teams}
        if raw_team in allowed:
            team = allowed[raw_team]
        elif raw_team == NONE and who.sees_everything:
            team = NONE
        else:
            errors["team"] = "Choose one of the teams listed."
    board = dashboard.build(who, period, team, now)
    team_id = team if isinstance(team, int) else None
    gap, agent_gaps = self_ratings.team_gaps(who, period.start, period.end, team_id)
    shown = [team_id] if team_id is not None else [choice_id for choice_id, _ in teams]
    return render_template(
        "dashboard.html",
        board=board,
        teams=teams,
        team=raw_team if "team" not in errors else "",
        choice=choice,
        choices=PERIOD_CHOICES,
        errors=errors,
        first=request.args.get("from", ""),
        last=request.args.get("to", ""),
        csat_points=CSAT_POINTS,
        charts=trend_charts(board.trend),
        min_ranked=dashboard.MIN_RANKED,
        none=NONE,
        gap=gap,
        agent_gaps=agent_gaps,
        moments=self_ratings.team_coaching_moments(who, period.start, team_id),
        forecasts=forecasts.compared(who, shown, now),
        to_forecast=forecasts.teams_to_forecast(who, now),
        recovered=recovery.recovery(who, period.start, period.end, team_id),
    )


@bp.post("/dashboard/forecasts")
def dashboard_forecast() -> Response:
    """A supervisor states this week's forecast for one of their teams."""
    who = principal()
    assert who is not None
    try:
        forecasts.state(who, request.form.get("team", type=int) or 0, request.form.get("share", type=float))
    except DomainError as exc:
        flash(exc.message[:1].upper() + exc.message[1:] + ".")
    else:
        flash("Forecast stated. It is compared with what callers say as the week goes on.")
    return redirect(url_for("web.dashboard", _anchor="forecast-heading"), 303)
