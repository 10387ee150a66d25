"""Signing in and out, and each person's home page."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import login_user, logout_user
from werkzeug.wrappers import Response

from ivr.services.organisation import users
from ivr.web import bp
from ivr.web.forms import SignInForm
from ivr.web.sessions import check_access, count_failed_sign_in, principal, sign_in_blocked

bp.before_request(check_access)


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: never send someone elsewhere after signing in."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    form = SignInForm()
    if form.validate_on_submit():
        if sign_in_blocked():
            message = "Too many failed sign-ins from this address. Wait a minute, then try again."
            return render_template("login.html", form=form, blocked=message), 429
        user = users.authenticate(form.email.data or "", form.password.data or "")
        if user is None:
            count_failed_sign_in()
        else:
            session.clear()
            session.permanent = True
            login_user(user)
            target = _safe_next(request.args.get("next")) or url_for("web.home")
            return redirect(target, 303)
        form.password.errors.append("That e-mail and password do not match an active user.")
    return render_template("login.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    logout_user()
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("web.login"), 303)


@bp.get("/")
def home() -> Response:
    who = principal()
    assert who is not None  # the policy lets only signed-in people here
    return redirect(url_for(who.home))
