"""Twilio-facing webhooks: the survey conversation, status callbacks and the fallback."""

from flask import Blueprint

bp = Blueprint("voice", __name__, url_prefix="/voice")

from ivr.voice import views  # noqa: E402,F401  (registers the routes)
