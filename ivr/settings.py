"""Typed settings read once from the environment, checked at start with a clear message."""

from __future__ import annotations

from datetime import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from croniter import croniter
from flask import current_app
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Development-only credentials: known to the simulator so that a laptop works with no set-up.
# Production refuses to start with them.
DEV_AUTH_TOKEN = "dev-auth-token-not-for-production"
DEV_SECRET_KEY = "dev-secret-key-not-for-production"
# Where `make run` serves when PUBLIC_BASE_URL is not set (development and tests only).
DEV_SERVER_URL = "http://127.0.0.1:5000"
# Shorter API keys can be guessed or were typed by hand; production refuses them.
MIN_API_KEY_LENGTH = 24


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names the variable."""


REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def _check_database_url(value: str) -> None:
    """A URL SQLAlchemy can parse, for a database this app runs on, whose driver is installed."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError(
            f"{value!r} is not a database URL: use postgresql://user:password@host:5432/name "
            "(or sqlite:///path/to/file.sqlite3, or leave DATABASE_URL unset outside production)"
        ) from None
    if url.get_backend_name() not in ("postgresql", "sqlite"):
        raise ValueError(
            f"{url.get_backend_name()} is not supported: this server runs on PostgreSQL "
            "(postgresql://user:password@host:5432/name) or SQLite (sqlite:///path/to/file.sqlite3)"
        )
    try:
        url.get_dialect().import_dbapi()
    except (NoSuchModuleError, ImportError) as exc:
        raise ValueError(
            f"the driver for {url.drivername} cannot be loaded ({exc}); use postgresql:// "
            "(psycopg 3, installed with the requirements) or sqlite:///"
        ) from None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    # Production unless told otherwise: `make run`, the tests and `flask simulate` opt into
    # development; nothing falls back to development credentials by accident.
    ivr_env: Environment = Environment.production
    database_url: str | None = None
    # Behind PgBouncer in transaction mode a connection's prepared statements may be on another
    # server connection: false turns off psycopg 3's server-side prepared statements.
    database_prepared_statements: bool = True
    redis_url: str | None = None
    twilio_account_sid: str = "AC00000000000000000000000000000000"
    twilio_auth_token: str = DEV_AUTH_TOKEN
    secret_key: str = DEV_SECRET_KEY
    # The public URL Twilio calls (e.g. https://survey.example.com). Every URL handed to Twilio
    # (survey calls, redirects, callbacks) is built from it, never from a request's Host header;
    # signatures are checked against it. Required in production.
    public_base_url: str | None = None
    # How many proxies in front of the app set X-Forwarded-* (0: trust none).
    proxy_hops: int = 0
    ivr_api_keys: Annotated[list[str], NoDecode] = []
    # The flow a survey runs when the request names none.
    default_flow: str = "post-call-csat"
    # Twilio's REST API (outbound SMS and calls). Point it at a stand-in to test or demo
    # without a Twilio account.
    twilio_api_base_url: str = "https://api.twilio.com"
    # The number outbound survey calls come from (POST /api/surveys).
    twilio_caller_id: str | None = None
    # Outbound survey calls wait out these hours in the caller's time zone, when it is known.
    quiet_hours: str = "21:00-09:00"
    # The number (or Messaging Service SID, MG...) SMS notifications are sent from.
    twilio_sms_from: str | None = None
    # The number (or MG... Messaging Service SID) survey texts come from; its incoming-message
    # webhook is POST /sms/incoming. Unset: TWILIO_SMS_FROM.
    twilio_sms_survey_from: str | None = None
    # A survey by text still unanswered this many hours after its invitation becomes partial (or
    # breakoff) and is scored.
    sms_survey_expiry_hours: int = Field(default=24, ge=1, le=24 * 14)
    # E-mail notifications. Without SMTP_HOST the e-mail channel fails visibly.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_from: str = "surveys@localhost"
    # Seconds between a failed notification's attempts (RQ Retry); one entry per retry.
    notification_retry_intervals: Annotated[list[int], NoDecode] = [10, 60, 300]
    # When agents' daily feedback digests go out (cron syntax, in the worker machine's local time).
    feedback_digest_cron: str = "0 17 * * *"
    # How often the scheduler looks for lost jobs, unsent notifications and missed deadlines.
    housekeeping_interval_seconds: int = 60
    # How long a scoring job waits for the next finished response before it ends, so that one
    # job scores a steady stream instead of paying RQ's own work for each (0: end when empty).
    scoring_linger_seconds: Annotated[float, Field(ge=0, le=5)] = 0.5
    # Which agent a response credits when the call went through several: the last one (the
    # agent who finished the call), the first, or the one on the longest leg.
    agent_credit_rule: Literal["last", "first", "longest"] = "last"
    # The key of the hash caller numbers are matched by (do-not-survey list, "once in N days").
    # Defaults to one derived from SECRET_KEY; set it on its own so that rotating SECRET_KEY
    # does not forget who opted out.
    caller_hash_key: str | None = None
    # A survey still in progress this long after it started is closed (the status callback never
    # came) as partial or breakoff.
    stale_response_minutes: int = Field(default=60, ge=5)
    # Responses older than this lose their personal data (numbers, transcripts, recordings'
    # links, verbatims) to `flask data purge`, run daily by the scheduler; scores stay. None: keep.
    retention_days: int | None = Field(default=None, ge=1)
    # What a supervisor may record when closing a callback task (comma separated); the notes
    # take whatever else they have to say.
    task_outcomes: Annotated[list[str], NoDecode] = [
        "resolved",
        "apologised",
        "compensated",
        "unreachable",
        "declined",
    ]
    # A recovery follow-up goes to the caller this long after their callback task is closed
    # with one of FOLLOW_UP_OUTCOMES (none: no follow-ups), asking FOLLOW_UP_FLOW.
    follow_up_delay_hours: float = Field(default=24, ge=0, le=24 * 30)
    follow_up_outcomes: Annotated[list[str], NoDecode] = ["resolved", "apologised", "compensated"]
    follow_up_flow: str = "follow-up"
    task_root_causes: Annotated[list[str], NoDecode] = [
        "agent_behaviour",
        "agent_knowledge",
        "process",
        "product",
        "policy",
        "billing",
        "technical",
        "wait_time",
        "other",
    ]
    # A signed-in session ends after this long without a request.
    session_minutes: int = Field(default=8 * 60, ge=5)
    # An agent's pages (and feedback e-mails) hold back a call's caller score this long after the
    # call, until the agent has rated the call themselves; a self-rating after it is stored as
    # late. 0: nothing is held back (and no rating counts as blind).
    self_rating_window_minutes: int = Field(default=120, ge=0)
    # The bearer token Prometheus sends to scrape GET /metrics. Unset: /metrics answers 404.
    metrics_token: str | None = None
    # `flask worker` serves its own metrics (jobs run, failed, retried) on this port; unset: off.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # The address the worker's metrics port listens on (0.0.0.0 for a scraper on another machine).
    metrics_host: str = "127.0.0.1"
    # Set for gunicorn (several processes): where prometheus-client's multiprocess mode keeps each
    # process's samples. It must exist, be empty at start, and be set before the app is imported.
    prometheus_multiproc_dir: Path | None = None
    # Log lines as JSON (one object a line) or for people; unset: JSON in production, else people.
    log_format: Literal["json", "console"] | None = None
    # The least important log level written (DEBUG, INFO, WARNING, ERROR).
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Errors from the web and worker processes go to this Sentry project; unset: nothing is sent.
    sentry_dsn: str | None = None
    # The share of requests and jobs Sentry also traces for performance (0: errors only).
    sentry_traces_sample_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    callflows_dir: Path = PROJECT_ROOT / "callflows"
    prompts_dir: Path = PROJECT_ROOT / "prompts"
    instance_dir: Path = PROJECT_ROOT / "instance"

    @field_validator("ivr_api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [key.strip() for key in value.split(",") if key.strip()]
        return value

    @field_validator("task_outcomes", "task_root_causes", "follow_up_outcomes", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("task_outcomes", "task_root_causes")
    @classmethod
    def _short_items(cls, value: list[str]) -> list[str]:
        if not value or any(len(item) > 64 for item in value):
            raise ValueError("give one or more items, each at most 64 characters")
        return value

    @field_validator("notification_retry_intervals", mode="before")
    @classmethod
    def _split_intervals(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(part) for part in value.split(",") if part.strip()]
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        start, dash, end = value.partition("-")
        try:
            time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
        except ValueError:
            dash = ""
        if not dash:
            raise ValueError(f"{value!r} is not HH:MM-HH:MM, e.g. 21:00-09:00")
        return value

    @field_validator("feedback_digest_cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        if not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a cron expression (e.g. '0 17 * * *')")
        return value

    @field_validator("public_base_url", "twilio_api_base_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        # Heroku-style URLs name the driver "postgres"; SQLAlchemy wants psycopg 3 named.
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                value = "postgresql+psycopg://" + value[len(prefix) :]
                break
        _check_database_url(value)
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if value.startswith("redis+sentinel://"):
            raise ValueError(
                "Sentinel URLs are not read by redis-py or RQ: point REDIS_URL at an address that always "
                "reaches the primary (README, 'When one machine is not enough')"
            )
        if not value.startswith(REDIS_SCHEMES):
            raise ValueError(
                f"{value!r} is not a Redis URL: use redis://host:6379/0 (rediss:// for TLS, "
                "unix:///path/redis.sock), or leave REDIS_URL unset to run jobs inside the web process"
            )
        return value

    @field_validator("prometheus_multiproc_dir")
    @classmethod
    def _existing_dir(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"{value} is not a directory (create it, empty, before starting)")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("proxy_hops")
    @classmethod
    def _non_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must be zero or more")
        return value

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> Settings:
        if self.ivr_env is Environment.production:
            missing = []
            if self.twilio_auth_token in ("", DEV_AUTH_TOKEN):
                missing.append("TWILIO_AUTH_TOKEN")
            if self.secret_key in ("", DEV_SECRET_KEY) or len(self.secret_key) < 16:
                missing.append("SECRET_KEY (16 characters or more)")
            if not self.public_base_url:
                missing.append("PUBLIC_BASE_URL (the https:// address Twilio reaches this server at)")
            if not self.database_url:
                missing.append("DATABASE_URL")
            short = [key for key in self.ivr_api_keys if len(key) < MIN_API_KEY_LENGTH]
            if short:
                missing.append(
                    f"IVR_API_KEYS ({len(short)} key(s) shorter than {MIN_API_KEY_LENGTH} characters;"
                    " make keys with `flask api-keys create NAME`)"
                )
            if missing:
                raise ValueError(
                    "production (the default IVR_ENV) needs real values for: "
                    + ", ".join(missing)
                    + ". On a laptop, set IVR_ENV=development (make run does)."
                )
        return self

    @property
    def sqlalchemy_database_uri(self) -> str:
        return self.database_url or f"sqlite:///{self.instance_dir / 'ivr.sqlite3'}"

    @property
    def twilio_base_url(self) -> str:
        """Where Twilio reaches this server: PUBLIC_BASE_URL, or the local server outside production."""
        return self.public_base_url or DEV_SERVER_URL

    @property
    def sms_survey_sender(self) -> str | None:
        return self.twilio_sms_survey_from or self.twilio_sms_from

    @property
    def json_logs(self) -> bool:
        if self.log_format is None:
            return self.ivr_env is Environment.production
        return self.log_format == "json"

    @property
    def jobs_inline(self) -> bool:
        """Without Redis, jobs run in the web process right after the commit."""
        return not self.redis_url


def load_settings(**overrides: object) -> Settings:
    """Read the environment (plus explicit overrides) or fail with a message naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]).upper()
            # A rule across several variables names them itself.
            problems.append(
                f"{field}: {error['msg']}" if field else error["msg"].removeprefix("Value error, ")
            )
        raise ConfigError("Bad configuration: " + "; ".join(problems)) from None


def settings() -> Settings:
    """The running app's settings (read once at start)."""
    current: Settings = current_app.extensions["ivr.settings"]
    return current
