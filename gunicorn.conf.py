"""gunicorn settings for the web process (the Procfile's `web` line); env vars override."""

import os

from ivr import startup

# The web server reads `.env` like every `flask` command does (the environment wins).
startup.load_env_file()

bind = os.environ.get("BIND", f"0.0.0.0:{os.environ.get('PORT', '5000')}")
# Survey webhooks are short and I/O-bound (one database commit, one Redis push):
# a few processes with threads each carry hundreds of webhooks a second on 2 cores.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread"
# Twilio gives up after 15 s; never hold a request longer than that.
timeout = 15
graceful_timeout = 10
keepalive = 5
accesslog = "-"


# Prometheus multiprocess mode (PROMETHEUS_MULTIPROC_DIR set): each process writes its samples to
# files there, and /metrics sums them. Stale files from an earlier run would be summed too, and a
# dead process's live gauges must go.
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def on_starting(server: object) -> None:
    """In the master, before any worker: bad settings, broken flows or a database that cannot be
    reached stop the start with one message (ivr.startup), instead of workers failing in a loop;
    and the metrics directory starts empty."""
    startup.preflight()
    if _metrics_dir:
        for name in os.listdir(_metrics_dir):
            if name.endswith(".db"):
                os.remove(os.path.join(_metrics_dir, name))


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    if _metrics_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
