"""Who is signed in: Flask-Login sessions for people, checked against the policy on every page.

Sessions expire after SESSION_MINUTES without a request; a deactivated user is signed out at
their next request (the user loader refuses them); cookies are Secure outside development and
tests, HttpOnly and SameSite=Lax. Failed sign-ins are rate-limited per client address.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask, Request, abort, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import LoginManager, current_user, logout_user
from limits import parse
from werkzeug.wrappers import Response

from ivr.models import User
from ivr.ops import failure_limits
from ivr.services import policy
from ivr.services.organisation import users
from ivr.services.policy import Principal
from ivr.settings import Environment

log = logging.getLogger(__name__)

login_manager = LoginManager()
login_manager.login_view = "web.login"
login_manager.session_protection = "strong"
# Failed sign-ins per client address (ivr.ops.failure_limits); a successful one is not counted.
SIGN_IN_LIMIT = parse("10/minute")


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    """The session's user while they are active and their password is the one they signed in
    with; otherwise nobody (and check_access forgets the session)."""
    user_id, _, fingerprint = session_id.partition(":")
    user = users.get(int(user_id)) if user_id.isdigit() else None
    if user is None or not user.active or fingerprint != user.session_fingerprint:
        return None
    return user


# Twilio's webhooks and the API never carry a person's session (signatures and bearer keys do
# the work there): no cookie is read or written for them.
_SESSIONLESS = ("/voice/", "/sms/", "/api/")


class PeopleSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, for the pages people use only."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(_SESSIONLESS):
            return None  # Flask's null session: reading works, writing raises
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    settings = app.extensions["ivr.settings"]
    app.session_interface = PeopleSessions()
    app.config.update(
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings.session_minutes),
        SESSION_COOKIE_SECURE=settings.ivr_env is Environment.production,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_REFRESH_EACH_REQUEST=True,
    )
    login_manager.init_app(app)


def sign_in_blocked() -> bool:
    """Too many failed sign-ins from this address: refuse even the right password, so the
    limit tells a guesser nothing. A counter store that is down blocks nobody."""
    return failure_limits.retry_after(SIGN_IN_LIMIT, "sign-in", request.remote_addr or "-") is not None


def count_failed_sign_in() -> None:
    failure_limits.count_failure(SIGN_IN_LIMIT, "sign-in", request.remote_addr or "-")
    log.warning("failed sign-in from %s", request.remote_addr)


def principal() -> Principal | None:
    """The signed-in person as the policy sees them, or None."""
    if "principal" not in g:
        g.principal = policy.for_user(current_user) if current_user.is_authenticated else None
    found: Principal | None = g.principal
    return found


def check_access() -> Response | None:
    """Before every page: the policy's rule for this route, or sign in first, or 404."""
    who = principal()
    if who is None and "_user_id" in session:
        # Deactivated or given a new password since: this session never comes back, even if
        # they are reactivated (they sign in again).
        logout_user()
    if policy.may_use(who, request.endpoint):
        return None
    if who is None:
        if request.headers.get("HX-Request"):
            # A polled fragment (the inbox's list) after the session expired: htmx would swap the
            # sign-in page into the list, so send the whole page to it, and back after.
            shown = urlsplit(request.headers.get("HX-Current-URL", ""))
            back = shown.path + (f"?{shown.query}" if shown.query else "") if shown.path else None
            return Response(status=204, headers={"HX-Redirect": url_for("web.login", next=back)})
        return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
    abort(404)
