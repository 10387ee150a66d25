"""Running it as a product: health probes, Prometheus metrics, structured logs, error tracking,
limits on failed authentications."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from ivr.ops import errors, failure_limits, health, logs, metrics

    logs.init_app(app)
    errors.init_app(app)
    metrics.init_app(app)
    health.init_app(app)
    failure_limits.init_app(app)
