"""The response explorer and its exports: filters, keyset pages, a supervisor's teams only, CSV
and JSON lines that parse (formula-like words made inert), streamed in flat memory."""

from __future__ import annotations

import csv
import io
import json
import re
import tracemalloc
from datetime import UTC, datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect
from sqlalchemy import insert, select

from ivr.extensions import db
from ivr.models import Agent, Call, Score, SurveyResponse
from ivr.services.conversation.flow_versions import registry
from ivr.services.insight import explorer, exports, filters
from ivr.services.organisation import teams as organisation
from ivr.services.policy import OPERATOR
from tests.helpers import API_KEY_HEADER, make_user, scored_response, set_up_team, sign_in

FORMULA = '=HYPERLINK("http://evil.example/","click me")'


def seed(app: Flask) -> dict[str, int]:
    set_up_team(app)
    with app.app_context():
        organisation.save_supervisor("Riley")
        organisation.save_team("Sales", supervisor="Riley")
        organisation.save_agent("bob", team="Sales")
    return {
        "happy": scored_response(app, "alice", 5, 10, True, days_ago=1, comment="Lovely, quick and kind."),
        "formula": scored_response(app, "alice", 1, 0, False, days_ago=2, comment=FORMULA),
        "middle": scored_response(app, "alice", 3, 7, True, days_ago=3),
        "old": scored_response(app, "alice", 4, 8, True, days_ago=50),
        "bob": scored_response(
            app, "bob", 2, 3, False, days_ago=1, queue="sales", comment="Slow, very slow."
        ),
    }


def test_filters_and_keyset_pages_find_exactly_the_matching_responses(app: Flask) -> None:
    ids = seed(app)
    with app.app_context():
        every = filters.parse({})
        first = explorer.find(OPERATOR, every, limit=2)
        assert first.next_cursor is not None
        second = explorer.find(OPERATOR, every, explorer.parse_cursor(first.next_cursor), limit=2)
        assert second.next_cursor is None
        listed = [row.response_id for row in first.rows + second.rows]
        # The last 30 days, newest first (bob's was written last, a day ago); the 50-day-old one is
        # outside the default period.
        assert listed == [ids["bob"], ids["happy"], ids["formula"], ids["middle"]]
        assert [r.response_id for r in explorer.find(OPERATOR, filters.parse({"words": "QUICK"})).rows] == [
            ids["happy"]
        ]
        low = explorer.find(OPERATOR, filters.parse({"extreme": "low", "team": "1"})).rows
        assert [(r.response_id, r.task_status) for r in low] == [(ids["formula"], "open")]
        assert [r.response_id for r in explorer.find(OPERATOR, filters.parse({"queue": "sales"})).rows] == [
            ids["bob"]
        ]
        start = (datetime.now(UTC) - timedelta(days=60)).date().isoformat()
        assert ids["old"] in [
            r.response_id for r in explorer.find(OPERATOR, filters.parse({"start": start})).rows
        ]


def test_the_csv_of_a_filter_has_one_row_per_response_and_inert_formulas(
    app: Flask, client: FlaskClient
) -> None:
    ids = seed(app)
    answer = client.get("/api/exports/responses.csv?team=1", headers=API_KEY_HEADER)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert [int(row["response_id"]) for row in rows] == [ids["happy"], ids["formula"], ids["middle"]]
    steps = ["language", "intro", "opt_out_hint", "csat", "nps", "resolved", "unresolved_reason", "comment"]
    assert list(rows[0]) == explorer.BASE_COLUMNS + [f"step:{s}" for s in steps] + explorer.SCORE_COLUMNS
    formula = rows[1]
    assert formula["verbatim"] == "'" + FORMULA  # a spreadsheet shows the text, runs nothing
    assert (formula["agent"], formula["team"], formula["queue"], formula["channel"]) == (
        "alice",
        "Support",
        "billing",
        "voice",
    )
    assert (formula["step:csat"], formula["csat"], formula["extreme_low"], formula["task_status"]) == (
        "1",
        "1",
        "yes",
        "open",
    )
    lines = client.get("/api/exports/responses.jsonl?csat=5", headers=API_KEY_HEADER).get_data(as_text=True)
    records = [json.loads(line) for line in lines.splitlines()]
    assert [(r["response_id"], r["csat"], r["verbatim"]) for r in records] == [
        (ids["happy"], 5, "Lovely, quick and kind.")
    ]
    bad = client.get("/api/exports/responses.csv?csat=eleven", headers=API_KEY_HEADER)
    assert bad.status_code == 400 and "csat" in bad.get_json()["message"]


