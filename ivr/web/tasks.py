"""The supervisor's callback inbox and task pages."""

from __future__ import annotations

from flask import render_template

from ivr.web import bp


@bp.get("/tasks")
def tasks() -> str:
    return render_template("tasks.html")
