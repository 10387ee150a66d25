"""`flask worker` runs RQ in the app's context; `flask jobs sweep` re-enqueues lost work."""

from __future__ import annotations

import os

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from rq import SimpleWorker, Worker
from rq.worker import BaseWorker

from ivr.extensions import db
from ivr.jobs import QUEUES, job_queue
from ivr.jobs.scoring import sweep_unscored


@click.command()
@with_appcontext
@click.argument("queues", nargs=-1)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--with-scheduler", is_flag=True, help="Also run RQ's scheduler (retries, deadlines).")
@click.option(
    "--fork",
    is_flag=True,
    help="Run each job in a forked child (isolation, at ~50 ms a job) instead of in the worker process.",
)
def worker(queues: tuple[str, ...], burst: bool, with_scheduler: bool, fork: bool) -> None:
    """Run an RQ worker on the named queues (default: all of them).

    By default jobs run in the worker process itself, which keeps the flow cache and the
    database pool warm: a scoring job then takes a few milliseconds instead of a fork, a new
    connection and a cold cache. Jobs still time out (SIGALRM), and scale comes from running
    more worker processes.
    """
    if current_app.extensions["ivr.settings"].jobs_inline:
        raise click.ClickException("REDIS_URL is not set: jobs run inside the web process, no worker needed.")
    worker_class: type[BaseWorker] = SimpleWorker
    if fork:
        # Each job runs in a forked child: it must not reuse the parent's database connections.
        engine = db.engine
        os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
        worker_class = Worker
    names = list(queues) or list(QUEUES)
    click.echo(f"worker listening on {', '.join(names)}" + (" (a fork per job)" if fork else ""))
    worker_class(names, connection=job_queue().redis).work(burst=burst, with_scheduler=with_scheduler)


@click.group("jobs", cls=AppGroup)
def jobs_group() -> None:
    """Background jobs."""


@jobs_group.command("sweep")
@click.option("--min-age", default=60, show_default=True, help="Seconds a response must have been final.")
def jobs_sweep(min_age: int) -> None:
    """Enqueue scoring for every final response still unscored."""
    ids = sweep_unscored(min_age)
    click.echo(f"{len(ids)} unscored response(s) enqueued" + (f": {ids}" if ids else ""))
