"""The JSON API for integrators (CRM, CTI), behind bearer API keys."""

from flask import Blueprint, Flask
from flask.sansio.blueprints import BlueprintSetupState

from ivr.api import errors

bp = Blueprint("api", __name__, url_prefix="/api")
bp.before_request(errors.refuse_bad_input)
bp.register_error_handler(errors.ApiError, errors.handle_api_error)
bp.register_error_handler(Exception, errors.handle_unexpected)


@bp.record_once
def _init_app(state: BlueprintSetupState) -> None:
    app = state.app
    assert isinstance(app, Flask)
    errors.init_app(app)


from ivr.api import auth, views  # noqa: E402,F401  (the bearer-key check and the routes)
