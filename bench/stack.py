"""Start and stop the processes under test (gunicorn, RQ worker) and read their memory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


class Service:
    """A process group we started, with its log file and memory sampler."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.peak_rss_kb: dict[int, int] = {}
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def descendants(self) -> list[int]:
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                parents[int(entry.name)] = int(fields[1])
        found, frontier = [], [self.process.pid]
        while frontier:
            pid = frontier.pop()
            children = [child for child, parent in parents.items() if parent == pid]
            found += children
            frontier += children
        return found

    def _sample(self) -> None:
        # VmHWM is each process's own peak; sampling catches short-lived children (RQ work horses).
        while not self._stop.wait(0.2):
            for pid in [self.process.pid, *self.descendants()]:
                peak = read_peak_rss_kb(pid)
                if peak:
                    self.peak_rss_kb[pid] = max(peak, self.peak_rss_kb.get(pid, 0))

    def stop(self) -> None:
        self._stop.set()
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def read_rss_kb(pid: int) -> int:
    """The process's resident memory now (VmRSS), in KiB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def read_peak_rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def gunicorn(name: str, app_spec: str, port: int, env: dict[str, str], log_dir: Path) -> Service:
    """gunicorn with the Procfile's settings (gunicorn.conf.py), bound to loopback."""
    argv = [str(BIN / "gunicorn"), app_spec, "--config", str(ROOT / "gunicorn.conf.py")]
    service = Service(name, argv, {**env, "BIND": f"127.0.0.1:{port}"}, log_dir)
    wait_for_http(f"http://127.0.0.1:{port}/", service)
    return service


def rq_worker(env: dict[str, str], log_dir: Path) -> Service:
    """The Procfile's worker line: RQ in the app's context, with the scheduler."""
    argv = [str(BIN / "flask"), "--app", "wsgi", "worker", "--with-scheduler"]
    service = Service("rq-worker", argv, env, log_dir)
    time.sleep(2)
    if service.process.poll() is not None:
        raise RuntimeError(f"the RQ worker exited; see {service.log_path}")
    return service


def wait_for_http(url: str, service: Service, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(f"{service.name} exited at start; see {service.log_path}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answers (404/405 is fine)
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{service.name} did not answer on {url} within {timeout:.0f} s")


def _cpu_seconds(pid: int, reaped: bool = False) -> float:
    """A process's user + system CPU (and, with `reaped`, that of its children it waited for)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if reaped else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def service_cpu(service: Service) -> float:
    """CPU seconds of a service so far: the process, the children it reaped, the live children."""
    return _cpu_seconds(service.process.pid, reaped=True) + sum(
        _cpu_seconds(pid) for pid in service.descendants()
    )


class DatabaseCpu:
    """CPU of the PostgreSQL backends serving one database (not the others on the machine)."""

    def __init__(self, database_url: str) -> None:
        import sqlalchemy as sa

        self.engine = sa.create_engine(database_url, pool_size=1)
        self.query = sa.text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )

    def snapshot(self) -> dict[int, float]:
        with self.engine.connect() as conn:
            pids = [int(pid) for (pid,) in conn.execute(self.query)]
        return {pid: _cpu_seconds(pid) for pid in pids}

    @staticmethod
    def used(before: dict[int, float], after: dict[int, float]) -> float:
        """Between two snapshots; a backend that started in between counts whole."""
        return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())

    def close(self) -> None:
        self.engine.dispose()
