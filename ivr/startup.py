"""What a person sees when the server or a command cannot start or run: a few lines naming the
variable, file or service at fault and what to do, never a traceback (unless IVR_DEBUG=1 or
`flask --debug`).

Used by the app factory (bad settings, broken flows), by every `flask` command (a database or
Redis that cannot be reached), by the process-wide exception hook of real starts (commands
that are not ours, such as `flask db upgrade`) and by gunicorn's `on_starting` (the web server
refuses to start when the database cannot be reached).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import TracebackType
from typing import NoReturn

import sqlalchemy as sa
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ivr.flows.problems import FlowError
from ivr.settings import ConfigError


def debugging() -> bool:
    """IVR_DEBUG=1 or `flask --debug` (FLASK_DEBUG): show tracebacks instead of one-line errors."""
    return os.environ.get("IVR_DEBUG") == "1" or os.environ.get("FLASK_DEBUG", "").lower() in (
        "1",
        "true",
        "yes",
    )


def load_env_file() -> None:
    """Read `.env` (from the current folder up) the way Flask's CLI does; the environment wins.

    Called by real starts that do not go through the `flask` command (gunicorn, `import wsgi`).
    """
    import dotenv

    path = dotenv.find_dotenv(".env", usecwd=True)
    if path:
        dotenv.load_dotenv(path, override=False)


def masked_url(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def explain(exc: BaseException) -> str | None:
    """The message for a failure a person can act on; None for a bug (which keeps its traceback)."""
    if isinstance(exc, ConfigError):
        return str(exc)
    if isinstance(exc, FlowError):
        lines = [f"{len(exc.problems)} problem(s) in the call flows (CALLFLOWS_DIR, PROMPTS_DIR):"]
        lines += [f"  {problem}" for problem in exc.problems]
        lines.append("Fix them, then check with `flask --app wsgi flows check`.")
        return "\n".join(lines)
    if isinstance(exc, RedisConnectionError | RedisTimeoutError):
        url = os.environ.get("REDIS_URL", "")
        return (
            f"cannot reach Redis at REDIS_URL={masked_url(url)} ({_first_line(exc)}). "
            "Start Redis or fix REDIS_URL (unset, jobs run inside the web process)."
        )
    if isinstance(exc, sa.exc.DBAPIError):
        message = _first_line(exc)
        configured = os.environ.get("DATABASE_URL")
        url = f"DATABASE_URL={masked_url(configured)}" if configured else "(the SQLite file in INSTANCE_DIR)"
        lowered = message.lower()
        if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
            return (
                f"the database {url} has no tables yet ({message}). Run `flask --app wsgi db upgrade` first."
            )
        if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
            return (
                f"cannot reach the database {url} ({message}). "
                "Start it, or fix DATABASE_URL (postgresql://user:password@host:5432/name)."
            )
    return None


def refuse(message: str, status: int = 2) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(status)


def install_excepthook() -> None:
    """For real starts: an uncaught failure a person can act on ends in its message, status 1."""
    previous = sys.excepthook

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        message = None if debugging() else explain(exc)
        if message is None:
            previous(kind, exc, tb)
            return
        print(f"error: {message}", file=sys.stderr)

    if getattr(sys.excepthook, "_ivr", False):
        return
    hook._ivr = True  # type: ignore[attr-defined]
    sys.excepthook = hook


def check_database(uri: str) -> None:
    """Connect once; raise what the driver raises. The factory's caller decides what to say."""
    engine = sa.create_engine(uri, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    finally:
        engine.dispose()


def preflight() -> None:
    """Before the web server forks its workers: settings, flows and the database, or refuse."""
    from ivr.settings import load_settings

    load_env_file()
    try:
        config = load_settings()
        from ivr.flows import load_catalog
        from ivr.flows.routing import load_front_door

        flows = load_catalog(config.callflows_dir, config.prompts_dir)
        load_front_door(config.callflows_dir, config.prompts_dir, flows, config.default_flow)
        if config.database_url is None:
            Path(config.instance_dir).mkdir(parents=True, exist_ok=True)
        check_database(config.sqlalchemy_database_uri)
    except Exception as exc:
        message = None if debugging() else explain(exc)
        if message is None:
            raise
        refuse(message + "\nThe web server did not start.")
