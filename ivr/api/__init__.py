"""The JSON API for integrators (CRM, CTI), behind bearer API keys."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from ivr.api import views  # noqa: E402,F401  (registers the routes)
