"""Fixtures: a fresh app per test on each database backend, real PostgreSQL and Redis.

Backends come from IVR_TEST_BACKENDS (default "sqlite,postgresql"). A service that cannot be
reached skips its tests on a laptop and fails them under CI (CI=true).
"""

from __future__ import annotations

import os
import socket
import threading
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from redis import Redis
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server

from ivr import create_app
from ivr.extensions import db
from ivr.models import Base
from ivr.settings import Settings
from ivr.simulator import CallTranscript, SimulatedCall

POSTGRES_URL = os.environ.get(
    "IVR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/ivr_test"
)
REDIS_URL = os.environ.get("IVR_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BACKENDS = [
    b.strip() for b in os.environ.get("IVR_TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip()
]
AUTH_TOKEN = "test-auth-token"
BASE_URL = "http://localhost"


def unavailable(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required under CI but cannot be reached", pytrace=False)
    pytest.skip(f"{what} cannot be reached")


def _port_open(url: str, default_port: int) -> bool:
    parsed = urllib.parse.urlparse(url.replace("+psycopg", ""))
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1
        ):
            return True
    except OSError:
        return False


def make_settings(database_url: str | None, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "ivr_env": "test",
        "database_url": database_url,
        "redis_url": None,
        "twilio_auth_token": AUTH_TOKEN,
        "secret_key": "test-secret-key-0123456789",
        "instance_dir": tmp_path,
        "ivr_api_keys": ["test-api-key"],
    }
    return Settings(**{**values, **overrides})


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


def _clean(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
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


class Twilio:
    """Posts signed webhooks the way Twilio does, through Flask's test client."""

    def __init__(self, app: Flask, client: FlaskClient, base_url: str = BASE_URL) -> None:
        self.app = app
        self.client = client
        self.base_url = base_url
        self.validator = RequestValidator(AUTH_TOKEN)

    def transport(self, url: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        response = self.client.post(url, data=form, headers=headers)
        return response.status_code, response.get_data(as_text=True)

    def call(self, **kwargs: Any) -> SimulatedCall:
        return SimulatedCall(self.transport, self.base_url, AUTH_TOKEN, **kwargs)

    def play(self, start: str, keys: list[str], **kwargs: Any) -> tuple[SimulatedCall, CallTranscript]:
        call = self.call(**kwargs)
        return call, call.run(start, iter(keys))

    def post(
        self, path: str, form: dict[str, str], signature: str | None = None
    ) -> tuple[int, ET.Element | None]:
        url = self.base_url + path
        headers = {
            "X-Twilio-Signature": signature
            if signature is not None
            else self.validator.compute_signature(url, form)
        }
        response = self.client.post(path, data=form, headers=headers)
        body = response.get_data(as_text=True)
        return response.status_code, ET.fromstring(body) if body.startswith("<?xml") else None


@pytest.fixture
def twilio(app: Flask, client: FlaskClient) -> Twilio:
    return Twilio(app, client)


def says(element: ET.Element) -> list[str]:
    """Every <Say> text in a TwiML document, in order (including inside <Gather>)."""
    return [node.text or "" for node in element.iter("Say")]
