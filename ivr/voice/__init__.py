"""Twilio-facing webhooks: the front door, the survey conversation, recordings, status
callbacks and the fallback."""

from flask import Blueprint

bp = Blueprint("voice", __name__, url_prefix="/voice")

from ivr.voice import front_door, views  # noqa: E402,F401  (registers the routes)
