"""Admin pages: users (and, next, teams, supervisors and agents)."""

from __future__ import annotations

from flask import render_template

from ivr.services.organisation import users
from ivr.web import bp


@bp.get("/admin/users")
def admin_users() -> str:
    return render_template("admin_users.html", users=users.list_users())
