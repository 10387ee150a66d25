"""`python -m bench`: measure, print a table, exit 0 (it reports, it does not judge).

Runs here, on loopback only: PostgreSQL and Redis on 127.0.0.1, gunicorn with the Procfile's
settings, an RQ worker, and an open-loop load generator in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from redis import Redis

from bench import closed_loop, stack
from bench import profile as bench_profile
from bench.baseline_app import create_table
from bench.load import LoadResult, Mix, Stats, percentile, run_open_loop
from bench.seed import ensure_database, reset_schema, seed

PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/4"  # not 13-15, which the test suite uses
TOKEN = "bench-auth-token-0123456789abcdef"
TARGET_P99 = 0.100
RESULTS = Path(__file__).resolve().parent / "results"
BENCH_FLOWS = Path(__file__).resolve().parent / "callflows"


@dataclass
class Cost:
    """CPU seconds spent over one step (warm-up, measured seconds and drain), and what was done."""

    web: float
    worker: float
    database: float
    load: float
    webhooks: int
    surveys: int  # completed: the server said goodbye after the questions
    scored: int  # score rows written

    def ms(self, seconds: float, count: int) -> float:
        return 1000 * seconds / count if count else float("nan")

    @property
    def per_survey(self) -> float:
        """Web + worker + database CPU (ms) per completed survey."""
        return self.ms(self.web + self.worker + self.database, self.surveys)

    @property
    def per_webhook(self) -> float:
        return self.ms(self.web + self.worker + self.database, self.webhooks)

    @property
    def worker_per_scored(self) -> float:
        return self.ms(self.worker, self.scored)


class Meter:
    """Reads the CPU of the processes under test: the web server, its RQ worker (if any), and the
    PostgreSQL backends serving the bench database; and the load generator's own."""

    def __init__(self, web: stack.Service, worker: stack.Service | None, database_url: str) -> None:
        self.web, self.worker, self.database_url = web, worker, database_url
        self.database = stack.DatabaseCpu(database_url)

    def _scores(self) -> int:
        with self.database.engine.connect() as conn:
            try:
                return int(conn.scalar(sa.text("SELECT count(*) FROM scores")) or 0)
            except sa.exc.ProgrammingError:
                return 0

    def read(self) -> tuple[float, float, dict[int, float], float, int]:
        return (
            stack.service_cpu(self.web),
            stack.service_cpu(self.worker) if self.worker else 0.0,
            self.database.snapshot(),
            time.process_time(),
            self._scores(),
        )

    def cost(self, before: tuple[float, float, dict[int, float], float, int], load: LoadResult) -> Cost:
        after = self.read()
        return Cost(
            web=after[0] - before[0],
            worker=after[1] - before[1],
            database=stack.DatabaseCpu.used(before[2], after[2]),
            load=after[3] - before[3],
            webhooks=len(load.samples),
            surveys=len(load.completed),
            scored=after[4] - before[4],
        )

    def close(self) -> None:
        self.database.close()


@dataclass
class Sweep:
    name: str
    steps: dict[int, Stats] = field(default_factory=dict)
    costs: dict[int, Cost] = field(default_factory=dict)
    # completed surveys per second in each step's measured window
    surveys: dict[int, float] = field(default_factory=dict)
    best: int | None = None  # highest target rate with p99 under 100 ms and no errors
    profile: list[tuple[float, str]] = field(default_factory=list)


