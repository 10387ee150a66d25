"""Post-call survey server: the app factory, made of small named steps."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from ivr.settings import PROJECT_ROOT, ConfigError, Environment, Settings, load_settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Build the app. Tests pass settings; production reads the environment.

    A bad or missing setting stops the start with one line naming the variable (the traceback
    only with IVR_DEBUG=1), for the web server and every `flask` command alike.
    """
    if settings is None:
        try:
            settings = load_settings(**overrides)
        except ConfigError as exc:
            if os.environ.get("IVR_DEBUG") == "1":
                raise
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
    app = Flask(__name__, instance_path=str(settings.instance_dir))
    configure(app, settings)
    register_operations(app)
    register_extensions(app)
    load_flows(app)
    register_blueprints(app)
    register_commands(app)
    return app


def configure(app: Flask, settings: Settings) -> None:
    app.extensions["ivr.settings"] = settings
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.sqlalchemy_database_uri,
        # No ping before each checkout (a round trip per webhook): webhooks retry once on a
        # dead connection instead (ivr.db.retry_on_disconnect), and old connections are recycled.
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": False, "pool_recycle": 1800},
        TESTING=settings.ivr_env is Environment.test,
    )
    if settings.database_url is None:
        settings.instance_dir.mkdir(parents=True, exist_ok=True)
    if settings.proxy_hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=settings.proxy_hops,
            x_proto=settings.proxy_hops,
            x_host=settings.proxy_hops,
            x_port=settings.proxy_hops,
        )
    if settings.ivr_env is Environment.development and settings.twilio_auth_token.startswith("dev-"):
        log.warning("Using the development Twilio auth token: real Twilio requests will get 403.")


def register_operations(app: Flask) -> None:
    """Logs first (so the rest logs structured), then error tracking, metrics and health probes."""
    from ivr import ops

    ops.init_app(app)


def register_extensions(app: Flask) -> None:
    from ivr import jobs
    from ivr.extensions import db, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    jobs.init_app(app)


def load_flows(app: Flask) -> None:
    from ivr.services.conversation import flow_versions

    flow_versions.init_app(app)


def register_blueprints(app: Flask) -> None:
    from ivr.api import bp as api_bp
    from ivr.voice import bp as voice_bp

    app.register_blueprint(voice_bp)
    app.register_blueprint(api_bp)


def register_commands(app: Flask) -> None:
    from ivr.cli import register

    register(app)
