"""Post-call survey server: the app factory, made of small named steps."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from ivr import startup
from ivr.flows.problems import FlowError
from ivr.settings import PROJECT_ROOT, ConfigError, Environment, Settings, load_settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Build the app. Tests pass settings; production reads the environment (and `.env`).

    A real start (no settings passed) that meets a bad or missing setting or a broken flow
    stops with a few lines naming the variable or the file, step and field (the traceback only
    with IVR_DEBUG=1 or `flask --debug`), for the web server and every `flask` command alike;
    later failures a person can act on (a database or Redis that cannot be reached) end the
    same way (ivr.startup). Apps built with settings, as the tests build them, raise instead.
    """
    if settings is not None:
        return _build(settings)
    real_start = not overrides
    if real_start:
        startup.load_env_file()
        startup.install_excepthook()
    try:
        return _build(load_settings(**overrides))
    except (ConfigError, FlowError) as exc:
        if startup.debugging():
            raise
        startup.refuse(startup.explain(exc) or str(exc))


def _build(settings: Settings) -> Flask:
    # Static files are the web blueprint's (ivr/web/static), served under /static.
    app = Flask(__name__, instance_path=str(settings.instance_dir), static_folder=None)
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
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings),
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


def engine_options(settings: Settings) -> dict[str, Any]:
    # No ping before each checkout (a round trip per webhook): webhooks retry once on a
    # dead connection instead (ivr.db.retry_on_disconnect), and old connections are recycled.
    options: dict[str, Any] = {"pool_pre_ping": False, "pool_recycle": 1800}
    postgres = settings.sqlalchemy_database_uri.startswith("postgresql")
    if postgres and not settings.database_prepared_statements:
        # PgBouncer in transaction mode (README, "When one machine is not enough").
        options["connect_args"] = {"prepare_threshold": None}
    return options


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
    from ivr.services.conversation import flow_versions, routing_versions

    flow_versions.init_app(app)
    routing_versions.init_app(app)


def register_blueprints(app: Flask) -> None:
    from ivr.api import bp as api_bp
    from ivr.sms import bp as sms_bp
    from ivr.voice import bp as voice_bp
    from ivr.web import bp as web_bp

    app.register_blueprint(voice_bp)
    app.register_blueprint(sms_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(web_bp)


def register_commands(app: Flask) -> None:
    from ivr.cli import register

    register(app)