def say(text: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {text}", flush=True)


def good(stats: Stats, target: int) -> bool:
    return stats.errors == 0 and stats.p99 < TARGET_P99 and stats.rate >= 0.9 * target


def sweep(
    name: str,
    url: str,
    rates: list[int],
    higher: list[int],
    seconds: float,
    *,
    calls: bool,
    wpc: float = 1.0,
    profile: tuple[int, int, Path] | None = None,
    meter: Meter | None = None,
    start_path: str = "/voice/survey?agent=alice&queue=support&lang=en",
    status_path: str | None = "/voice/status",
) -> tuple[Sweep, list[LoadResult]]:
    """Every rate in `rates`, then each of `higher` in turn until one misses p99 < 100 ms; then
    halve the gap between the best rate that held and the first that did not.

    `profile` = (rate, pid, file): sample that process with py-spy during that rate's step.
    """
    result = Sweep(name)
    loads: list[LoadResult] = []

    def step(target: int) -> bool:
        warm = 6.0 if calls else 1.0
        spy = None
        if profile is not None and profile[0] == target:
            spy = bench_profile.start(profile[1], warm + seconds, profile[2])
        per_second = target / wpc if calls else target
        before = meter.read() if meter else None
        load = asyncio.run(
            run_open_loop(
                url,
                TOKEN,
                per_second,
                warm + seconds,
                calls=calls,
                start_path=start_path,
                status_path=status_path,
            )
        )
        if meter is not None and before is not None:
            result.costs[target] = meter.cost(before, load)
        result.surveys[target] = load.completed_in(warm, warm + seconds) / seconds
        if spy is not None:
            spy.wait()
            result.profile = bench_profile.summary(profile[2])  # type: ignore[index]
        stats = Stats.of(load.window(warm, warm + seconds), seconds)
        result.steps[target] = stats
        loads.append(load)
        ok = good(stats, target)
        cost = result.costs.get(target)
        spent = f", CPU {cost.per_webhook:.2f} ms/webhook {cost.per_survey:.1f} ms/survey" if cost else ""
        say(
            f"  {name} @ {target}/s: got {stats.rate:.0f}/s, p50 {stats.p50 * 1000:.1f} ms,"
            f" p99 {stats.p99 * 1000:.1f} ms, errors {stats.errors}, surveys {result.surveys[target]:.1f}/s"
            f"{spent} ({'ok' if ok else 'over'})"
        )
        if ok:
            result.best = max(result.best or 0, target)
        return ok

    def held(target: int) -> bool:
        # A step that misses is measured once more before it counts: on a shared machine one
        # stall elsewhere (another job's burst) can spoil a whole step at any rate.
        return step(target) or step(target)

    failed = [target for target in sorted(set(rates)) if not held(target)]
    if not failed:
        for target in sorted(r for r in set(higher) if r > max(rates)):
            if not held(target):
                failed.append(target)
                break
    # Narrow the gap between the best rate that held and the first that did not (to 10/s).
    low, high = result.best or 0, min(failed, default=0)
    while failed and high - low > 20:
        middle = (low + high) // 20 * 10
        if step(middle):
            low = middle
        else:
            high = middle
    return result, loads


def closed_loop_phase(args: argparse.Namespace, database_url: str) -> dict[str, Any]:
    """Low-score surveys at a steady rate, one worker: webhook that ends the survey -> callback task."""
    left = closed_loop.wait_until_scored(database_url)
    say(f"closed loop: sweeps' backlog scored ({left} left); {args.loop_rate}/s calls, half of them low")
    with closed_loop.crm_webhook() as (webhook_url, sink):
        closed_loop.set_up_team(database_url, webhook_url)
        load = asyncio.run(
            run_open_loop(
                "http://127.0.0.1:5103",
                TOKEN,
                args.loop_rate,
                args.loop_seconds,
                calls=True,
                mix=Mix(low_score=0.5),
                seed=11,
            )
        )
        lags = closed_loop.task_lags(database_url, load.low_score_ends)
        delivered = sink.received
    return {
        "count": len(lags),
        "expected": len(load.low_score_ends),
        "p50": percentile(lags, 0.5),
        "p95": percentile(lags, 0.95),
        "max": max(lags, default=0.0),
        "webhooks_delivered": delivered,
    }


def rows_per_survey(database_url: str) -> tuple[float, dict[str, int]]:
    engine = sa.create_engine(database_url)
    tables = [
        "calls",
        "agent_legs",
        "survey_responses",
        "answers",
        "recordings",
        "scores",
        "agents",
        "flow_versions",
    ]
    with engine.connect() as conn:
        counts = {t: int(conn.scalar(sa.text(f"SELECT count(*) FROM {t}")) or 0) for t in tables}
    engine.dispose()
    return sum(counts.values()) / max(counts["survey_responses"], 1), counts


def time_reports(database_url: str, repeats: int = 5) -> dict[str, dict[str, float]]:
    from ivr import create_app
    from ivr.extensions import db
    from ivr.services.insight import reports

    app = create_app(database_url=database_url, redis_url=None, ivr_env="test")
    queries = {
        "one agent's CSAT distribution, 30 days": lambda: reports.agent_csat_distribution("agent-042"),
        "every agent's CSAT distribution, 30 days": lambda: reports.team_csat_distributions(),
        "per-queue daily trend, 30 days": lambda: reports.queue_daily_trend(),
        "one queue's daily trend, 90 days": lambda: reports.queue_daily_trend(days=90, queue="queue-07"),
        "finished responses awaiting a score": lambda: reports.unscored_final_responses(),
    }
    timings = {}
    with app.app_context():
        for name, run in queries.items():
            seconds = []
            for _ in range(repeats):
                began = time.perf_counter()
                run()
                seconds.append(time.perf_counter() - began)
                db.session.rollback()
            timings[name] = {"first": seconds[0], "median": statistics.median(seconds), "max": max(seconds)}
        db.engine.dispose()
    return timings


def peak_mb(service: stack.Service, children_only: bool) -> float:
    pids = [pid for pid in service.peak_rss_kb if not children_only or pid != service.process.pid]
    return max((service.peak_rss_kb[pid] for pid in pids), default=0) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=12, help="measured seconds per rate step")
    parser.add_argument("--rates", default="100,200", help="rates always measured (webhooks/s)")
    parser.add_argument(
        "--sweep", default="300,400,500,600,800,1000,1300,1600", help="higher rates, until p99 passes 100 ms"
    )
    parser.add_argument(
        "--responses", type=int, default=1_000_000, help="responses seeded for the report queries"
    )
    parser.add_argument("--loop-rate", type=float, default=16, help="calls/s in the closed-loop phase")
    parser.add_argument("--loop-seconds", type=float, default=30, help="seconds of calls in that phase")
    parser.add_argument(
        "--flow",
        choices=["three-questions", "sample"],
        default="three-questions",
        help="our survey: the plain baseline's three questions (bench/callflows), or the sample "
        "flow (callflows/post-call-csat.yaml: a follow-up question and a voice comment as well)",
    )
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument(
        "--profile", action="store_true", help="sample a web worker with py-spy at the highest fixed rate"
    )
    parser.add_argument("--skip-reports", action="store_true")
    parser.add_argument("--skip-closed-loop", action="store_true")
    parser.add_argument(
        "--overload-seconds", type=float, default=30, help="the burst at 1.5x our best rate (0: skip it)"
    )
    parser.add_argument(
        "--soak-minutes",
        type=int,
        default=0,
        help="then our server at its best rate for this long, memory each minute (issue 19: 30)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a before/after check in about ten minutes: 8 s steps up to 600/s, no closed loop, no reports",
    )
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.sweep, args.skip_reports, args.skip_closed_loop = 8, "300,400,500,600", True, True
    rates = [int(r) for r in args.rates.split(",")]
    higher = [int(r) for r in args.sweep.split(",") if r]
    RESULTS.mkdir(exist_ok=True)
    logs = RESULTS / datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    logs.mkdir()
    report: dict[str, Any] = {"when": datetime.now(UTC).isoformat(), "args": vars(args)}

    if not args.skip_load:
        report.update(load_phase(args, rates, higher, logs))
    if not args.skip_reports:
        reports_url = f"{PG}/ivr_bench_reports"
        ensure_database(reports_url)
        say(f"seeding {args.responses:,} responses, 500 agents, 20 queues (bulk COPY)")
        reset_schema(reports_url)
        report["seed_seconds"] = seed(reports_url, args.responses, 500, 20)
        say(f"  seeded in {report['seed_seconds']:.0f} s; timing report queries")
        report["reports"] = time_reports(reports_url)
    (logs / "results.json").write_text(json.dumps(report, indent=2, default=str))
    print_table(report)
    print(f"\nraw figures and logs: {logs}")


def overload_phase(best: int, seconds: float) -> dict[str, Any]:
    """Our server at 1.5x its best rate for `seconds`, then at half its best rate for 20 s: errors
    and p99 during the burst, and how long after it a 2-second window's p99 is back under 100 ms."""
    burst = 1.5 * best / 7.1
    say(f"overload: {1.5 * best:.0f} webhooks/s for {seconds:.0f} s, then {best / 2:.0f}/s for 20 s")

    async def both() -> tuple[LoadResult, LoadResult]:
        first = asyncio.create_task(
            run_open_loop("http://127.0.0.1:5103", TOKEN, burst, seconds, calls=True, drain=seconds + 20)
        )
        await asyncio.sleep(seconds)
        calm = await run_open_loop("http://127.0.0.1:5103", TOKEN, best / 2 / 7.1, 20, calls=True, seed=9)
        return await first, calm

    loud, calm = asyncio.run(both())
    during = Stats.of(loud.samples, seconds)
    # Every request sent after the burst's last call started, by when it was sent (from the burst's end).
    after = [(s.sent - seconds, s) for s in loud.samples if s.sent >= seconds]
    after += [(s.sent, s) for s in calm.samples]
    recovered: float | None = None
    for start in range(0, 20, 2):
        window = [s.latency for at, s in after if start <= at < start + 2]
        if window and percentile(window, 0.99) < TARGET_P99:
            recovered = float(start)
            break
    errors = during.errors + sum(not s.ok for _, s in after)
    say(
        f"  burst p50 {during.p50 * 1000:.0f} ms p99 {during.p99 * 1000:.0f} ms, {errors} errors;"
        f" p99 < 100 ms again {f'{recovered:.0f} s' if recovered is not None else 'not within 20 s'} after it"
    )
    return {"rate": 1.5 * best, "burst": asdict(during), "errors": errors, "recovered_after_s": recovered}


def soak_phase(rate: int, minutes: int, web: stack.Service, worker: stack.Service) -> dict[str, Any]:
    """Our server at `rate` webhooks/s for `minutes`, a minute at a time: each minute's p99 and
    errors, and the web workers' and the RQ worker's resident memory after it (issue 19: under
    150 MB each after 30 minutes, and no growth)."""
    say(f"soak: {rate} webhooks/s for {minutes} min (memory after each minute)")
    minutes_seen: list[dict[str, float]] = []
    for minute in range(1, minutes + 1):
        load = asyncio.run(
            run_open_loop("http://127.0.0.1:5103", TOKEN, rate / 7.1, 60, calls=True, seed=100 + minute)
        )
        stats = Stats.of(load.samples, 60)
        web_mb = max((stack.read_rss_kb(pid) for pid in web.descendants()), default=0) / 1024
        worker_pids = [worker.process.pid, *worker.descendants()]
        worker_mb = max((stack.read_rss_kb(pid) for pid in worker_pids), default=0)
        seen = {
            "minute": minute,
            "p99_ms": stats.p99 * 1000,
            "errors": stats.errors,
            "web_worker_mb": web_mb,
            "rq_worker_mb": worker_mb / 1024,
        }
        minutes_seen.append(seen)
        say(
            f"  minute {minute}: p99 {seen['p99_ms']:.0f} ms, {stats.errors} errors,"
            f" web worker {web_mb:.0f} MB, RQ worker {seen['rq_worker_mb']:.0f} MB"
        )
    first, last = minutes_seen[0], minutes_seen[-1]
    return {
        "rate": rate,
        "minutes": minutes_seen,
        "web_growth_mb": last["web_worker_mb"] - first["web_worker_mb"],
        "rq_growth_mb": last["rq_worker_mb"] - first["rq_worker_mb"],
    }


