"""Where a web worker's request time goes: py-spy samples folded into inclusive shares."""

from __future__ import annotations

import collections
import shutil
import subprocess
import sys
from pathlib import Path

# Frames worth naming in the summary (our code and the layers it spends time in).
INTERESTING = (
    "ivr/",
    "psycopg/connection.py",
    "sqlalchemy/pool/",
    "sqlalchemy/orm/session.py",
    "sqlalchemy/engine/base.py",
    "twilio/",
    "flask/app.py",
    "redis/",
    "rq/",
)


def start(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    # Installed into the venv by `make bench`, which does not put the venv on PATH.
    exe = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if exe is None:
        return None
    argv = [exe, "record", "--pid", str(pid), "--format", "raw", "-o", str(out)]
    argv += ["--duration", str(int(seconds)), "--rate", "100", "--nonblocking"]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def summary(raw: Path, top: int = 22) -> list[tuple[float, str]]:
    """Inclusive share of request samples per frame, for frames in INTERESTING."""
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not count.isdigit() or not any("handle_request" in frame for frame in frames):
            continue  # not a request's stack (idle threads, other lines py-spy writes)
        n = int(count)
        total += n
        seen = set()
        for frame in frames:
            where = frame.rsplit("(", 1)[-1].split(":")[0].split("site-packages/")[-1]
            if not where.startswith(INTERESTING):
                continue
            key = f"{frame.split(' (')[0]} [{where}]"
            if key not in seen:
                inclusive[key] += n
                seen.add(key)
    return [(n / total, key) for key, n in inclusive.most_common(top)] if total else []
