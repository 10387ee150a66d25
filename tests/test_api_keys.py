"""API keys managed on the command line, their last use, and the limit on failed authentications."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from ivr.extensions import db
from ivr.models import ApiKey


def cli(app: Flask, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["api-keys", *args])


def create(app: Flask, name: str) -> tuple[str, str]:
    result = cli(app, "create", name)
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    prefix = key[:12]
    assert prefix in result.output.splitlines()[0]  # the prefix is shown with the name
    return key, prefix


def get(client: FlaskClient, key: str, address: str = "203.0.113.7"):  # type: ignore[no-untyped-def]
    return client.get(
        "/api/responses",
        headers={"Authorization": f"Bearer {key}"},
        environ_base={"REMOTE_ADDR": address},
    )


def last_used(app: Flask, prefix: str) -> datetime | None:
    with app.app_context():
        value = db.session.scalar(select(ApiKey.last_used_at).filter_by(prefix=prefix))
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def set_last_used(app: Flask, prefix: str, value: datetime) -> None:
    with app.app_context():
        db.session.execute(update(ApiKey).filter_by(prefix=prefix).values(last_used_at=value))
        db.session.commit()


def test_create_list_and_revoke(app: Flask, client: FlaskClient) -> None:
    key, prefix = create(app, "crm")
    assert key.startswith("ivr_") and prefix.startswith("ivr_")
    listed = cli(app, "list").output
    assert "crm" in listed and prefix in listed and key not in listed
    [row] = [line for line in listed.splitlines() if prefix in line]
    assert row.split()[-2:] == ["-", "-"]  # never used, not revoked

    assert get(client, key).status_code == 200
    assert last_used(app, prefix) is not None
    assert "UTC" in next(line for line in cli(app, "list").output.splitlines() if prefix in line)

    result = cli(app, "revoke", prefix)
    assert result.exit_code == 0 and prefix in result.output
    assert get(client, key).status_code == 401  # revoked keys are refused
    revoked_row = next(line for line in cli(app, "list").output.splitlines() if prefix in line)
    assert revoked_row.rstrip().endswith("UTC")
    assert get(client, "test-api-key").status_code == 200  # IVR_API_KEYS keys keep working


def test_a_key_needs_a_name(app: Flask) -> None:
    assert cli(app, "create").exit_code != 0
    result = cli(app, "create", "  ")
    assert result.exit_code != 0 and "name" in result.output


def test_revoking_an_unknown_or_ambiguous_key_says_so(app: Flask, client: FlaskClient) -> None:
    result = cli(app, "revoke", "nobody")
    assert result.exit_code == 1 and "no active API key" in result.output
    first, first_prefix = create(app, "crm")
    second, second_prefix = create(app, "crm")
    result = cli(app, "revoke", "crm")
    assert result.exit_code == 1 and first_prefix in result.output and second_prefix in result.output
    assert get(client, first).status_code == 200 and get(client, second).status_code == 200
    assert cli(app, "revoke", first_prefix).exit_code == 0
    assert cli(app, "revoke", "crm").exit_code == 0  # now only one active key has that name
    assert get(client, second).status_code == 401
    assert "no active API key" in cli(app, "revoke", "crm").output


def test_last_use_is_written_at_most_once_a_minute(app: Flask, client: FlaskClient) -> None:
    key, prefix = create(app, "crm")
    recent = datetime.now(UTC) - timedelta(seconds=30)
    set_last_used(app, prefix, recent)
    assert get(client, key).status_code == 200
    assert abs((last_used(app, prefix) - recent).total_seconds()) < 1  # type: ignore[operator]
    set_last_used(app, prefix, datetime.now(UTC) - timedelta(minutes=5))
    assert get(client, key).status_code == 200
    assert (datetime.now(UTC) - last_used(app, prefix)).total_seconds() < 10  # type: ignore[operator]


def test_failed_authentications_are_limited_per_address(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    key, prefix = create(app, "crm")
    for _ in range(30):  # successes are never counted
        assert get(client, key).status_code == 200
    wrong = prefix + "x" * 40
    caplog.set_level(logging.WARNING, logger="ivr.api.auth")
    for _ in range(20):
        assert get(client, wrong).status_code == 401
    refused = get(client, wrong)
    assert refused.status_code == 429 and refused.json["error"] == "too_many_requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    # Even the right key, from that address, until the window ends: else the limit would tell a
    # guesser which key was right. Another address is not affected.
    assert get(client, key).status_code == 429
    assert get(client, key, address="198.51.100.1").status_code == 200
    logged = caplog.text
    assert "203.0.113.7" in logged and prefix in logged and wrong not in logged and key not in logged


def test_the_limit_is_shared_through_redis(app_factory: Callable[..., Flask], redis_url: str) -> None:
    """Two web processes (two apps) on one Redis count one client's failures together."""
    first, second = app_factory(redis_url=redis_url), app_factory(redis_url=redis_url)
    for _ in range(10):
        assert get(first.test_client(), "wrong").status_code == 401
        assert get(second.test_client(), "wrong").status_code == 401
    assert get(first.test_client(), "wrong").status_code == 429
    assert get(second.test_client(), "test-api-key").status_code == 429
