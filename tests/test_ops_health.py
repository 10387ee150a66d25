"""/healthz (alive, no I/O) and /readyz (database, migrations, Redis, flows; 503 with the reason)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from ivr import create_app
from tests.helpers import make_settings
from tests.local_servers import free_port


def test_healthz_answers_without_touching_the_database(tmp_path: Path) -> None:
    dead = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"
    client = create_app(make_settings(dead, tmp_path)).test_client()
    reply = client.get("/healthz")
    assert reply.status_code == 200 and reply.get_json() == {"status": "ok"}


def test_readyz_is_ready_with_database_redis_and_flows(
    app_factory: Callable[..., Flask], redis_url: str
) -> None:
    reply = app_factory(redis_url=redis_url).test_client().get("/readyz")
    assert reply.status_code == 200
    assert reply.get_json() == {
        "status": "ready",
        "checks": {"database": "ok", "redis": "ok", "flows": "ok"},
    }


def test_readyz_without_redis_url_needs_no_redis(client: FlaskClient) -> None:
    assert client.get("/readyz").status_code == 200


def test_readyz_is_503_when_the_database_is_down(tmp_path: Path) -> None:
    dead = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"
    reply = create_app(make_settings(dead, tmp_path)).test_client().get("/readyz")
    assert reply.status_code == 503
    body = reply.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"].startswith("unreachable: ")
    assert body["checks"]["flows"] == "ok"


def test_readyz_is_503_when_the_schema_is_not_migrated(tmp_path: Path) -> None:
    empty = f"sqlite:///{tmp_path / 'never-migrated.sqlite3'}"
    reply = create_app(make_settings(empty, tmp_path)).test_client().get("/readyz")
    assert reply.status_code == 503
    assert "run `flask db upgrade`" in reply.get_json()["checks"]["database"]
    assert "database: none" in reply.get_json()["checks"]["database"]


def test_readyz_is_503_when_redis_is_down(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    reply = app.test_client().get("/readyz")
    assert reply.status_code == 503
    checks = reply.get_json()["checks"]
    assert checks["database"] == "ok" and checks["redis"].startswith("unreachable: ")
