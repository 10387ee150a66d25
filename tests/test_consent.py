"""Consent and dispositions through whole calls: opt-out, suppression, the do-not-survey list,
stale surveys, failed calls and the retention purge."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import yaml
from flask import Flask
from sqlalchemy import JSON, String, Text, select, update

from ivr.extensions import db
from ivr.jobs.scheduled import housekeeping
from ivr.models import (
    Base,
    Call,
    CallbackTask,
    DoNotSurvey,
    FeedbackItem,
    ListSource,
    OutboundSurvey,
    Recording,
    Score,
    SurveyResponse,
    utcnow,
)
from ivr.services.consent.privacy import mask, number_hash
from tests.helpers import API_KEY_HEADER as KEY
from tests.helpers import Twilio, problems_for, set_up_team, step

ROOT = Path(__file__).resolve().parent.parent
START = "/voice/survey?agent=alice&queue=billing&lang=en"
CALLER = "+15557654321"


def rows(app: Flask, model: type) -> list:  # type: ignore[type-arg]
    with app.app_context():
        return list(db.session.scalars(select(model).order_by(model.id)))


def dispositions(app: Flask) -> list[str]:
    return [r.disposition.value for r in rows(app, SurveyResponse)]


def test_the_opt_out_key_ends_the_survey_and_the_caller_is_never_asked_again(
    app: Flask, twilio: Twilio
) -> None:
    _, first = twilio.play(START, ["4", "*"], from_number=CALLER)
    assert "You can press star at any time to stop and never be surveyed again." in first.heard
    assert first.heard[-1] == "Understood. We won't ask you to take our surveys again. Goodbye."
    [entry] = rows(app, DoNotSurvey)
    assert (entry.source, entry.masked) == (ListSource.opt_out, "+•••••••4321")
    assert CALLER not in str(entry.__dict__)  # only the keyed hash is kept

    _, second = twilio.play(START, ["5", "9", "1"], from_number=CALLER)
    assert second.heard == ["Thank you for calling. Goodbye."]
    _, other = twilio.play(START, ["5", "!"], from_number="+15550000001")
    assert other.heard[-1].startswith("How likely are you to recommend us")

    assert dispositions(app) == ["refused", "suppressed", "partial"]
    with app.app_context():
        refused, suppressed, _ = db.session.scalars(select(SurveyResponse).order_by(SurveyResponse.id))
        assert [a.value for a in refused.answers] == ["4"]  # what was said before opting out is kept
        assert suppressed.answers == [] and suppressed.ended_at is not None
    scores = rows(app, Score)
    assert [s.csat for s in scores] == [4, None, 5]  # every final response is scored, none twice


def flow_app(app_factory: Callable[..., Flask], tmp_path: Path, **changes: object) -> Flask:
    flows = tmp_path / "flows"
    flows.mkdir()
    flow = yaml.safe_load((ROOT / "callflows" / "post-call-csat.yaml").read_text())
    flow.update(changes)
    (flows / "post-call-csat.yaml").write_text(yaml.safe_dump(flow, sort_keys=False))
    return app_factory(callflows_dir=flows)


def test_once_in_n_days_per_flow(app_factory: Callable[..., Flask], tmp_path: Path) -> None:
    app = flow_app(app_factory, tmp_path, suppress_days=7)
    twilio = Twilio(app, app.test_client())
    twilio.play(START, ["!"], from_number=CALLER)  # a breakoff: asked, so it counts
    _, again = twilio.play(
        START, ["5"], from_number="+1 (555) 765-4321"
    )  # the same number, written otherwise
    assert again.heard == ["Thank you for calling. Goodbye."]
    assert dispositions(app) == ["breakoff", "suppressed"]

    with app.app_context():  # eight days later
        db.session.execute(update(SurveyResponse).values(started_at=utcnow() - timedelta(days=8)))
        db.session.commit()
    _, later = twilio.play(START, ["5", "!"], from_number=CALLER)
    assert later.heard[-1].startswith("How likely are you to recommend us")
    assert dispositions(app)[-1] == "partial"


def test_the_do_not_survey_list_from_the_command_line(app: Flask, twilio: Twilio, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    assert "is empty" in runner.invoke(args=["do-not-survey", "list"]).output
    source = tmp_path / "numbers.csv"
    source.write_text("number,note\n+15557654321,asked by phone\n+15550000002,\nnot a number,\n")
    imported = runner.invoke(args=["do-not-survey", "import", str(source)])
    assert imported.exit_code == 0
    assert "2 added, 0 already listed, 1 skipped" in imported.output
    assert "line 4: 'not a number,' is neither a number nor a hash" in imported.output

    listing = runner.invoke(args=["do-not-survey", "list"]).output
    assert "+•••••••4321" in listing and "asked by phone" in listing and CALLER not in listing

    exported = runner.invoke(args=["do-not-survey", "export"]).output
    table = list(csv.DictReader(io.StringIO(exported)))
    assert [row["masked"] for row in table] == ["+•••••••4321", "+•••••••0002"]
    with app.app_context():
        assert table[0]["number_hash"] == number_hash(CALLER)
    assert "555765" not in exported  # no number leaves in clear
    exported_file = tmp_path / "export.csv"
    exported_file.write_text(exported)
    assert (
        "0 added, 2 already listed"
        in runner.invoke(args=["do-not-survey", "import", str(exported_file)]).output
    )

    _, listed = twilio.play(START, ["5"], from_number=CALLER)
    assert listed.heard == ["Thank you for calling. Goodbye."]
    assert "removed" in runner.invoke(args=["do-not-survey", "remove", "+1 555 765 4321"]).output
    _, welcome = twilio.play(START, ["5", "!"], from_number=CALLER)
    assert welcome.heard[-1].startswith("How likely are you to recommend us")


def test_a_stale_survey_is_closed_and_scored(app: Flask, twilio: Twilio) -> None:
    _status, first = twilio.post(START, {"CallSid": "CA-stale", "From": CALLER})
    action = first.find("Gather").get("action")  # type: ignore[union-attr]
    twilio.post(action, {"CallSid": "CA-stale", "Digits": "2"})
    twilio.post(START.replace("alice", "bob"), {"CallSid": "CA-fresh"})  # still going, recently
    # ... and the status callback never comes.
    with app.app_context():
        db.session.execute(
            update(SurveyResponse)
            .where(SurveyResponse.survey_call_sid == "CA-stale")
            .values(started_at=utcnow() - timedelta(hours=2))
        )
        db.session.commit()
        done = housekeeping(min_age_seconds=0)
    assert len(done.closed_stale) == 1
    assert dispositions(app) == ["partial", "in_progress"]
    assert [s.csat for s in rows(app, Score)] == [2]


def test_a_failed_call_is_a_failed_response(app: Flask, twilio: Twilio) -> None:
    twilio.post(START, {"CallSid": "CA-failing"})
    twilio.post("/voice/status", {"CallSid": "CA-failing", "CallStatus": "failed"})
    assert dispositions(app) == ["failed"]


def test_retention_purge_removes_personal_data_and_keeps_scores(app: Flask, twilio: Twilio) -> None:
    set_up_team(app)
    twilio.play(
        START, ["1", "0", "1", "rec:9:The agent was rude and the wait was terrible."], from_number=CALLER
    )
    twilio.play(START, ["5", "!"], from_number="+15550000009")
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["data", "purge"])
    assert refused.exit_code == 2 and "--older-than-days" in refused.output
    with app.app_context():  # the first call is old
        old = db.session.scalars(select(Call).order_by(Call.id)).first()
        assert old is not None
        db.session.execute(
            update(Call).where(Call.id == old.id).values(started_at=utcnow() - timedelta(days=400))
        )
        db.session.commit()
    purged = runner.invoke(args=["data", "purge", "--older-than-days", "365"])
    assert "personal data removed from 1 call(s), 1 response(s)" in purged.output

    first, second = rows(app, Call)
    assert (first.from_number, first.from_hash, first.purged_at is not None) == (None, None, True)
    assert second.from_number == "+15550000009"
    [recording] = rows(app, Recording)
    assert recording.transcript is None and recording.sentiment_label is not None
    [task] = rows(app, CallbackTask)
    assert task.caller_number is None
    assert rows(app, FeedbackItem)[0].verbatim is None
    assert [(s.csat, s.nps, s.extreme_low) for s in rows(app, Score)] == [(1, 0, True), (5, None, False)]
    assert (
        "personal data removed from 0 call(s)"
        in runner.invoke(args=["data", "purge", "--older-than-days", "365"]).output
    )


def test_masking() -> None:
    assert mask("+15557654321") == "+•••••••4321"
    assert mask("client:alice") == "••••••••lice"
    assert mask(None) is None


def test_the_opt_out_key_cannot_also_be_an_answer(tmp_path: Path) -> None:
    flows = tmp_path / "callflows"
    flows.mkdir()
    shutil.copytree(ROOT / "prompts", tmp_path / "prompts")
    flow = yaml.safe_load((ROOT / "callflows" / "post-call-csat.yaml").read_text())
    step(flow, "resolved")["no_digit"] = "*"
    [problem] = problems_for((flows, tmp_path / "prompts"), flow)
    assert (problem.field, problem.message) == ("opt_out_key", "'*' is also an answer to step 'resolved'")


def test_after_a_purge_no_table_holds_the_callers_number_or_words(app: Flask, twilio: Twilio) -> None:
    """Search every text column of every table, not only the ones the purge is known to touch."""
    set_up_team(app, channels=["email", "sms"])
    spoken, rude, kind = "Quokka very satisfied", "Xylophone rude terrible wait", "Zebra lovely helpful agent"
    # An extreme low with a comment (a task, its alerts, immediate feedback), then a middling call
    # with a spoken answer and a comment that goes out in the agent's daily digest.
    twilio.play(START, ["1", "0", "1", f"rec:9:{rude}"], from_number=CALLER)
    twilio.play(START, [f"say:{spoken}", "7", "1", f"rec:6:{kind}"], from_number=CALLER)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["jobs", "digests"]).exit_code == 0
    with app.app_context():
        outbound = OutboundSurvey(
            to_number=CALLER,
            to_hash=number_hash(CALLER),
            flow_key="post-call-csat",
            call_at=utcnow(),
            attempts=0,
        )
        db.session.add(outbound)
        db.session.commit()
        needles = [CALLER, CALLER.lstrip("+1"), spoken.split()[0], rude.split()[0], kind.split()[0]]
        assert {needle for needle in needles if _found(needle)} == set(needles)  # all there before
        old = utcnow() - timedelta(days=400)
        db.session.execute(update(Call).values(started_at=old))
        db.session.execute(update(OutboundSurvey).values(created_at=old))
        db.session.commit()
    purged = runner.invoke(args=["data", "purge", "--older-than-days", "365"])
    assert "personal data removed from 2 call(s), 2 response(s)" in purged.output
    with app.app_context():
        assert [needle for needle in needles if _found(needle)] == []
        # The recording can no longer be streamed either: its link is gone.
        sid = db.session.scalars(select(Recording.recording_sid)).first()
    assert app.test_client().get(f"/api/recordings/{sid}", headers=KEY).status_code == 404
    assert [(s.csat, s.extreme_low) for s in rows(app, Score)] == [(1, True), (5, False)]


def _found(needle: str) -> list[str]:
    """Every table.column whose text (JSON included) contains `needle`."""
    hits = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, String | Text | JSON):
                continue
            for value in db.session.scalars(select(column).where(column.is_not(None))):
                if needle.lower() in json.dumps(value, ensure_ascii=False).lower():
                    hits.append(f"{table.name}.{column.name}")
                    break
    return hits
