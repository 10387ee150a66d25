"""`python -m bench.pages`: the people's pages on a big database, and the webhooks beside them.

1. Seeds PostgreSQL with a year of surveys (bench.seed: 1,000,000 responses by default), then
   organises it as a contact centre: 25 teams of 20 agents with a supervisor each, a feedback
   item for every scored response, 500 open callback tasks in one team (a third overdue) and
   20,000 closed ones across the others, and a user for an agent and for each supervisor.
2. Server time of the agent's home page (/me) and the supervisor's inbox (/tasks and the list
   htmx polls, /tasks/list), in process, against the sign-in page (the framework's floor).
   Target: p95 under 150 ms.
3. Survey webhooks at a fixed rate under gunicorn (the Procfile's settings) with an RQ worker,
   first alone (the baseline), then while ten signed-in browser sessions poll their inboxes every
   5 s as htmx does. Target: webhook p99 still under 100 ms.

It reports; it does not judge. `--reuse` skips the seeding when the database is already there.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import sqlalchemy as sa
from redis import Redis

from bench import stack
from bench.load import Stats, percentile, run_open_loop
from bench.seed import ensure_database, reset_schema, seed

PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
DATABASE = f"{PG}/ivr_bench_pages"
REDIS = "redis://127.0.0.1:6379/10"
TOKEN = "bench-auth-token-0123456789abcdef"
PASSWORD = "bench-password-2026"
PORT = 5113
TEAMS = 25
OPEN_TASKS = 500
CLOSED_TASKS = 20_000
AGENT = "agent-042"
# Webhooks per survey call with load.Mix's defaults (start, answers, re-prompts, comment, callbacks).
WEBHOOKS_PER_CALL = 7.1
RESULTS = Path(__file__).resolve().parent / "results"


def say(text: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {text}", flush=True)


def organise(database_url: str) -> None:
    """Teams, supervisors, feedback items, callback tasks and users on top of bench.seed's calls."""
    from ivr import create_app
    from ivr.extensions import db
    from ivr.models import Role
    from ivr.services.organisation import users

    app = create_app(database_url=database_url, redis_url=None, ivr_env="test")
    with app.app_context():
        conn = db.session.connection()
        conn.execute(
            sa.text(
                "INSERT INTO supervisors (name, email, created_at) "
                "SELECT 'Supervisor ' || lpad(n::text, 2, '0'), 'supervisor' || n || '@example.com', now() "
                "FROM generate_series(1, :teams) AS n"
            ),
            {"teams": TEAMS},
        )
        conn.execute(
            sa.text(
                "INSERT INTO teams (name, supervisor_id, channels, created_at) "
                "SELECT 'Team ' || lpad(s.id::text, 2, '0'), s.id, '[]', now() "
                "FROM supervisors s ORDER BY s.id"
            )
        )
        conn.execute(
            sa.text("UPDATE agents SET team_id = (SELECT min(id) FROM teams) + ((agents.id - 1) % :teams)"),
            {"teams": TEAMS},
        )
        say("  a feedback item for every scored response")
        conn.execute(
            sa.text(
                "INSERT INTO feedback_items (response_id, agent_id, kind, csat, nps, ces, resolved, "
                "created_at, updated_at) "
                "SELECT response_id, agent_id, CASE WHEN extreme_low THEN 'low' "
                "WHEN extreme_high THEN 'praise' ELSE 'regular' END, csat, nps, ces, resolved, "
                "started_at, started_at FROM scores WHERE agent_id IS NOT NULL"
            )
        )
        say(f"  {OPEN_TASKS} open callback tasks in one team, {CLOSED_TASKS:,} closed across the others")
        task_columns = (
            "INSERT INTO callback_tasks (response_id, agent_id, team_id, assignee_id, status, "
            "escalation_level, due_at, caller_number, at_risk, created_at, closed_at) "
        )
        conn.execute(
            sa.text(
                task_columns + "SELECT s.response_id, s.agent_id, a.team_id, t.supervisor_id, "
                "(ARRAY['open','open','claimed','escalated'])[1 + s.response_id % 4], 0, "
                "now() + ((s.response_id % 72) - 24) * interval '1 hour', '+1555' || lpad((s.response_id "
                "% 10000000)::text, 7, '0'), s.response_id % 9 = 0, now(), NULL "
                "FROM scores s JOIN agents a ON a.id = s.agent_id JOIN teams t ON t.id = a.team_id "
                "WHERE a.team_id = (SELECT min(id) FROM teams) AND s.csat = 1 "
                "ORDER BY s.response_id DESC LIMIT :n"
            ),
            {"n": OPEN_TASKS},
        )
        conn.execute(
            sa.text(
                task_columns + "SELECT s.response_id, s.agent_id, a.team_id, t.supervisor_id, 'done', 0, "
                "s.started_at + interval '1 day', NULL, false, s.started_at, "
                "s.started_at + interval '5 hours' "
                "FROM scores s JOIN agents a ON a.id = s.agent_id JOIN teams t ON t.id = a.team_id "
                "WHERE a.team_id <> (SELECT min(id) FROM teams) AND s.csat = 1 "
                "ORDER BY s.response_id LIMIT :n"
            ),
            {"n": CLOSED_TASKS},
        )
        db.session.commit()
        users.create_user("agent@example.com", PASSWORD, Role.agent, agent_ref=AGENT)
        for n in range(1, TEAMS + 1):
            users.create_user(
                f"supervisor{n}@example.com", PASSWORD, Role.supervisor, supervisor_name=f"Supervisor {n:02d}"
            )
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
        db.engine.dispose()


