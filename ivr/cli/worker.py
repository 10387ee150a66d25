"""`flask worker` runs RQ in the app's context; `flask jobs sweep` re-enqueues lost work."""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Iterator

import click
from flask.cli import AppGroup, with_appcontext
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import SimpleWorker, Worker
from rq.cron import CronScheduler
from rq.worker import BaseWorker

from ivr.extensions import db
from ivr.jobs import QUEUES, SCHEDULED_QUEUE, job_queue
from ivr.jobs.running import AppJob
from ivr.jobs.scheduled import housekeeping, purge_personal_data, send_digests
from ivr.jobs.scoring import sweep_unscored_report
from ivr.ops.metrics import serve_worker_metrics
from ivr.settings import Settings, settings
from ivr.startup import masked_url

MAX_BACKOFF_SECONDS = 30.0


@click.command()
@with_appcontext
@click.argument("queues", nargs=-1)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option(
    "--with-scheduler",
    is_flag=True,
    help="Also run RQ's scheduler (retries, deadlines) and the periodic jobs (housekeeping, digests).",
)
@click.option(
    "--fork",
    is_flag=True,
    help="Run each job in a forked child (isolation, at ~70-90 ms a job) instead of in the worker process.",
)
def worker(queues: tuple[str, ...], burst: bool, with_scheduler: bool, fork: bool) -> None:
    """Run an RQ worker on the named queues (default: all of them).

    By default jobs run in the worker process itself, which keeps the flow cache and the
    database pool warm: a scoring job then takes a few milliseconds instead of a fork, a new
    connection and a cold cache. Jobs still time out (SIGALRM), and scale comes from running
    more worker processes.
    """
    if settings().jobs_inline:
        raise click.ClickException("REDIS_URL is not set: jobs run inside the web process, no worker needed.")
    worker_class: type[BaseWorker] = SimpleWorker
    if fork:
        # Each job runs in a forked child: it must not reuse the parent's database connections.
        engine = db.engine
        os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
        worker_class = Worker
    names = list(queues) or list(QUEUES)
    # The app and its flows live as long as the worker: kept out of full collections (wsgi.py).
    gc.freeze()
    redis = job_queue().redis
    assert redis is not None
    if burst:  # a one-off run: Redis away is the answer (one line, ivr.startup), not a wait
        redis.ping()
    delays = _backoff()
    while True:
        if not _redis_reachable(redis, delays):
            continue
        try:
            _work(redis, worker_class, names, burst=burst, with_scheduler=with_scheduler, fork=fork)
            return
        except (RedisConnectionError, RedisTimeoutError) as exc:
            if burst:
                raise
            delay = next(delays)
            click.echo(f"lost Redis ({exc}); starting again in {delay:g} s", err=True)
            time.sleep(delay)


def _backoff() -> Iterator[float]:
    """1, 2, 4 ... seconds, then every 30 s for as long as Redis stays away."""
    delay = 1.0
    while True:
        yield delay
        delay = min(delay * 2, MAX_BACKOFF_SECONDS)


def _redis_reachable(redis: Redis, delays: Iterator[float]) -> bool:
    """One line and a wait (with back-off) while Redis cannot be reached; the worker never crashes on it."""
    try:
        redis.ping()
        return True
    except (RedisConnectionError, RedisTimeoutError) as exc:
        delay = next(delays)
        click.echo(
            f"cannot reach Redis at REDIS_URL={masked_url(settings().redis_url or '')} ({exc}); "
            f"trying again in {delay:g} s",
            err=True,
        )
        time.sleep(delay)
        return False


def _work(
    redis: Redis,
    worker_class: type[BaseWorker],
    names: list[str],
    *,
    burst: bool,
    with_scheduler: bool,
    fork: bool,
) -> None:
    click.echo(f"worker listening on {', '.join(names)}" + (" (a fork per job)" if fork else ""))
    metrics_port = serve_worker_metrics(settings())
    if metrics_port is not None:
        click.echo(f"worker metrics on http://{settings().metrics_host}:{metrics_port}/metrics")
    stop = threading.Event()
    if with_scheduler and not burst:
        config = settings()
        threading.Thread(target=_periodic, args=(redis, config, stop), name="rq-cron", daemon=True).start()
        click.echo(
            f"scheduler on: housekeeping every {config.housekeeping_interval_seconds} s, "
            f"feedback digests at '{config.feedback_digest_cron}'"
            + (
                f", personal data older than {config.retention_days} days purged daily at 03:30"
                if config.retention_days is not None
                else ""
            )
        )
    try:
        # AppJob ends each job's database session: no connection idles in a transaction between jobs.
        rq_worker = worker_class(names, connection=redis, job_class=AppJob)
        rq_worker.work(burst=burst, with_scheduler=with_scheduler)
    finally:
        stop.set()


def _periodic(redis: Redis, config: Settings, stop: threading.Event) -> None:
    """RQ's cron, run beside the worker: puts the periodic jobs on the scheduled queue.

    Every worker started with --with-scheduler runs one; the jobs are idempotent, so two
    workers enqueuing the same sweep cost a little work and change nothing.
    """
    cron = CronScheduler(connection=redis, name=f"ivr-cron-{os.getpid()}")
    cron.register(housekeeping, SCHEDULED_QUEUE, interval=config.housekeeping_interval_seconds, result_ttl=0)
    cron.register(send_digests, SCHEDULED_QUEUE, cron=config.feedback_digest_cron, result_ttl=0)
    if config.retention_days is not None:
        cron.register(purge_personal_data, SCHEDULED_QUEUE, cron="30 3 * * *", result_ttl=0)
    while not stop.is_set():
        cron.enqueue_jobs()
        stop.wait(max(cron.calculate_sleep_interval(), 1))


@click.group("jobs", cls=AppGroup)
def jobs_group() -> None:
    """Background jobs."""


@jobs_group.command("sweep")
@click.option("--min-age", default=60, show_default=True, help="Seconds a response must have been final.")
def jobs_sweep(min_age: int) -> None:
    """Enqueue scoring for every final response still unscored."""
    swept = sweep_unscored_report(min_age)
    click.echo(
        f"{len(swept.enqueued)} unscored response(s) enqueued"
        + (f": {swept.enqueued}" if swept.enqueued else "")
    )
    if swept.not_enqueued:
        where = "Redis (REDIS_URL) refused them" if not settings().jobs_inline else "their jobs failed"
        raise click.ClickException(
            f"{len(swept.not_enqueued)} unscored response(s) NOT enqueued: {swept.not_enqueued}; {where}. "
            "They stay unscored in the database: run this again once the cause is fixed."
        )


@jobs_group.command("housekeeping")
@click.option("--min-age", default=60, show_default=True, help="Seconds a response must have been final.")
def jobs_housekeeping(min_age: int) -> None:
    """Redo what lost jobs left undone: stale surveys, scores, notifications, overdue tasks.

    The worker's scheduler runs this every minute. Without Redis, run it from cron.
    """
    done = housekeeping(min_age)
    click.echo(
        f"{len(done.closed_stale)} stale survey(s) closed, {len(done.rescored)} response(s) sent for "
        f"scoring, {len(done.redelivered)} notification(s) sent again, {len(done.escalated)} overdue "
        f"callback task(s) escalated, {len(done.outbound)} outbound survey call(s) sent to be placed"
    )


@jobs_group.command("digests")
def jobs_digests() -> None:
    """Send each agent their feedback digest now (the scheduler does it daily)."""
    planned = send_digests()
    click.echo(f"{len(planned)} digest(s) sent")
