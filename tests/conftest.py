"""Fixtures: a fresh app per test on each database backend, real PostgreSQL and Redis.

Backends come from IVR_TEST_BACKENDS (default "sqlite,postgresql"). A service that cannot be
reached skips its tests on a laptop and fails them under CI (CI=true), as does any other skip.
"""

from __future__ import annotations

import os
import socket
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from redis import Redis
from werkzeug.serving import make_server

from ivr import create_app
from ivr.extensions import db
from ivr.models import Base
from ivr.services.organisation import users
from tests.helpers import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    POSTGRES_URL,
    REDIS_URL,
    Twilio,
    make_settings,
    unavailable,
)
from tests.local_servers import HttpRecorder, http_recorder

BACKENDS = [
    b.strip() for b in os.environ.get("IVR_TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip()
]

# Test users' passwords are real argon2 hashes at the lowest cost: at production strength each
# costs a sixth of a second and 64 MiB, and the suite creates hundreds of users. Servers started
# as processes (gunicorn, `make run`) keep the production parameters.
users._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI a skip of any kind (skip, skipif, importorskip, a fixture's skip) is a failure."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, where every test must run: {report.longrepr}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    """The same for a whole module skipped while it is collected (a module-level importorskip)."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if os.environ.get("CI") and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, where every test must run: {report.longrepr}"


def _port_open(url: str, default_port: int) -> bool:
    parsed = urllib.parse.urlparse(url.replace("+psycopg", ""))
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1
        ):
            return True
    except OSError:
        return False


def _ensure_postgres_database(url: str) -> None:
    parsed = sa.engine.make_url(url)
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database})
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def _reset_schema(app: Flask) -> None:
    """Drop everything, then build the schema the way production does: with the migrations."""
    with app.app_context():
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Whatever an earlier run (or an older schema) left, constraints included.
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
            else:
                Base.metadata.drop_all(conn)
                conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One migrated database per backend for the whole run."""
    urls: dict[str, str] = {}
    tmp = tmp_path_factory.mktemp("db")
    for backend in BACKENDS:
        if backend == "sqlite":
            urls[backend] = f"sqlite:///{tmp / 'ivr-test.sqlite3'}"
        elif backend == "postgresql":
            if not _port_open(POSTGRES_URL, 5432):
                continue
            _ensure_postgres_database(POSTGRES_URL)
            urls[backend] = POSTGRES_URL
        else:
            raise ValueError(f"unknown test backend {backend!r}")
        app = create_app(make_settings(urls[backend], tmp))
        _reset_schema(app)
        with app.app_context():
            db.engine.dispose()
    return urls


_SEQUENCES = (
    "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) FROM pg_sequences"
    " WHERE schemaname = 'public'"
)


def _clean(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # DELETE and setval, not TRUNCATE: a test leaves a few rows, and TRUNCATE's new files
                # for ~40 tables cost 60 ms a test where this costs 2.
                conn.execute(sa.text("; ".join(f"DELETE FROM {table}" for table in tables)))
                sequences = conn.scalars(sa.text(_SEQUENCES)).all()
                conn.execute(sa.text("SELECT " + ", ".join(f"setval('{s}', 1, false)" for s in sequences)))
            else:
                for table in tables:
                    conn.execute(sa.text(f"DELETE FROM {table}"))
        db.engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, database_urls: dict[str, str]) -> str:
    if request.param not in database_urls:
        unavailable(f"{request.param} at {POSTGRES_URL}")
    return str(request.param)


@pytest.fixture
def app_factory(
    backend: str, database_urls: dict[str, str], tmp_path: Path
) -> Iterator[Callable[..., Flask]]:
    """Build apps on this test's backend; every row they wrote is removed afterwards."""
    made: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        app = create_app(make_settings(database_urls[backend], tmp_path, **overrides))
        made.append(app)
        return app

    yield make
    for app in made:
        _clean(app)


@pytest.fixture
def app(app_factory: Callable[..., Flask]) -> Flask:
    return app_factory()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app served over real HTTP on a free loopback port, in threads."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def redis_url() -> Iterator[str]:
    if not _port_open(REDIS_URL, 6379):
        unavailable(f"Redis at {REDIS_URL}")
    connection = Redis.from_url(REDIS_URL)
    connection.flushdb()
    yield REDIS_URL
    connection.flushdb()
    connection.close()


@pytest.fixture
def twilio_api() -> Iterator[HttpRecorder]:
    """A stand-in for Twilio's REST API on 127.0.0.1, for account ACCOUNT_SID."""
    with http_recorder(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN) as recorder:
        yield recorder


@pytest.fixture
def twilio(app: Flask, client: FlaskClient) -> Twilio:
    return Twilio(app, client)


# --- the browser: Debian's chromium driven by Playwright, one browser for the whole session.

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not Path(CHROMIUM).exists():
        unavailable(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        # As this machine needs it: no sandbox as root, and no calls home (the network is closed).
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }
