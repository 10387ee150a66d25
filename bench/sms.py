"""`python -m bench.sms`: SMS webhook latency at 200 webhooks/s beside the voice webhooks.

Runs on loopback only: PostgreSQL and Redis on 127.0.0.1, gunicorn with the Procfile's settings,
an RQ worker, and two open-loop load generators in this process, at the same time:

- texts: phones answering surveys by text (invitations seeded as `flask simulate --sms` writes
  them), each reply a signed POST /sms/incoming, each of our replies followed by Twilio's two
  status callbacks (sent, delivered) to POST /sms/status, a think time between texts;
- calls: survey calls as bench/load.py plays them (the voice webhooks of `python -m bench`).

Prints the SMS webhooks' and the voice webhooks' latency (target: p99 < 100 ms, as for voice),
and exits 0: it reports, it does not judge.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import aiohttp
from redis import Redis

from bench import stack
from bench.load import TIMEOUT, LoadResult, Poster, Stats, run_open_loop
from bench.seed import ensure_database, reset_schema

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/ivr_bench_sms"
REDIS = "redis://127.0.0.1:6379/3"  # not 13-15, which the test suite uses
TOKEN = "bench-auth-token-0123456789abcdef"
# The server's: numbers are matched through a hash keyed with it.
SECRET_KEY = "bench-secret-key-0123456789"
PORT = 5104
URL = f"http://127.0.0.1:{PORT}"
SURVEY_NUMBER = "+15005550100"
# What phones reply, question by question (a low and a high caller; some unclear replies).
SCRIPTS = (
    ["1", "zero", "no", "still waiting", "they never called me back"],
    ["5 - great", "9", "yes", "Quick and friendly, thanks"],
    ["which agent?", "4", "ten", "yes", "fine"],
)
# Webhooks per conversation with these scripts: texts, each with two status callbacks.
WEBHOOKS_PER_CONVERSATION = 14.0


def say(text: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {text}", flush=True)


def seed_invitations(count: int) -> list[str]:
    """`count` surveys by text waiting for their first reply, written as the job writes them."""
    from ivr import create_app
    from ivr.extensions import db
    from ivr.services.texting.delivery import simulated_invitation

    app = create_app(
        database_url=PG, redis_url=None, ivr_env="test", twilio_auth_token=TOKEN, secret_key=SECRET_KEY
    )
    numbers = [f"+1555{index:07d}" for index in range(count)]
    with app.app_context():
        for number in numbers:
            simulated_invitation(number, None, "en", agent_ref="alice", queue="support")
        db.engine.dispose()
    return numbers


async def conversation(
    poster: Poster, callbacks: Poster, number: str, rng: random.Random, think: tuple[float, float]
) -> None:
    """One phone answering its survey by text until the server stops asking (its texts through
    `poster`, Twilio's status callbacks through `callbacks`)."""
    base = {"AccountSid": "AC" + "0" * 32, "From": number, "To": SURVEY_NUMBER, "NumMedia": "0"}
    for body in rng.choice(SCRIPTS):
        await asyncio.sleep(rng.uniform(*think))
        sid = "SM" + uuid.uuid4().hex
        status, answer = await poster.post("/sms/incoming", {**base, "MessageSid": sid, "Body": body})
        if status != 200 or not answer:
            return
        messages = list(ET.fromstring(answer).iter("Message"))
        for message in messages:
            reply_sid = "SM" + uuid.uuid4().hex
            for delivery in ("sent", "delivered"):
                form = {**base, "MessageSid": reply_sid, "MessageStatus": delivery}
                await callbacks.post(message.get("action", ""), form)
        if not messages:
            return


async def text_load(
    numbers: list[str], rate: float, seconds: float, drain: float = 30
) -> tuple[LoadResult, LoadResult]:
    """Start conversations so that about `rate` SMS webhooks/s arrive, for `seconds`; the
    incoming texts' and the status callbacks' samples."""
    rng = random.Random(17)
    result, statuses = LoadResult(), LoadResult()
    per_second = rate / WEBHOOKS_PER_CONVERSATION
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=TIMEOUT) as session:
        t0 = time.monotonic()
        poster = Poster(session, URL, TOKEN, result, t0)
        callbacks = Poster(session, URL, TOKEN, statuses, t0)
        tasks = []
        for index, number in enumerate(numbers):
            due = t0 + index / per_second
            if due - t0 >= seconds:
                break
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            tasks.append(asyncio.create_task(conversation(poster, callbacks, number, rng, (1.0, 3.0))))
            result.calls_started += 1
        _done, pending = await asyncio.wait(tasks, timeout=drain) if tasks else (set(), set())
        for task in pending:
            task.cancel()
    return result, statuses


