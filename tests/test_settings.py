"""Settings: typed, read from the environment, clear about what is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from twilio.request_validator import RequestValidator

from ivr import create_app
from ivr.extensions import db
from ivr.services.organisation import api_keys
from ivr.settings import DEV_AUTH_TOKEN, DEV_SERVER_URL, ConfigError, load_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "TWILIO_AUTH_TOKEN": "0123456789abcdef0123456789abcdef",
    "SECRET_KEY": "a-long-and-random-secret-key",
    "DATABASE_URL": "postgresql://db/ivr",
    "PUBLIC_BASE_URL": "https://survey.example.com",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "IVR_ENV",
        "DATABASE_URL",
        "REDIS_URL",
        "TWILIO_AUTH_TOKEN",
        "SECRET_KEY",
        "PUBLIC_BASE_URL",
        "PROXY_HOPS",
        "IVR_API_KEYS",
        "TWILIO_CALLER_ID",
    ):
        monkeypatch.delenv(name, raising=False)


def test_embedded_defaults_need_only_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IVR_ENV", "development")
    settings = load_settings()
    assert settings.sqlalchemy_database_uri.startswith(
        "sqlite:///"
    ) and settings.sqlalchemy_database_uri.endswith("instance/ivr.sqlite3")
    assert settings.jobs_inline is True
    assert settings.twilio_auth_token == DEV_AUTH_TOKEN
    assert settings.twilio_base_url == DEV_SERVER_URL  # URLs for Twilio: the local server


def test_production_is_the_default() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "production (the default IVR_ENV)" in message and "IVR_ENV=development" in message
    for name in ("TWILIO_AUTH_TOKEN", "SECRET_KEY", "PUBLIC_BASE_URL", "DATABASE_URL"):
        assert name in message


def test_environment_values_are_read_and_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IVR_ENV", "development")
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db/ivr")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("IVR_API_KEYS", " crm-key , cti-key,")
    monkeypatch.setenv("PROXY_HOPS", "1")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://survey.example.com/")
    settings = load_settings()
    assert settings.sqlalchemy_database_uri == "postgresql+psycopg://u:p@db/ivr"
    assert settings.ivr_api_keys == ["crm-key", "cti-key"]
    assert settings.proxy_hops == 1 and settings.jobs_inline is False
    assert settings.public_base_url == "https://survey.example.com"
    assert settings.twilio_base_url == "https://survey.example.com"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PROXY_HOPS", "two", "PROXY_HOPS: Input should be a valid integer"),
        ("PROXY_HOPS", "-1", "PROXY_HOPS: Value error, must be zero or more"),
        ("PUBLIC_BASE_URL", "survey.example.com", "PUBLIC_BASE_URL: Value error, must start with http"),
        ("IVR_ENV", "staging", "IVR_ENV: Input should be 'development', 'test' or 'production'"),
    ],
)
def test_a_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_production_refuses_development_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IVR_ENV", "production")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    for name in ("TWILIO_AUTH_TOKEN", "SECRET_KEY", "DATABASE_URL", "PUBLIC_BASE_URL"):
        assert name in str(caught.value)

    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SECRET_KEY", "short")
    with pytest.raises(ConfigError, match=r"SECRET_KEY \(16 characters or more\)"):
        load_settings()
    monkeypatch.setenv("SECRET_KEY", PRODUCTION["SECRET_KEY"])
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", DEV_AUTH_TOKEN)
    with pytest.raises(ConfigError, match="TWILIO_AUTH_TOKEN"):
        load_settings()
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", PRODUCTION["TWILIO_AUTH_TOKEN"])
    monkeypatch.delenv("PUBLIC_BASE_URL")
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
        load_settings()
    monkeypatch.setenv("PUBLIC_BASE_URL", PRODUCTION["PUBLIC_BASE_URL"])
    assert load_settings().ivr_env.value == "production"


def test_production_refuses_short_api_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("IVR_API_KEYS", "k" * 30 + ",crm-key")
    with pytest.raises(ConfigError, match=r"IVR_API_KEYS \(1 key\(s\) shorter than 24 characters"):
        load_settings()
    monkeypatch.setenv("IVR_API_KEYS", "k" * 30 + "," + "c" * 24)
    assert len(load_settings().ivr_api_keys) == 2


def test_the_server_refuses_to_start_in_production_without_its_secrets() -> None:
    """What an operator sees: one clear message naming the variables, from a real start."""
    env = {key: value for key, value in os.environ.items() if key not in PRODUCTION}
    env.pop("IVR_ENV", None)
    started = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0
    assert "PUBLIC_BASE_URL" in started.stderr and "TWILIO_AUTH_TOKEN" in started.stderr


def test_in_production_the_development_key_and_token_are_never_accepted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    app = create_app(database_url=f"sqlite:///{tmp_path / 'p.sqlite3'}", instance_dir=tmp_path)
    with app.app_context():
        db.create_all()
        assert api_keys.authenticate("dev-api-key") is None
    url = "https://survey.example.com/voice/fallback"
    signed = RequestValidator(DEV_AUTH_TOKEN).compute_signature(url, {"CallSid": "CA1"})
    answer = app.test_client().post(
        "/voice/fallback", data={"CallSid": "CA1"}, headers={"X-Twilio-Signature": signed}
    )
    assert answer.status_code == 403


def test_a_flask_command_with_a_bad_setting_says_so_in_one_line() -> None:
    env = {key: value for key, value in os.environ.items() if key not in PRODUCTION}
    env.update(IVR_ENV="development", PROXY_HOPS="two")
    ran = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "sweep"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 2
    assert ran.stderr.strip().splitlines() == [
        "error: Bad configuration: PROXY_HOPS: Input should be a valid integer,"
        " unable to parse string as an integer"
    ]
