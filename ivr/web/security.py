"""CSRF on every form, and the security headers of every page (a Content-Security-Policy that
allows no inline script, no framing, no sniffing).

Twilio's webhooks (signed) and the JSON API (bearer keys, no cookies) are exempt from CSRF: no
browser session can be ridden there.
"""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.wrappers import Response

csrf = CSRFProtect()

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def init_app(app: Flask) -> None:
    from ivr.api import bp as api_bp
    from ivr.sms import bp as sms_bp
    from ivr.voice import bp as voice_bp

    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the session's own lifetime bounds it
    csrf.init_app(app)
    csrf.exempt(voice_bp)
    csrf.exempt(sms_bp)
    csrf.exempt(api_bp)
    app.after_request(_headers)


def _headers(response: Response) -> Response:
    if response.mimetype == "text/html":
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
    if response.headers.get("Content-Type", "").startswith("text/html"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response
