"""People's pages: sign-in, each role's home, the callback inbox, admin pages.

Server-rendered Jinja with htmx for partial updates and polling; vendored front-end libraries
under static/vendor/ (no CDN at run time). Every route goes through ivr.services.policy before
its view runs: not signed in -> the sign-in page (and back after), not allowed -> 404.
"""

from flask import Blueprint, Flask
from flask.sansio.blueprints import BlueprintSetupState

bp = Blueprint(
    "web", __name__, template_folder="templates", static_folder="static", static_url_path="/static"
)


@bp.record_once
def _init_app(state: BlueprintSetupState) -> None:
    from ivr.web import security, sessions

    app = state.app
    assert isinstance(app, Flask)
    sessions.init_app(app)
    security.init_app(app)


@bp.app_context_processor
def _template_helpers() -> dict[str, object]:
    from ivr.web.navigation import nav_links
    from ivr.web.sessions import principal

    return {"principal": principal, "nav_links": nav_links}


from ivr.web import (  # noqa: E402,F401  (registers the routes)
    admin,
    agent,
    auth_views,
    dashboard,
    flow_steps,
    flows,
    recordings,
    responses,
    routing,
    tasks,
)
