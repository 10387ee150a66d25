"""Settings: typed, read from the environment, clear about what is wrong."""

from __future__ import annotations

import pytest

from ivr.settings import DEV_AUTH_TOKEN, ConfigError, load_settings


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
    ):
        monkeypatch.delenv(name, raising=False)


def test_embedded_defaults_need_nothing() -> None:
    settings = load_settings()
    assert settings.sqlalchemy_database_uri.startswith(
        "sqlite:///"
    ) and settings.sqlalchemy_database_uri.endswith("instance/ivr.sqlite3")
    assert settings.jobs_inline is True
    assert settings.twilio_auth_token == DEV_AUTH_TOKEN


def test_environment_values_are_read_and_typed(monkeypatch: pytest.MonkeyPatch) -> None:
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
    assert "TWILIO_AUTH_TOKEN" in str(caught.value)
    assert "SECRET_KEY" in str(caught.value)
    assert "DATABASE_URL" in str(caught.value)

    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "0123456789abcdef0123456789abcdef")
    monkeypatch.setenv("SECRET_KEY", "short")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/ivr")
    with pytest.raises(ConfigError, match=r"SECRET_KEY \(16 characters or more\)"):
        load_settings()

    monkeypatch.setenv("SECRET_KEY", "a-long-and-random-secret-key")
    assert load_settings().ivr_env.value == "production"
