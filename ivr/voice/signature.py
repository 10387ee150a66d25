"""X-Twilio-Signature check for every webhook: 403 and no change when it does not match."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from flask import abort, request
from twilio.request_validator import (
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from ivr.ops.metrics import SIGNATURE_FAILURES
from ivr.settings import settings

log = logging.getLogger(__name__)


def public_url() -> str:
    """The URL Twilio requested, byte for byte as Twilio signed it.

    The query string is taken raw: request.url would decode "%3A" in `agent=sip%3A...` and the
    signature would no longer match. Behind a proxy, PUBLIC_BASE_URL (or ProxyFix) gives the
    scheme and host Twilio used.
    """
    base = settings().public_base_url or request.host_url.rstrip("/")
    path = quote(request.script_root + request.path, safe="/:@!$&'()*+,;=-._~")
    query = request.query_string.decode("latin-1")
    return base + path + (f"?{query}" if query else "")


def twilio_webhook(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        signature = request.headers.get("X-Twilio-Signature", "")
        validator = RequestValidator(settings().twilio_auth_token)
        algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
        if not signature or not validator.validate(public_url(), request.form, signature, algorithm):
            log.warning("rejected %s: bad or missing X-Twilio-Signature (url %s)", request.path, public_url())
            SIGNATURE_FAILURES.inc()
            abort(403)
        return view(*args, **kwargs)

    return checked