def already_organised(database_url: str) -> bool:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return bool(conn.scalar(sa.text("SELECT count(*) FROM users WHERE email = 'agent@example.com'")))
    except sa.exc.SQLAlchemyError:
        return False
    finally:
        engine.dispose()


@dataclass
class PageTiming:
    path: str
    who: str
    p50: float
    p95: float
    max: float
    bytes: int


def time_pages(database_url: str, repeats: int) -> list[PageTiming]:
    """Server time per page, in process (no network): the app's own work for each request."""
    from ivr import create_app

    app = create_app(database_url=database_url, redis_url=None, ivr_env="test")
    app.config["WTF_CSRF_ENABLED"] = False
    pages = [
        ("/login", None),
        ("/me", "agent@example.com"),
        ("/tasks", "supervisor1@example.com"),
        ("/tasks/list", "supervisor1@example.com"),
        # Every one of the 500 open tasks on one page (the inbox shows 50, then "Show more").
        ("/tasks/list?limit=500", "supervisor1@example.com"),
    ]
    timings = []
    for path, email in pages:
        client = app.test_client()
        if email is not None:
            signed_in = client.post("/login", data={"email": email, "password": PASSWORD})
            assert signed_in.status_code in (302, 303), f"{email} could not sign in"
        seconds, size = [], 0
        for index in range(repeats + 5):
            began = time.perf_counter()
            answer = client.get(path)
            elapsed = time.perf_counter() - began
            assert answer.status_code == 200, f"{path}: HTTP {answer.status_code}"
            size = len(answer.data)
            if index >= 5:  # the first requests warm caches and pools
                seconds.append(elapsed)
        timings.append(
            PageTiming(
                path,
                email or "nobody",
                statistics.median(seconds),
                percentile(seconds, 0.95),
                max(seconds),
                size,
            )
        )
    return timings


async def _signed_in_session(base: str, email: str) -> tuple[aiohttp.ClientSession, str]:
    """A browser-like session: the sign-in form's CSRF token, then the session cookie by hand
    (production cookies are Secure, which a plain-HTTP client would otherwise keep to itself)."""
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
    async with session.get(base + "/login") as page:
        form = await page.text()
        first = page.cookies.get("session")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    assert token is not None and first is not None, "no CSRF token or session on the sign-in page"
    data = {"email": email, "password": PASSWORD, "csrf_token": token.group(1)}
    headers = {"Cookie": f"session={first.value}"}
    async with session.post(base + "/login", data=data, headers=headers, allow_redirects=False) as answer:
        cookie = answer.cookies.get("session")
        assert answer.status in (302, 303) and cookie is not None, (
            f"{email} could not sign in: {answer.status}"
        )
    return session, f"session={cookie.value}"


async def _poll(
    base: str,
    signed_in: tuple[aiohttp.ClientSession, str],
    until: float,
    latencies: list[float],
    failures: list[int],
) -> None:
    session, cookie = signed_in
    headers = {"Cookie": cookie, "HX-Request": "true"}
    try:
        await asyncio.sleep(random.uniform(0, 5))  # the sessions were opened at different times
        while time.monotonic() < until:
            began = time.monotonic()
            async with session.get(base + "/tasks/list", headers=headers) as answer:
                await answer.read()
                if answer.status != 200:
                    failures.append(answer.status)
            latencies.append(time.monotonic() - began)
            await asyncio.sleep(5.0)
    finally:
        await session.close()


