"""Failed authentications counted per client address, for the API's bearer keys and the sign-in
page alike: one counter store, in Redis when REDIS_URL is set (so every web process counts
together), in memory on a laptop.

Only failures are counted; checking costs one read of the client's counter. A counter store
that is down blocks nobody (and says so in the log): an outage of Redis must not lock people out.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, current_app
from limits import RateLimitItem
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

log = logging.getLogger(__name__)

_EXTENSION = "ivr.failure_limits"


def init_app(app: Flask) -> None:
    settings = app.extensions["ivr.settings"]
    app.extensions[_EXTENSION] = FixedWindowRateLimiter(
        storage_from_string(settings.redis_url or "memory://")
    )


def _window() -> FixedWindowRateLimiter:
    window: FixedWindowRateLimiter = current_app.extensions[_EXTENSION]
    return window


def retry_after(limit: RateLimitItem, scope: str, client: str) -> int | None:
    """Seconds until `client` may try again when it has used up `limit` in `scope`, else None."""
    try:
        window = _window()
        if window.test(limit, scope, client):
            return None
        reset_at = window.get_window_stats(limit, scope, client).reset_time
    except Exception:
        log.warning("the %s failure limit could not be checked", scope, exc_info=True)
        return None
    return max(1, int(reset_at - time.time()) + 1)


def count_failure(limit: RateLimitItem, scope: str, client: str) -> None:
    try:
        _window().hit(limit, scope, client)
    except Exception:
        log.warning("a %s failure could not be counted", scope, exc_info=True)