def summary(sweeps: dict[str, Sweep]) -> dict[str, Any]:
    """Per app: the best rate held, its latencies, surveys/s and CPU there (or at the highest step
    measured when no rate held)."""
    table: dict[str, Any] = {}
    for name, result in sweeps.items():
        at = result.best or min(result.steps, default=0)
        if not at:
            continue
        stats, cost = result.steps[at], result.costs.get(at)
        table[name] = {
            "best": result.best,
            "at": at,
            "p50": stats.p50,
            "p95": stats.p95,
            "p99": stats.p99,
            "surveys_per_s": result.surveys.get(at, 0.0),
            "cpu_ms_per_webhook": cost.per_webhook if cost else None,
            "cpu_ms_per_survey": cost.per_survey if cost and cost.surveys else None,
            "worker_ms_per_scored": cost.worker_per_scored if cost and cost.scored else None,
            "cost": asdict(cost) if cost else None,
        }
    return table


def load_phase(args: argparse.Namespace, rates: list[int], higher: list[int], logs: Path) -> dict[str, Any]:
    database_url = f"{PG}/ivr_bench"
    ensure_database(database_url)
    reset_schema(database_url)
    create_table(database_url)
    Redis.from_url(REDIS).flushdb()
    out: dict[str, Any] = {}

    # gunicorn.conf.py checks our app's settings before any worker starts, for the baselines too.
    base_env = {
        "BENCH_DATABASE_URL": database_url,
        "BENCH_REDIS_URL": REDIS,
        "IVR_ENV": "development",
        "DATABASE_URL": database_url,
    }
    sweeps: dict[str, Sweep] = {}
    for name, spec, port in (
        ("ceiling", "bench.baseline_app:ceiling_app", 5101),
        ("floor", "bench.baseline_app:floor_app", 5102),
        ("plain", "bench.baseline_app:plain_app", 5104),
    ):
        say(f"baseline ({name}) under gunicorn")
        service = stack.gunicorn(f"baseline-{name}", spec, port, {**base_env, "BENCH_APP": name}, logs)
        meter = Meter(service, None, database_url)
        try:
            # The plain survey is whole calls (about 7 requests each: start, then ask and answer
            # each of three questions), played like ours but without status callbacks.
            plain = name == "plain"
            result, _ = sweep(
                name,
                f"http://127.0.0.1:{port}",
                rates,
                higher,
                args.seconds,
                calls=plain,
                wpc=7.0 if plain else 1,
                meter=meter,
                start_path="/plain/voice",
                status_path=None,
            )
        finally:
            meter.close()
            service.stop()
        sweeps[name] = result
        out[f"baseline_{name}"] = {str(k): asdict(v) for k, v in result.steps.items()} | {"best": result.best}

    app_env = {
        "IVR_ENV": "production",
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "SECRET_KEY": "bench-secret-key-0123456789",
        # The load generator signs what it posts to 127.0.0.1:5103, as Twilio would sign this URL.
        "PUBLIC_BASE_URL": "http://127.0.0.1:5103",
    }
    if args.flow == "three-questions":  # the plain baseline's three questions, in our flow language
        app_env |= {"CALLFLOWS_DIR": str(BENCH_FLOWS), "DEFAULT_FLOW": "three-questions"}
    say("survey server (gunicorn, PostgreSQL, Redis, RQ worker)")
    worker = stack.rq_worker(app_env, logs)
    web = stack.gunicorn("survey-web", "wsgi:app", 5103, app_env, logs)
    meter = Meter(web, worker, database_url)
    try:
        # Webhooks a call with this mix: about 5.4 for three questions (start, 3 answers,
        # re-prompts, the status callback), 7.1 for the sample flow (also a follow-up question
        # half the time, the voice comment and its recording callback); the table shows the rate
        # actually reached.
        profile = (max(rates), web.descendants()[0], logs / "web-worker.pyspy") if args.profile else None
        result, _ = sweep(
            "survey",
            "http://127.0.0.1:5103",
            rates,
            higher,
            args.seconds,
            calls=True,
            wpc=5.4 if args.flow == "three-questions" else 7.1,
            profile=profile,
            meter=meter,
        )
        sweeps["survey"] = result
        if args.overload_seconds and result.best:
            out["overload"] = overload_phase(result.best, args.overload_seconds)
        if args.soak_minutes and result.best:
            out["soak"] = soak_phase(result.best, args.soak_minutes, web, worker)
        if not args.skip_closed_loop:
            out["closed_loop"] = closed_loop_phase(args, database_url)
    finally:
        meter.close()
        web.stop()
        worker.stop()
    per_survey, counts = rows_per_survey(database_url)
    out["survey_rates"] = rates
    out["survey"] = {str(k): asdict(v) for k, v in result.steps.items()} | {"best": result.best}
    out["peak_rss_mb"] = {
        "web_worker": peak_mb(web, children_only=True),
        "rq_worker": peak_mb(worker, children_only=False),
    }
    out["profile"] = result.profile
    out["summary"] = summary(sweeps)
    out["rows_per_survey"] = per_survey
    out["row_counts"] = counts
    return out


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f}"