async def both(
    numbers: list[str], sms_rate: float, voice_rate: float, seconds: float
) -> tuple[tuple[LoadResult, LoadResult], LoadResult]:
    texts, calls = await asyncio.gather(
        text_load(numbers, sms_rate, seconds),
        # About 7.1 webhooks a call with bench/load.py's mix (see bench/__main__.py).
        run_open_loop(URL, TOKEN, voice_rate / 7.1, seconds, calls=True),
    )
    return texts, calls


def line(name: str, stats: Stats) -> str:
    ms = [f"{value * 1000:7.1f}" for value in (stats.p50, stats.p95, stats.p99, stats.max)]
    return f"{name:<22} {stats.count:>6} {stats.rate:6.0f} {' '.join(ms)} {stats.errors:6d}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sms-rate", type=float, default=200, help="SMS webhooks/s (texts and status callbacks)"
    )
    parser.add_argument("--voice-rate", type=float, default=100, help="voice webhooks/s at the same time")
    parser.add_argument(
        "--seconds", type=float, default=45, help="seconds of load (the first third is warm-up)"
    )
    args = parser.parse_args()
    logs = stack.ROOT / "bench" / "results" / ("sms-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S"))
    logs.mkdir(parents=True)
    ensure_database(PG)
    reset_schema(PG)
    Redis.from_url(REDIS).flushdb()
    conversations = int(args.sms_rate / WEBHOOKS_PER_CONVERSATION * args.seconds) + 10
    say(f"seeding {conversations} surveys by text waiting for a reply")
    numbers = seed_invitations(conversations)
    env = {
        "IVR_ENV": "production",
        "DATABASE_URL": PG,
        "REDIS_URL": REDIS,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "SECRET_KEY": SECRET_KEY,
        "PUBLIC_BASE_URL": URL,
        "TWILIO_SMS_SURVEY_FROM": SURVEY_NUMBER,
        # Invitations after broken-off calls are scheduled minutes later; never to the real Twilio.
        "TWILIO_API_BASE_URL": "http://127.0.0.1:9",
    }
    rates = f"{args.sms_rate:.0f} SMS + {args.voice_rate:.0f} voice webhooks/s"
    say(f"survey server (gunicorn, PostgreSQL, Redis, RQ worker); {rates}")
    worker = stack.rq_worker(env, logs)
    web = stack.gunicorn("survey-web", "wsgi:app", PORT, env, logs)
    try:
        texts, calls = asyncio.run(both(numbers, args.sms_rate, args.voice_rate, args.seconds))
    finally:
        web.stop()
        worker.stop()
    # Conversations last 10 s or more: the rate is steady only after the first ones have ended.
    warm, end = args.seconds / 3, args.seconds
    window = end - warm
    incoming, status = texts[0].window(warm, end), texts[1].window(warm, end)
    print("\n== SMS webhooks beside voice webhooks (open loop, gunicorn as in the Procfile) ==")
    print(
        f"{'webhooks':<22} {'count':>6} {'got/s':>6} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7} {'errs':>6}"
    )
    print(line("sms (all)", Stats.of(incoming + status, window)))
    print(line("  /sms/incoming", Stats.of(incoming, window)))
    print(line("  /sms/status", Stats.of(status, window)))
    print(line("voice (all)", Stats.of(calls.window(warm, end), window)))
    print(f"\ntarget: SMS webhook p99 < 100 ms at {args.sms_rate:.0f}/s; logs: {logs}")


if __name__ == "__main__":
    main()
