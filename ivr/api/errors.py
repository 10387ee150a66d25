"""Every answer under /api/ is JSON, errors included: {"error": code, "message": text}.

Bad input is refused here before it can reach the database (PostgreSQL rejects NUL characters
and integers past its column types, which would otherwise surface as 500s), and a database
that cannot be reached is a 503 the integrator can retry, never an HTML error page.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException
from werkzeug.sansio.response import Response as BaseResponse

from ivr.extensions import db

log = logging.getLogger(__name__)

API_PREFIX = "/api"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Seconds an integrator should wait before retrying while the database is unreachable.
DATABASE_RETRY_AFTER = 5


class ApiError(Exception):
    """An answer other than success, raised anywhere in an API request."""

    def __init__(self, status: int, error: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.headers = headers or {}


def error_response(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> Response:
    response = jsonify(error=error, message=message)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _is_api_request() -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def _code(exc: HTTPException) -> str:
    name = (exc.name or "error").lower()
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def _database_unreachable(exc: SQLAlchemyError) -> bool:
    """A connection problem (retry later), as opposed to a statement the database refused."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeoutError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def handle_http_exception(exc: HTTPException) -> HTTPException | BaseResponse:
    if not _is_api_request():
        return exc  # other blueprints keep Flask's pages
    if exc.response is not None:
        return exc.response  # a ready answer (e.g. a 429 from a limit)
    headers = {name: value for name, value in exc.get_headers() if name.lower() != "content-type"}
    message = exc.description or exc.name or "error"
    return error_response(exc.code or 500, _code(exc), message, headers)


def handle_api_error(exc: ApiError) -> Response:
    return error_response(exc.status, exc.error, exc.message, exc.headers)


def handle_database_error(exc: SQLAlchemyError) -> Response:
    db.session.rollback()
    if _database_unreachable(exc):
        log.error("API request %s %s: database unavailable: %s", request.method, request.path, exc)
        return error_response(
            503,
            "database_unavailable",
            "the database cannot be reached; try again shortly",
            {"Retry-After": str(DATABASE_RETRY_AFTER)},
        )
    log.exception("API request %s %s failed in the database", request.method, request.path)
    return error_response(500, "internal_error", "the server could not answer this request")


def handle_unexpected(exc: Exception) -> HTTPException | BaseResponse:
    # Flask asks the blueprint's handler for Exception before the app's for HTTPException.
    if isinstance(exc, HTTPException):
        return handle_http_exception(exc)
    if isinstance(exc, SQLAlchemyError):
        return handle_database_error(exc)
    log.exception("API request %s %s failed", request.method, request.path)
    return error_response(500, "internal_error", "the server could not answer this request")


def refuse_bad_input() -> None:
    """Before any API view: NUL characters anywhere, and bodies that are not a JSON object."""
    if "\x00" in request.path or any(
        "\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)
    ):
        raise ApiError(400, "bad_request", "NUL characters are not allowed in the path or query")
    if request.method in BODY_METHODS and request.get_data(cache=True):
        if not request.is_json:
            raise ApiError(415, "unsupported_media_type", "send the body as application/json")
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ApiError(400, "bad_request", "the body must be a JSON object")


def init_app(app: Flask) -> None:
    """App-wide: a URL under /api/ that matches no route (or not this method) belongs to no
    blueprint, so only an app handler sees its 404 or 405."""
    app.register_error_handler(HTTPException, handle_http_exception)