def test_the_reports_api_gives_the_dashboards_numbers(app: Flask, client: FlaskClient) -> None:
    seed(app)
    answer = client.get("/api/reports/dashboard?period=7", headers=API_KEY_HEADER)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    report = answer.get_json()
    assert report["total"]["current"]["csat"] == {"1": 1, "2": 1, "3": 1, "4": 0, "5": 1}
    assert {team["name"] for team in report["teams"]} == {"Support", "Sales"}
    assert client.get("/api/reports/dashboard?period=8", headers=API_KEY_HEADER).status_code == 400
    assert client.get("/api/reports/dashboard?team=99", headers=API_KEY_HEADER).status_code == 400
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert {"/api/reports/dashboard", "/api/exports/responses.csv", "/api/exports/responses.jsonl"} <= set(
        paths
    )


def test_a_supervisor_explores_only_their_teams_responses(app: Flask, live_server: str, page: Page) -> None:
    ids = seed(app)
    sign_in(page, live_server, "sam@example.com")
    page.goto(live_server + "/responses")
    table = page.get_by_role("table", name="Survey responses matching the filter")
    links = table.get_by_role("link", name=re.compile(r"^Response \d+$"))
    expect(links).to_have_text([f"Response {ids[k]}" for k in ("happy", "formula", "middle")])
    page.get_by_label("Words in the verbatim").fill("lovely")
    page.get_by_role("button", name="Filter").click()
    expect(links).to_have_text([f"Response {ids['happy']}"])
    links.first.click()
    expect(page.get_by_role("heading", name=f"Response {ids['happy']}")).to_be_visible()
    expect(page.get_by_text("Lovely, quick and kind.").first).to_be_visible()
    expect(page.get_by_role("heading", name="Score")).to_be_visible()
    page.goto(f"{live_server}/responses/{ids['bob']}")
    expect(page.get_by_role("heading", name=f"Response {ids['bob']}")).to_have_count(0)


def test_an_analyst_downloads_the_filter_as_csv(app: Flask, live_server: str, page: Page) -> None:
    ids = seed(app)
    make_user(app, "ana@example.com", "analyst")
    sign_in(page, live_server, "ana@example.com")
    page.goto(live_server + "/responses?resolved=no")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    with open(download.value.path(), encoding="utf-8") as saved:
        text = saved.read()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [int(row["response_id"]) for row in rows] == [ids["bob"], ids["formula"]]


EXPORTED = 100_000


def _bulk(app: Flask, n: int) -> None:
    """n scored responses written in bulk (no answers: the scores are what the export reads)."""
    with app.app_context():
        published = registry().current("post-call-csat")
        assert published is not None
        version_id = published.version_id
        agent_id = db.session.scalar(select(Agent.id).where(Agent.ref == "alice"))
        db.session.commit()
        now = datetime.now(UTC)
        for offset in range(0, n, 20_000):
            batch = range(offset + 1, min(n, offset + 20_000) + 1)
            db.session.execute(
                insert(Call),
                [{"id": i, "call_sid": f"CA{i:032x}", "queue": "billing", "started_at": now} for i in batch],
            )
            db.session.execute(
                insert(SurveyResponse),
                [
                    {
                        "id": i,
                        "call_id": i,
                        "survey_call_sid": f"CA{i:032x}",
                        "flow_version_id": version_id,
                        "agent_id": agent_id,
                        "queue": "billing",
                        "language": "en",
                        "disposition": "completed",
                        "started_at": now - timedelta(seconds=i),
                        "ended_at": now,
                        "scored_at": now,
                    }
                    for i in batch
                ],
            )
            db.session.execute(
                insert(Score),
                [
                    {
                        "response_id": i,
                        "agent_id": agent_id,
                        "queue": "billing",
                        "started_at": now - timedelta(seconds=i),
                        "csat": 1 + i % 5,
                        "extreme_low": False,
                        "extreme_high": False,
                    }
                    for i in batch
                ],
            )
            db.session.commit()


def test_an_export_of_100000_responses_streams_in_flat_memory(app: Flask) -> None:
    set_up_team(app)
    _bulk(app, EXPORTED)
    with app.app_context():
        lines = exports.responses_csv(OPERATOR, filters.parse({"start": "2000-01-01"}))
        header = next(lines)  # a generator: nothing is read before the first line is asked for
        assert header.startswith("response_id,")
        tracemalloc.start()
        count, size, first_peak = 0, 0, 0
        for line in lines:
            count += 1
            size += len(line)
            if count == 10_000:  # the first ten chunks; then the peak over the other 90,000 rows
                first_peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.reset_peak()
        _, later_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert count == EXPORTED
    # The file is ~10 MB of text; holding the rows (as text or as objects) would take several
    # times that. One chunk of EXPORT_CHUNK rows at a time: 90,000 rows cost no more memory than
    # the first 10,000 did, and a small fraction of what they weigh as text.
    assert size > 8_000_000
    assert later_peak < 2 * first_peak, f"peak {later_peak:,} after {first_peak:,} for the first rows"
    assert later_peak < size / 4, f"peak {later_peak:,} bytes for {size:,} bytes exported"
