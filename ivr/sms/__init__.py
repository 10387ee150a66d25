"""Twilio's Messaging webhooks for the survey by text: incoming texts and status callbacks."""

from flask import Blueprint

bp = Blueprint("sms", __name__, url_prefix="/sms")

from ivr.sms import views  # noqa: E402,F401  (registers the routes)
