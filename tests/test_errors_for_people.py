"""What a person sees when a setting, a flow file, the database or Redis is wrong: a few lines
naming the variable (or file, step and field) and what to do, a non-zero status, no traceback;
from real `flask` commands and a real gunicorn, as an operator runs them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.local_servers import RedisServer, free_port, running

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
UNREACHABLE_DB = "postgresql://postgres@127.0.0.1:{port}/ivr"


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("IVR_", "FLASK_")) and key not in ("DATABASE_URL", "REDIS_URL", "PROXY_HOPS")
    }
    env.update(IVR_ENV="development", INSTANCE_DIR=str(tmp_path), **values)
    return env


def _flask(tmp_path: Path, *args: str, **values: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=PROJECT_ROOT,
        env=_env(tmp_path, **values),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _broken_flows(tmp_path: Path) -> Path:
    flows = tmp_path / "flows"
    shutil.copytree(PROJECT_ROOT / "callflows", flows)
    sample = flows / "post-call-csat.yaml"
    sample.write_text(sample.read_text().replace("min: 1", "min: 9", 1))
    (flows / "broken.yaml").write_text("id: broken\nsteps: [\n")
    return flows


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"DATABASE_URL": "nonsense"}, ["DATABASE_URL", "'nonsense' is not a database URL", "postgresql://"]),
        ({"DATABASE_URL": "mysql://u:p@db/ivr"}, ["DATABASE_URL", "mysql is not supported", "PostgreSQL"]),
        ({"REDIS_URL": "notaurl"}, ["REDIS_URL", "is not a Redis URL", "redis://host:6379/0"]),
        ({"SMTP_PORT": "twenty-five"}, ["SMTP_PORT", "valid integer"]),
        ({"QUIET_HOURS": "late"}, ["QUIET_HOURS", "HH:MM-HH:MM"]),
        (
            {"DATABASE_URL": UNREACHABLE_DB},
            ["cannot reach the database", "DATABASE_URL=postgresql", "Start it"],
        ),
        (
            {"REDIS_URL": "redis://127.0.0.1:{port}/0"},
            ["cannot reach Redis", "REDIS_URL=redis://", "Start Redis"],
        ),
    ],
)
def test_every_bad_setting_or_missing_service_is_a_sentence(
    tmp_path: Path, values: dict[str, str], expected: list[str]
) -> None:
    port = str(free_port())
    values = {name: value.replace("{port}", port) for name, value in values.items()}
    if "REDIS_URL" in values and "127.0.0.1" in values["REDIS_URL"]:
        # The database is fine, Redis is not (a long-running worker waits instead: below).
        ran = _flask(tmp_path, "worker", "--burst", **values)
    else:
        ran = _flask(tmp_path, "jobs", "sweep", **values)
    output = ran.stdout + ran.stderr
    assert ran.returncode != 0, output
    assert "Traceback" not in output
    assert len(output.strip().splitlines()) <= 3, output
    for words in expected:
        assert words in output, output


def test_db_upgrade_with_the_database_down_is_a_sentence_and_debug_shows_the_traceback(
    tmp_path: Path,
) -> None:
    url = UNREACHABLE_DB.format(port=free_port())
    ran = _flask(tmp_path, "db", "upgrade", DATABASE_URL=url)
    assert ran.returncode != 0 and "Traceback" not in ran.stderr
    assert "cannot reach the database DATABASE_URL=" in ran.stderr
    debug = _flask(tmp_path, "db", "upgrade", DATABASE_URL=url, IVR_DEBUG="1")
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_an_unmigrated_database_says_to_run_the_migrations(tmp_path: Path) -> None:
    ran = _flask(tmp_path, "tasks", "list")
    assert ran.returncode != 0 and "Traceback" not in ran.stderr
    assert "has no tables yet" in ran.stderr and "flask --app wsgi db upgrade" in ran.stderr


def test_a_broken_flow_names_every_file_step_and_field_in_one_run(tmp_path: Path) -> None:
    flows = _broken_flows(tmp_path)
    for command in (["flows", "check"], ["jobs", "sweep"]):
        ran = _flask(tmp_path, *command, CALLFLOWS_DIR=str(flows))
        assert ran.returncode != 0 and "Traceback" not in ran.stderr
        assert "broken.yaml: not valid YAML" in ran.stderr
        assert "post-call-csat.yaml: step 'csat': field 'min': impossible range: min 9" in ran.stderr
        assert "flows check" in ran.stderr


@pytest.mark.parametrize("problem", ["database", "setting", "flow"])
def test_the_web_server_refuses_to_start_with_the_same_message(tmp_path: Path, problem: str) -> None:
    values = {
        "database": {"DATABASE_URL": UNREACHABLE_DB.format(port=free_port())},
        "setting": {"PROXY_HOPS": "two"},
        "flow": {"CALLFLOWS_DIR": str(_broken_flows(tmp_path)) if problem == "flow" else ""},
    }[problem]
    started = subprocess.run(
        [str(BIN / "gunicorn"), "wsgi:app", "--bind", f"127.0.0.1:{free_port()}", "--workers", "1"],
        cwd=PROJECT_ROOT,
        env=_env(tmp_path, **values),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0
    assert "Traceback" not in started.stderr
    assert "The web server did not start." in started.stderr
    assert {"database": "cannot reach the database", "setting": "PROXY_HOPS", "flow": "impossible range"}[
        problem
    ] in started.stderr


def test_the_web_server_reads_dot_env(tmp_path: Path) -> None:
    """`.env` is read outside the `flask` command too (gunicorn, `import wsgi`); the environment wins."""
    (tmp_path / ".env").write_text("PROXY_HOPS=from-dot-env\n")
    env = _env(tmp_path, PYTHONPATH=str(PROJECT_ROOT))
    started = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 2 and "PROXY_HOPS" in started.stderr and "Traceback" not in started.stderr
    env["PROXY_HOPS"] = "1"
    assert (
        subprocess.run([sys.executable, "-c", "import wsgi"], cwd=tmp_path, env=env, timeout=60).returncode
        == 0
    )


def test_the_worker_waits_for_redis_with_back_off_then_starts(tmp_path: Path) -> None:
    assert _flask(tmp_path, "db", "upgrade").returncode == 0
    redis = RedisServer()
    log = tmp_path / "worker.log"
    with (
        log.open("w") as out,
        running(
            [str(BIN / "flask"), "--app", "wsgi", "worker"],
            cwd=PROJECT_ROOT,
            env=_env(tmp_path, REDIS_URL=redis.url, PYTHONUNBUFFERED="1"),
            stdout=out,
            stderr=subprocess.STDOUT,
        ) as worker,
    ):
        deadline = time.monotonic() + 20
        while log.read_text().count("cannot reach Redis") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert worker.poll() is None, log.read_text()  # still there, waiting
        redis.start()
        try:
            while "worker listening" not in log.read_text() and time.monotonic() < deadline + 10:
                time.sleep(0.1)
        finally:
            redis.stop()
    output = log.read_text()
    assert "Traceback" not in output
    assert "trying again in 1 s" in output and "trying again in 2 s" in output
    assert f"REDIS_URL={redis.url}" in output and "worker listening" in output