def print_table(report: dict[str, Any]) -> None:
    if "survey" in report:
        print_load(report)
    if "reports" in report:
        responses, seeded = report["args"]["responses"], report["seed_seconds"]
        print(f"\n== Report queries on {responses:,} seeded responses (seeded in {seeded:.0f} s) ==")
        for name, t in report["reports"].items():
            timings = f"first {_ms(t['first'])}  median {_ms(t['median'])}  max {_ms(t['max'])} ms"
            print(f"  {name:<42} {timings}  (target < 200 ms)")


def _target(met: bool) -> str:
    return "met" if met else "NOT met"


def print_summary(report: dict[str, Any]) -> None:
    table = report["summary"]
    print("\n== Issue 19's figures, one run (CPU = web + worker + database backends, from /proc) ==")
    print(
        f"{'app':<8} {'best/s':>7} {'p50':>7} {'p95':>7} {'p99':>7} {'surveys/s':>10}"
        f" {'ms/webhook':>11} {'ms/survey':>10} {'worker ms/score':>16}"
    )
    for name, row in table.items():

        def num(value: float | None, width: int, digits: int = 2) -> str:
            return f"{value:{width}.{digits}f}" if value is not None else f"{'-':>{width}}"

        print(
            f"{name:<8} {row['best'] or 0:>7} {_ms(row['p50'])} {_ms(row['p95'])} {_ms(row['p99'])}"
            f" {row['surveys_per_s']:10.1f} {num(row['cpu_ms_per_webhook'], 11)}"
            f" {num(row['cpu_ms_per_survey'], 10, 1)} {num(row['worker_ms_per_scored'], 16)}"
        )
    ours, floor, plain = table.get("survey"), table.get("floor"), table.get("plain")
    if not (ours and floor and plain):
        return
    best = ours["best"] or 0
    print("\ntargets:")
    if floor["best"]:
        ratio = best / floor["best"]
        print(f"  ours / floor rate at p99 < 100 ms: {ratio:.0%} (target >= 80%): {_target(ratio >= 0.8)}")
    print(f"  ours at p99 < 100 ms: {best}/s (target >= 400/s): {_target(best >= 400)}")
    if plain["surveys_per_s"]:
        ratio = ours["surveys_per_s"] / plain["surveys_per_s"]
        print(
            f"  completed surveys/s at p99 < 100 ms, ours / plain: {ours['surveys_per_s']:.1f} /"
            f" {plain['surveys_per_s']:.1f} = {ratio:.1f}x (target >= 2x): {_target(ratio >= 2)}"
        )
    if ours["cpu_ms_per_survey"] and plain["cpu_ms_per_survey"]:
        ratio = ours["cpu_ms_per_survey"] / plain["cpu_ms_per_survey"]
        print(
            f"  CPU per completed survey, ours / plain: {ours['cpu_ms_per_survey']:.1f} /"
            f" {plain['cpu_ms_per_survey']:.1f} ms = {ratio:.2f}x (target <= 1x): {_target(ratio <= 1)}"
        )
    extra = (
        "the status callback"
        if report.get("args", {}).get("flow") == "three-questions"
        else "a follow-up question, a voice comment and the status and recording callbacks"
    )
    print(
        f"  (ours also runs scoring, feedback and the closed loop in the worker, and {extra};"
        " the plain survey does none of these)"
    )


