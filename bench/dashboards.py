"""Dashboards, the explorer and exports at scale: `python -m bench.dashboards`.

On a PostgreSQL database seeded by bench.seed (1,000,000 responses over a year by default; reused
when it is already there, --reseed to rebuild, --responses for a smaller run), with its 500 agents
put in 20 teams: the dashboard's server time for one team and for all teams over 30 and 90 days
(p50 and p95 of --repeat runs), the explorer's first page and a page deep in, and the CSV
export's rows per second with the peak of Python's allocations (tracemalloc) and the process's
peak resident size. --explain prints each dashboard query's plan. It reports; it does not judge.
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa

from bench.seed import ensure_database, reset_schema, seed
from ivr import create_app
from ivr.extensions import db
from ivr.models import Agent, AgentScoreDay, Role, Supervisor, Team, utcnow
from ivr.services import policy
from ivr.services.insight import dashboard, explorer, exports, filters, rollups
from ivr.services.insight.measures import period_for

TEAMS = 20
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/ivr_bench_dashboards"


def _responses(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(sa.text("SELECT count(*) FROM scores")) or 0)
    except sa.exc.ProgrammingError:
        return 0
    finally:
        engine.dispose()


def _teams() -> None:
    """20 teams with a supervisor each; agent i in team i mod 20 (once)."""
    if db.session.scalar(sa.select(Team.id).limit(1)) is not None:
        return
    for n in range(TEAMS):
        supervisor = Supervisor(name=f"Supervisor {n:02d}")
        db.session.add(supervisor)
        db.session.flush()
        db.session.add(Team(name=f"Team {n:02d}", supervisor_id=supervisor.id))
        db.session.flush()
        team_id = db.session.scalar(sa.select(Team.id).where(Team.name == f"Team {n:02d}"))
        db.session.execute(sa.update(Agent).where((Agent.id - 1) % TEAMS == n).values(team_id=team_id))
    db.session.commit()


def _timed(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    """p50 and p95 in ms of `repeat` runs (after one warm-up)."""
    run()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        db.session.rollback()
        times.append(1000 * (time.perf_counter() - began))
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def _explain(principal: policy.Principal, days: int, team: int | None) -> None:
    """Each statement the dashboard sends, with PostgreSQL's plan and timing."""
    statements: list[tuple[str, object]] = []

    def keep(
        conn: object, cursor: object, statement: str, parameters: object, context: object, many: bool
    ) -> None:
        statements.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", keep)
    try:
        now = utcnow()
        dashboard.build(principal, period_for(str(days), now), team, now)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", keep)
    connection = db.session.connection()
    for statement, parameters in statements:
        if statement.startswith("SET "):
            connection.exec_driver_sql(statement)  # work_mem, as the dashboard sets it
            continue
        plan = connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)  # type: ignore[arg-type]
        print("\n" + " ".join(statement.split())[:400] + " ...")
        for (line,) in plan:
            print("   ", line)
    db.session.rollback()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--reseed", action="store_true", help="rebuild the database even if it is seeded")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--rebuild-rollups", action="store_true", help="rebuild the rollups anyway")
    args = parser.parse_args()

    ensure_database(args.database_url)
    if args.reseed or _responses(args.database_url) != args.responses:
        reset_schema(args.database_url)
        seconds = seed(args.database_url, args.responses, 500, 20)
        print(f"seeded {args.responses:,} responses in {seconds:.0f} s")
    app = create_app(database_url=args.database_url, redis_url=None, ivr_env="test")
    gc.freeze()  # as wsgi.py does in a web worker
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()  # this branch's indexes on a database seeded before them
        _teams()
        # The seed writes scores without the scoring job: the daily rollups are built here.
        if args.rebuild_rollups or db.session.scalar(sa.select(AgentScoreDay.id).limit(1)) is None:
            began = time.perf_counter()
            days = rollups.rebuild()
            print(f"rollups rebuilt: {days} days in {time.perf_counter() - began:.1f} s")
        team_id = db.session.scalar(sa.select(Team.id).order_by(Team.id).limit(1))
        supervisor_id = db.session.scalar(sa.select(Team.supervisor_id).where(Team.id == team_id))
        assert team_id is not None and supervisor_id is not None
        supervisor = policy.Principal(
            frozenset({Role.supervisor}),
            "bench supervisor",
            supervisor_id=supervisor_id,
            team_ids=frozenset({team_id}),
        )
        analyst = policy.Principal(frozenset({Role.analyst}), "bench analyst")
        responses = _responses(args.database_url)
        print(f"\n{responses:,} responses, {TEAMS} teams; {args.repeat} runs each (p50 / p95, ms)")
        print(f"{'measure':<52} {'p50':>9} {'p95':>9}")
        for days in (30, 90):
            for label, who, team in (
                ("one team (supervisor)", supervisor, None),
                ("all teams (analyst)", analyst, None),
            ):

                def board(who: policy.Principal = who, days: int = days, team: int | None = team) -> object:
                    now = utcnow()
                    return dashboard.build(who, period_for(str(days), now), team, now)

                p50, p95 = _timed(board, args.repeat)
                print(f"{f'dashboard, {label}, {days} days':<52} {p50:>9.1f} {p95:>9.1f}")
                if args.explain:
                    _explain(who, days, team)

        every = filters.parse({"start": (utcnow() - timedelta(days=365)).isoformat()})
        p50, p95 = _timed(lambda: explorer.find(analyst, every), args.repeat)
        print(f"{'explorer, first page (a year, analyst)':<52} {p50:>9.1f} {p95:>9.1f}")
        cursor = None
        for _ in range(100):  # walk 100 pages in: 5,000 responses
            page = explorer.find(analyst, every, cursor)
            assert page.next_cursor is not None
            cursor = explorer.parse_cursor(page.next_cursor)
        p50, p95 = _timed(lambda: explorer.find(analyst, every, cursor), args.repeat)
        print(f"{'explorer, page 101 (keyset)':<52} {p50:>9.1f} {p95:>9.1f}")
        words = filters.parse({"start": every.start.isoformat(), "words": "refund"})
        p50, p95 = _timed(lambda: explorer.find(analyst, words), max(3, args.repeat // 5))
        print(f"{'explorer, words in the verbatim (a year)':<52} {p50:>9.1f} {p95:>9.1f}")

        ninety = filters.parse({"start": (utcnow() - timedelta(days=90)).isoformat()})
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        began = time.perf_counter()
        rows = sum(1 for _ in exports.responses_csv(analyst, ninety)) - 1
        seconds = time.perf_counter() - began
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        db.session.rollback()
        tracemalloc.start()
        sum(1 for _ in exports.responses_csv(analyst, ninety))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"\nCSV export, 90 days, all teams: {rows:,} rows in {seconds:.1f} s"
            f" = {rows / seconds:,.0f} rows/s;"
            f" Python allocations peak {peak / 1e6:.1f} MB (tracemalloc, a second run);"
            f" process peak RSS {rss_before / 1024:.0f} MB before, {rss_after / 1024:.0f} MB after"
        )


if __name__ == "__main__":
    main()
