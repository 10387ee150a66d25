"""gunicorn settings for the web process (the Procfile's `web` line); env vars override."""

import os

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
