"""An agent's own feedback: their scores against the period before, and what callers said."""

from __future__ import annotations

from flask import render_template

from ivr.web import bp


@bp.get("/me")
def agent_home() -> str:
    return render_template("agent_home.html")
