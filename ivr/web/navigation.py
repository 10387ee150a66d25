"""The main navigation: the pages this person's roles may open, in a fixed order."""

from __future__ import annotations

from flask import current_app

from ivr.services import policy
from ivr.services.policy import Principal

PAGES = [
    ("web.agent_home", "My feedback"),
    ("web.dashboard", "Dashboard"),
    ("web.tasks", "Callback inbox"),
    ("web.responses", "Responses"),
    ("web.flows", "Flows"),
    ("web.routing", "Routing"),
    ("web.admin_users", "Admin"),
]


def nav_links(who: Principal) -> list[tuple[str, str]]:
    known = current_app.view_functions
    return [
        (endpoint, label) for endpoint, label in PAGES if endpoint in known and policy.may_use(who, endpoint)
    ]