async def _webhooks_with_pollers(base: str, calls_per_second: float, seconds: float, pollers: int):  # type: ignore[no-untyped-def]
    latencies: list[float] = []
    failures: list[int] = []
    # Every session signs in before the load starts, as the supervisors did at the start of their shift.
    sessions = [
        await _signed_in_session(base, f"supervisor{1 + n % TEAMS}@example.com") for n in range(pollers)
    ]
    until = time.monotonic() + seconds + 6
    polling = [
        asyncio.create_task(_poll(base, signed_in, until, latencies, failures)) for signed_in in sessions
    ]
    load = await run_open_loop(base, TOKEN, calls_per_second, seconds + 6, calls=True, seed=13)
    await asyncio.gather(*polling)
    return load, latencies, failures


def webhook_phase(database_url: str, webhooks: float, seconds: float, logs: Path) -> dict[str, object]:
    Redis.from_url(REDIS).flushdb()
    env = {
        "IVR_ENV": "production",
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "SECRET_KEY": "bench-secret-key-0123456789",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{PORT}",
    }
    base = f"http://127.0.0.1:{PORT}"
    calls = webhooks / WEBHOOKS_PER_CALL
    worker = stack.rq_worker(env, logs)
    web = stack.gunicorn("pages-web", "wsgi:app", PORT, env, logs)
    out: dict[str, object] = {}
    try:
        for label, pollers in (("alone", 0), ("with 10 polling inboxes", 10)):
            say(f"  {webhooks:.0f} webhooks/s ({calls:.1f} calls/s) for {seconds:.0f} s, {label}")
            load, polls, failures = asyncio.run(_webhooks_with_pollers(base, calls, seconds, pollers))
            out[label] = {
                "webhooks": Stats.of(load.window(6.0, 6.0 + seconds), seconds),
                "polls": len(polls),
                "poll_p95": percentile(polls, 0.95) if polls else None,
                "poll_failures": len(failures),
            }
    finally:
        web.stop()
        worker.stop()
    return out


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--responses", type=int, default=1_000_000, help="responses seeded (default 1,000,000)"
    )
    parser.add_argument("--reuse", action="store_true", help="keep the database if it is already seeded")
    parser.add_argument("--repeats", type=int, default=60, help="requests timed per page")
    parser.add_argument("--webhooks", type=float, default=200, help="survey webhooks per second")
    parser.add_argument("--seconds", type=float, default=20, help="measured seconds of webhook load")
    parser.add_argument("--skip-load", action="store_true", help="time the pages only")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    logs = RESULTS / ("pages-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S"))
    logs.mkdir()

    ensure_database(DATABASE)
    if args.reuse and already_organised(DATABASE):
        say("reusing the seeded database ivr_bench_pages")
    else:
        say(f"seeding {args.responses:,} responses, 500 agents, 20 queues (bulk COPY)")
        reset_schema(DATABASE)
        seeded = seed(DATABASE, args.responses, 500, 20)
        say(f"  seeded in {seeded:.0f} s; organising teams, tasks and users")
        began = time.monotonic()
        organise(DATABASE)
        say(f"  organised in {time.monotonic() - began:.0f} s")

    say(f"timing pages ({args.repeats} requests each, in process)")
    pages = time_pages(DATABASE, args.repeats)
    floor = pages[0].p95
    print("\n== Server time per page (target: p95 under 150 ms) ==")
    print(f"{'page':<22} {'who':<26} {'p50':>10} {'p95':>10} {'max':>10} {'x floor':>8} {'bytes':>8}")
    for t in pages:
        print(
            f"{t.path:<22} {t.who:<26} {_ms(t.p50):>10} {_ms(t.p95):>10} {_ms(t.max):>10} "
            f"{t.p95 / floor:>7.1f}x {t.bytes:>8}"
        )
    print("(x floor: p95 against the sign-in page's, the framework's own cost per request)")

    if args.skip_load:
        return
    say("webhooks under gunicorn with an RQ worker")
    phase = webhook_phase(DATABASE, args.webhooks, args.seconds, logs)
    print("\n== Survey webhooks while supervisors' inboxes poll (target: p99 under 100 ms) ==")
    print(
        f"{'run':<26} {'rate':>8} {'p50':>10} {'p95':>10} {'p99':>10} "
        f"{'errors':>7} {'polls':>6} {'poll p95':>10}"
    )
    for label, row in phase.items():
        assert isinstance(row, dict)
        stats: Stats = row["webhooks"]
        print(
            f"{label:<26} {stats.rate:>7.0f}/s {_ms(stats.p50):>10} {_ms(stats.p95):>10} "
            f"{_ms(stats.p99):>10} "
            f"{stats.errors:>7} {row['polls']:>6} {_ms(row['poll_p95']):>10}"
        )
    alone, polled = (row["webhooks"] for row in phase.values() if isinstance(row, dict))
    print(f"p99 with the pollers against alone: {polled.p99 / alone.p99:.2f}x")
    print(f"logs: {logs}")


if __name__ == "__main__":
    main()
