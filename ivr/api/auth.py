"""Bearer API keys, and a limit on failed authentications per client address.

A client that fails AUTH_FAILURE_LIMIT times in a window gets 429 (with Retry-After) until the
window ends, whatever key it sends then: otherwise the limit would tell a guesser which key
was right. Successful requests are never counted; they cost one read of the client's counter.
Failures are logged with the key's prefix at most, never the key.
"""

from __future__ import annotations

import logging

from flask import Response, request
from limits import parse

from ivr.api.errors import ApiError, error_response
from ivr.extensions import api_auth
from ivr.ops import failure_limits
from ivr.services import policy
from ivr.services.organisation import api_keys
from ivr.services.policy import Principal

log = logging.getLogger(__name__)

AUTH_FAILURE_LIMIT = parse("20/minute")


def _client() -> str:
    return request.remote_addr or "-"


def _refuse_if_over_limit() -> None:
    retry_after = failure_limits.retry_after(AUTH_FAILURE_LIMIT, "api-auth", _client())
    if retry_after is None:
        return
    raise ApiError(
        429,
        "too_many_requests",
        f"too many failed authentications from this address; retry in {retry_after} s",
        {"Retry-After": str(retry_after)},
    )


def _count_failure(token: str) -> None:
    client = _client()
    failure_limits.count_failure(AUTH_FAILURE_LIMIT, "api-auth", client)
    shown = api_keys.shown_prefix(token)
    log.warning(
        "API authentication failed from %s for %s %s (%s)",
        client,
        request.method,
        request.path,
        f"key prefix {shown}" if shown else "no key" if not token else "not an ivr_ key",
    )


@api_auth.verify_token
def verify_token(token: str) -> Principal | None:
    """The key's principal (Flask-HTTPAuth's current user), refused (403) on a route its roles
    may not use (ivr.services.policy)."""
    _refuse_if_over_limit()
    found = api_keys.authenticate(token)
    if found is None:
        _count_failure(token)
        return None
    if not policy.may_use(found, request.endpoint):
        raise ApiError(403, "forbidden", f"{found.label} may not use {request.method} {request.path}")
    return found


def principal() -> Principal:
    """Who the current API request is (after the key was checked)."""
    current: Principal = api_auth.current_user()
    return current


@api_auth.error_handler
def unauthorized(status: int) -> Response:
    return error_response(status, "unauthorized", "send 'Authorization: Bearer <API key>'")
