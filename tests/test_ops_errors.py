"""Error tracking is opt-in: SENTRY_DSN set sends errors (here to a stand-in on 127.0.0.1); unset, nothing."""

from __future__ import annotations

import gzip
import subprocess
import sys
import time
from pathlib import Path

from tests.local_servers import http_recorder

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Runs in a fresh interpreter: sentry-sdk's client is process-wide, and "never imported" must be
# checked where nothing else imported it.
SCRIPT = """
import sys
from tests.helpers import make_settings
from ivr import create_app

dsn = sys.argv[1] or None
app = create_app(make_settings(None, __import__("pathlib").Path(sys.argv[2]), sentry_dsn=dsn))
if dsn is None:
    print("imported" if "sentry_sdk" in sys.modules else "not imported")
    raise SystemExit(0)
import sentry_sdk
client = sentry_sdk.get_client()
print(client.is_active(), client.options["dsn"])
print(sorted(client.integrations))
try:
    raise RuntimeError("probe from caller +15557654321")
except RuntimeError:
    sentry_sdk.capture_exception()
sentry_sdk.flush(timeout=5)
"""


def run(dsn: str, tmp_path: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, dsn, str(tmp_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_without_sentry_dsn_sentry_is_not_even_imported(tmp_path: Path) -> None:
    assert run("", tmp_path).strip() == "not imported"


def test_with_sentry_dsn_errors_go_to_sentry_with_flask_and_rq(tmp_path: Path) -> None:
    with http_recorder() as sentry:
        dsn = sentry.url.replace("http://", "http://publickey@") + "/1"
        output = run(dsn, tmp_path).splitlines()
        assert output[0] == f"True {dsn}"
        assert "flask" in output[1] and "rq" in output[1]
        deadline = time.monotonic() + 5
        while not sentry.received and time.monotonic() < deadline:
            time.sleep(0.05)
    [envelope] = [r for r in sentry.received if r.path == "/api/1/envelope/"]
    raw = envelope.body
    if envelope.headers.get("Content-Encoding") == "gzip":
        raw = gzip.decompress(raw)
    body = raw.decode()
    assert "probe from caller" in body and "RuntimeError" in body
    assert "+15557654321" not in body and "4321" in body