def print_load(report: dict[str, Any]) -> None:
    apps = {
        "ceiling": report["baseline_ceiling"],
        "floor": report["baseline_floor"],
        "plain": report["baseline_plain"],
        "survey": report["survey"],
    }
    print("\n== Survey webhooks (open loop, gunicorn as in the Procfile) ==")
    print(f"{'app':<8} {'target/s':>8} {'got/s':>6} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7} {'errs':>6}")
    for name, steps in apps.items():
        targets = sorted(int(target) for target in steps if target != "best")
        for target in targets:
            s = steps[str(target)]
            latencies = f"{_ms(s['p50'])} {_ms(s['p95'])} {_ms(s['p99'])} {_ms(s['max'])}"
            print(f"{name:<8} {target:>8} {s['rate']:6.0f} {latencies} {s['errors']:6d}")
    best = {name: steps["best"] for name, steps in apps.items()}
    print("\nhighest rate with p99 < 100 ms: " + ", ".join(f"{k} {v}/s" for k, v in best.items()))
    for base in ("ceiling", "floor"):
        if best["survey"] and best[base]:
            print(f"  survey / {base}: {best['survey'] / best[base]:.0%}")
    if "200" in apps["survey"] and "200" in apps["floor"]:
        ours, floor = apps["survey"]["200"], apps["floor"]["200"]
        print(f"  at 200/s: survey p99 {_ms(ours['p99'])} ms, floor {_ms(floor['p99'])} ms (target < 100 ms)")
    print_summary(report)
    if "overload" in report:
        o = report["overload"]
        back = f"{o['recovered_after_s']:.0f} s" if o["recovered_after_s"] is not None else "not within 20 s"
        print(
            f"\noverload at {o['rate']:.0f} webhooks/s (1.5x best): p99 {_ms(o['burst']['p99'])} ms"
            f" (target < 1000), errors {o['errors']} (target 0), p99 < 100 ms again after {back}"
            " (target <= 10 s)"
        )
    if "closed_loop" in report:
        lag = report["closed_loop"]
        print(
            f"\nlow-score survey's last webhook -> callback task committed (one RQ worker):"
            f" p50 {lag['p50']:.2f} s, p95 {lag['p95']:.2f} s, max {lag['max']:.2f} s"
            f" over {lag['count']}/{lag['expected']} surveys (target p95 < 2 s);"
            f" {lag['webhooks_delivered']} CRM webhooks delivered"
        )
    if "soak" in report:
        soak = report["soak"]
        last = soak["minutes"][-1]
        worst = max(m["p99_ms"] for m in soak["minutes"])
        errors = sum(m["errors"] for m in soak["minutes"])
        print(
            f"\nsoak at {soak['rate']} webhooks/s for {len(soak['minutes'])} min: worst minute's p99"
            f" {worst:.0f} ms, errors {errors}; after it web worker {last['web_worker_mb']:.0f} MB"
            f" ({soak['web_growth_mb']:+.0f} MB since minute 1), RQ worker {last['rq_worker_mb']:.0f} MB"
            f" ({soak['rq_growth_mb']:+.0f} MB) (target < 150 MB each, no growth)"
        )
    rss = report["peak_rss_mb"]
    print(
        f"peak RSS: web worker {rss['web_worker']:.0f} MB (target < 150), RQ worker {rss['rq_worker']:.0f} MB"
    )
    print(f"rows written per survey: {report['rows_per_survey']:.1f}  {report['row_counts']}")
    if report.get("profile"):
        print(f"\nwhere a web worker's request time goes at {max(report['survey_rates'])}/s (py-spy):")
        for share, frame in report["profile"]:
            print(f"  {share:6.1%}  {frame}")


if __name__ == "__main__":
    main()
