"""gunicorn with several processes: /metrics sums every process's samples (multiprocess mode)."""

from __future__ import annotations

import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import AUTH_TOKEN, SECRET_KEY
from tests.local_servers import free_port, running

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TOKEN = "scrape-token-0123456789"


def _status(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


def _signature_failures(base: str) -> float:
    status, text = _status(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200, text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "ivr_webhook_signature_failures_total":
                return sample.value
    return 0.0


@pytest.mark.slow
def test_metrics_from_every_gunicorn_process(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    port = free_port()
    env = {
        **os.environ,
        "IVR_ENV": "test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'ivr.sqlite3'}",
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "SECRET_KEY": SECRET_KEY,
        "INSTANCE_DIR": str(tmp_path),
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "3",
        "WEB_THREADS": "1",
    }
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "gunicorn", "wsgi:app", "--config", "gunicorn.conf.py"]
    with running(command, cwd=PROJECT_ROOT, env=env):
        deadline = time.monotonic() + 30
        while True:
            try:
                if _status(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.1)
        for _ in range(12):  # each on a new connection, spread over the processes
            assert _status(f"{base}/voice/status", data=b"CallSid=CA1", headers={})[0] == 403
        # Whichever process answers the scrape, it reports all twelve.
        assert [_signature_failures(base) for _ in range(4)] == [12.0] * 4
        assert list(metrics_dir.glob("counter_*.db"))
