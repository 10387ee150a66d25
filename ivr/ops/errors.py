"""Error tracking, opt-in: with SENTRY_DSN, errors from web requests and RQ jobs go to Sentry.

Without SENTRY_DSN sentry-sdk is not even imported. Request bodies (Twilio's form holds the
caller's number) are never sent, and numbers in messages are masked like the logs' are.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from ivr.settings import Settings


def _scrub(value: Any) -> Any:
    from ivr.ops.logs import mask_numbers

    if isinstance(value, str):
        return mask_numbers(value) if "+" in value else value
    if isinstance(value, dict):
        return {key: _scrub(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    return value


def _before_send(event: Any, _hint: Any) -> Any:
    return _scrub(event)


def configure(config: Settings) -> bool:
    if not config.sentry_dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.integrations.rq import RqIntegration

    sentry_sdk.init(
        dsn=config.sentry_dsn,
        environment=config.ivr_env.value,
        integrations=[FlaskIntegration(), RqIntegration()],
        traces_sample_rate=config.sentry_traces_sample_rate,
        send_default_pii=False,
        max_request_body_size="never",
        before_send=_before_send,
        before_send_transaction=_before_send,
    )
    return True


def init_app(app: Flask) -> None:
    configure(app.extensions["ivr.settings"])
