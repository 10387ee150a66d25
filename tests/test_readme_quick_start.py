"""Every shell command of the README's quick start, run from a fresh clone, so the README cannot drift.

The clone is of this repository's HEAD (commit first to test a change); it reuses this checkout's
virtualenv (a symlink, requirements made older than it) so nothing is installed. `make run` gets
a free PORT and MAIL_PORT instead of 5000 and 1025 (other runs may hold those); the other commands
are run exactly as written, with PUBLIC_BASE_URL pointing them at that port, as `make run` does for
its own commands. `make test` is left out: it is this suite.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.local_servers import free_port

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VENV = Path(sys.prefix)


def quick_start_commands(readme: str) -> list[str]:
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL):
        for line in block.splitlines():
            command = re.sub(r"\s+#\s.*$", "", line).strip()
            if command:
                commands.append(command)
    return commands


def _wait_for(url: str, seconds: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "make run stopped"
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError as exc:
            if getattr(exc, "code", None):  # an HTTP answer: the server is up
                return
            time.sleep(0.2)
    raise AssertionError(f"{url} did not come up in {seconds} s")


@pytest.mark.slow
def test_every_quick_start_command_works_from_a_fresh_clone(tmp_path: Path) -> None:
    if shutil.which("git") is None or shutil.which("make") is None or shutil.which("curl") is None:
        pytest.fail("git, make and curl are needed to run the README's quick start", pytrace=False)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(PROJECT_ROOT), str(clone)], check=True, timeout=60)
    (clone / ".venv").symlink_to(VENV)
    for name in ("requirements.txt", "requirements-dev.txt"):
        os.utime(clone / name, (0, 0))  # older than .venv/.installed: make installs nothing

    commands = quick_start_commands((clone / "README.md").read_text())
    assert commands[:2] == ["make run", "make test"], commands
    port, mail_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("IVR_", "FLASK_", "SMTP_", "PYTEST"))
        and key not in ("DATABASE_URL", "REDIS_URL")
    }
    env["PUBLIC_BASE_URL"] = base
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            ["make", "run", f"PORT={port}", f"MAIL_PORT={mail_port}"],
            cwd=clone,
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for(f"{base}/voice/fallback", 60, server)
        outputs: list[str] = []
        call_sids: list[str] = []
        for command in commands[2:]:
            if command.startswith("make "):
                command += f" PORT={port}"
            if "<CallSid printed by simulate>" in command:
                command = command.replace("127.0.0.1:5000", f"127.0.0.1:{port}")
                ran_for = {}
                for sid in call_sids:
                    answer = _run(command.replace("<CallSid printed by simulate>", sid), clone, env)
                    ran_for[sid] = json.loads(answer)
                outputs.append(json.dumps(ran_for))
                continue
            output = _run(command, clone, env)
            call_sids += re.findall(r" as (CA[0-9a-f]{32})", output)
            outputs.append(output)
        assert len(call_sids) == 4, outputs

        # What the README says the spoken-comment example does: scored again when the transcript
        # arrives, an extreme low by its sentiment, a callback task, its e-mail in the catcher.
        spoken = json.loads(outputs[-1])[call_sids[2]]["responses"][0]
        assert [a["value"] for a in spoken["answers"]] == [5, 9, "yes", "recorded"]
        assert spoken["score"]["extreme_low"] is True and spoken["score"]["sentiment"] <= -0.5
        assert spoken["callback_task"] is not None
        deadline = time.monotonic() + 10
        while b"MESSAGE FOLLOWS" not in log.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert b"MESSAGE FOLLOWS" in log.read_bytes(), log.read_text()
        front_door = json.loads(outputs[-1])[call_sids[3]]["responses"][0]
        assert front_door["agent"] == "client:bob"  # a demo agent of the routing file
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
    assert "Traceback" not in log.read_text()


def _run(command: str, cwd: Path, env: dict[str, str]) -> str:
    ran = subprocess.run(
        ["sh", "-c", command],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = ran.stdout + ran.stderr
    assert ran.returncode == 0, f"{command}\n{output}"
    assert "Traceback" not in output, f"{command}\n{output}"
    return ran.stdout
