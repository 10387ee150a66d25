"""Fill a PostgreSQL database with a year of surveys, fast: `python -m bench.seed`.

Bulk COPY of calls, agent legs, responses, answers and scores; 1,000,000 responses, 500 agents
and 20 queues by default. The schema comes from the project's migrations.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

from ivr.flows import load_catalog
from ivr.flows.compiled import CompiledFlow

CSAT_WEIGHTS = [(1, 10), (2, 8), (3, 12), (4, 25), (5, 45)]
BATCH = 100_000
FOUR_MIN = timedelta(minutes=4)
FIVE_MIN = timedelta(minutes=5)


def _progress(label: str, done: int, total: int, began: float) -> None:
    rate = done / max(time.monotonic() - began, 1e-6)
    sys.stderr.write(f"\r  {label}: {done:,}/{total:,} ({rate:,.0f} rows/s)   ")
    sys.stderr.flush()


def _plain_url(url: str) -> str:
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_database(url: str) -> None:
    parsed = sa.engine.make_url(url)
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}):
            conn.execute(sa.text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def reset_schema(database_url: str) -> None:
    """Drop and rebuild the schema with the migrations, exactly as production does."""
    from flask_migrate import upgrade

    from ivr import create_app
    from ivr.extensions import db
    from ivr.models import Base

    app = create_app(database_url=database_url, redis_url=None, ivr_env="test")
    with app.app_context():
        with db.engine.begin() as conn:
            Base.metadata.drop_all(conn)
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()
        db.engine.dispose()


@dataclass(frozen=True)
class Planned:
    id: int
    started: datetime
    agent_id: int
    queue: str
    csat: int
    nps: int
    resolved: bool


def _plan_row(
    i: int, now: datetime, days: int, agents: int, queues: list[str], rng: random.Random
) -> Planned:
    csat_values, csat_weights = zip(*CSAT_WEIGHTS, strict=True)
    csat = rng.choices(csat_values, csat_weights)[0]
    return Planned(
        id=i,
        started=now - timedelta(seconds=rng.uniform(0, days * 86400)),
        agent_id=rng.randrange(1, agents + 1),
        queue=rng.choice(queues),
        csat=csat,
        nps=max(0, min(10, csat * 2 + rng.randint(-2, 1))),
        resolved=csat >= 3 or rng.random() < 0.2,
    )


def _copies(rule: str | None) -> list[tuple[str, str, Callable[[Planned], list[tuple[Any, ...]]]]]:
    """Each table: a label, its COPY statement, and the rows one planned survey gives it."""

    def call(p: Planned) -> list[tuple[Any, ...]]:
        sid = f"CA{p.id:032x}"
        return [
            (
                p.id,
                sid,
                f"+1555{p.id % 10**7:07d}",
                "+15550001111",
                p.queue,
                "completed",
                300,
                p.started,
                p.started + FIVE_MIN,
            )
        ]

    def leg(p: Planned) -> list[tuple[Any, ...]]:
        return [(p.id, p.agent_id, 1, p.queue, "completed", p.started, p.started + FOUR_MIN)]

    def response(p: Planned) -> list[tuple[Any, ...]]:
        lang = "en" if p.id % 5 else "es"
        return [
            (
                p.id,
                p.id,
                f"CA{p.id:032x}",
                1,
                p.agent_id,
                p.queue,
                lang,
                "ivr",
                "completed",
                p.started + FOUR_MIN,
                p.started + FIVE_MIN,
                p.started + FIVE_MIN,  # scored_at
            )
        ]

    def answers(p: Planned) -> list[tuple[Any, ...]]:
        at = p.started + FOUR_MIN
        yes_no = "yes" if p.resolved else "no"
        return [
            (p.id, "csat", "answered", str(p.csat), str(p.csat), p.csat, 0, 0, at),
            (p.id, "nps", "answered", str(p.nps), str(p.nps), p.nps, 0, 0, at),
            (p.id, "resolved", "answered", "1" if p.resolved else "2", yes_no, None, 0, 0, at),
        ]

    def score(p: Planned) -> list[tuple[Any, ...]]:
        category = "promoter" if p.nps >= 9 else "passive" if p.nps >= 7 else "detractor"
        low = p.csat == 1 or p.nps <= 2  # no comments seeded: sentiment plays no part
        started = p.started + FOUR_MIN
        return [
            (
                p.id,
                p.agent_id,
                p.queue,
                started,
                p.csat,
                p.nps,
                category,
                p.resolved,
                p.csat >= 4,  # top box
                p.csat <= 2,  # bottom box
                low,
                rule,
                p.csat == 5 and p.nps >= 9,  # extreme high, the sample flow's praise rule
                p.started + FIVE_MIN,  # scored_at, as on the response
            )
        ]

    return [
        (
            "calls",
            "COPY calls (id, call_sid, from_number, to_number, queue, status, duration_seconds,"
            " started_at, ended_at) FROM STDIN",
            call,
        ),
        (
            "agent legs",
            "COPY agent_legs (call_id, agent_id, sequence, queue, outcome, started_at, ended_at) FROM STDIN",
            leg,
        ),
        (
            "responses",
            "COPY survey_responses (id, call_id, survey_call_sid, flow_version_id, agent_id, queue,"
            " language, language_source, disposition, started_at, ended_at, scored_at) FROM STDIN",
            response,
        ),
        (
            "answers",
            "COPY answers (response_id, step_key, status, raw_input, value, number, no_input_count,"
            " no_match_count, answered_at) FROM STDIN",
            answers,
        ),
        (
            "scores",
            "COPY scores (response_id, agent_id, queue, started_at, csat, nps, nps_category, resolved,"
            " csat_top_box, csat_bottom_box, extreme_low, extreme_low_rule, extreme_high, scored_at)"
            " FROM STDIN",
            score,
        ),
    ]


def seed(
    database_url: str, responses: int, agents: int, queues: int, days: int = 365, seed: int = 11
) -> float:
    """Returns the seconds it took."""
    rng = random.Random(seed)
    began = time.monotonic()
    now = datetime.now(UTC)
    queue_names = [f"queue-{i:02d}" for i in range(queues)]
    root = Path(__file__).resolve().parent.parent
    compiled: CompiledFlow = load_catalog(root / "callflows", root / "prompts")["post-call-csat"]

    with psycopg.connect(_plain_url(database_url), autocommit=False) as conn:
        cur = conn.cursor()
        cur.execute(
            "TRUNCATE scores, answers, survey_responses, agent_legs, calls, flow_versions, agents"
            " RESTART IDENTITY CASCADE"
        )
        agents_sql = "COPY agents (ref, display_name, auto_created, feedback_delivery, created_at) FROM STDIN"
        with cur.copy(agents_sql) as copy:
            for i in range(agents):
                copy.write_row((f"agent-{i:03d}", f"Agent {i}", False, "digest", now))
        cur.execute(
            "INSERT INTO flow_versions (flow_key, version, content_hash, definition, source, created_at)"
            " VALUES (%s, 1, %s, %s, %s, %s)",
            (compiled.id, compiled.content_hash, psycopg.types.json.Json(compiled.definition()), "seed", now),
        )

        plan = [_plan_row(i, now, days, agents, queue_names, rng) for i in range(1, responses + 1)]
        rule = compiled.flow.scoring.extreme_low
        for label, sql, make in _copies(rule):
            t = time.monotonic()
            with cur.copy(sql) as copy:
                for n, planned in enumerate(plan, 1):
                    for row in make(planned):
                        copy.write_row(row)
                    if n % BATCH == 0:
                        _progress(label, n, responses, t)
            _progress(label, responses, responses, t)
            sys.stderr.write("\n")
        for table in ("calls", "survey_responses"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        conn.commit()
    with psycopg.connect(_plain_url(database_url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return time.monotonic() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/ivr_bench_reports"
    )
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--queues", type=int, default=20)
    args = parser.parse_args()
    ensure_database(args.database_url)
    reset_schema(args.database_url)
    seconds = seed(args.database_url, args.responses, args.agents, args.queues)
    print(
        f"seeded {args.responses:,} responses, {args.agents} agents, {args.queues} queues in {seconds:.0f} s"
    )


if __name__ == "__main__":
    main()
