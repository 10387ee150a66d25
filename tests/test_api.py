"""The JSON read API behind bearer keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from ivr.extensions import db
from ivr.models import CallbackTask
from tests.helpers import API_KEY, Twilio, set_up_team

START = "/voice/survey?agent=alice&queue=billing&lang=en"


def get(client: FlaskClient, path: str, key: str | None = API_KEY):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.get(path, headers=headers)


def test_without_a_key_or_with_a_wrong_key_is_401(client: FlaskClient) -> None:
    for key in (None, "wrong", "dev-api-key"):  # the dev key only works in development
        response = get(client, "/api/responses", key)
        assert response.status_code == 401
        assert response.json == {"error": "unauthorized", "message": "send 'Authorization: Bearer <API key>'"}


def test_response_by_call_sid_has_everything_an_integrator_needs(
    app: Flask, client: FlaskClient, twilio: Twilio
) -> None:
    _call, _ = twilio.play(
        START + "&call=CA-support", ["1", "3", "2", "9", "1", "rec:5"], call_sid="CA-survey-leg"
    )
    twilio.play(START, ["5", "!"])  # another call, not returned

    body = get(client, "/api/responses?call_sid=CA-support").json
    [response] = body["responses"]
    assert body["next_before_id"] is None
    assert response["call_sid"] == "CA-support" and response["survey_call_sid"] == "CA-survey-leg"
    assert response["caller"] == "+•••••••0006"  # the simulator's +15005550006, masked
    assert (response["agent"], response["agent_chain"], response["queue"]) == ("alice", ["alice"], "billing")
    assert response["flow"] == {"id": "post-call-csat", "version": 1}
    assert (response["language"], response["disposition"]) == ("en", "completed")
    assert [(a["step"], a["raw_input"], a["value"], a["status"]) for a in response["answers"]] == [
        ("csat", "1", 1, "answered"),
        ("nps", "3", 3, "answered"),
        ("resolved", "2", "no", "answered"),
        ("unresolved_reason", "1", "still_waiting", "answered"),
        ("comment", response["recordings"][0]["recording_sid"], "recorded", "answered"),
    ]
    [recording] = response["recordings"]
    assert recording["audio_url"] == f"/api/recordings/{recording['recording_sid']}"
    assert (recording["duration_seconds"], recording["transcript_status"]) == (5, "failed")  # none came
    assert response["answers"][3]["no_match_count"] == 1  # the 9 before the 1
    assert response["score"]["extreme_low"] is True and response["score"]["csat"] == 1
    assert response["started_at"].endswith("+00:00")

    by_survey_leg = get(client, "/api/responses?call_sid=CA-survey-leg").json["responses"]
    assert [r["id"] for r in by_survey_leg] == [response["id"]]
    one = get(client, f"/api/responses/{response['id']}")
    assert one.status_code == 200 and one.json == response


def test_missing_response_is_a_json_404(client: FlaskClient) -> None:
    response = get(client, "/api/responses/424242")
    assert response.status_code == 404
    assert response.json["error"] == "not_found"


def test_paging_and_agent_filter(client: FlaskClient, twilio: Twilio) -> None:
    for agent in ("alice", "bob", "alice"):
        twilio.play(START.replace("alice", agent), ["4", "!"])
    page = get(client, "/api/responses?limit=2").json
    assert len(page["responses"]) == 2 and page["next_before_id"] is not None
    rest = get(client, f"/api/responses?limit=2&before_id={page['next_before_id']}").json
    assert len(rest["responses"]) == 1 and rest["next_before_id"] is None
    ids = [r["id"] for r in page["responses"] + rest["responses"]]
    assert ids == sorted(ids, reverse=True)
    assert {r["agent"] for r in get(client, "/api/responses?agent=bob").json["responses"]} == {"bob"}


def test_a_key_created_on_the_command_line_works(app: Flask, client: FlaskClient) -> None:
    result = app.test_cli_runner().invoke(args=["api-keys", "create", "crm"])
    assert result.exit_code == 0
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("ivr_") and len(key) > 30
    assert get(client, "/api/responses", key).status_code == 200
    assert get(client, "/api/responses", key + "x").status_code == 401


def test_callback_tasks_and_feedback_through_the_api(app: Flask, client: FlaskClient, twilio: Twilio) -> None:
    # A CRM that is down: the notification's failed attempt shows on the task.
    set_up_team(app, channels=["webhook"], webhook_url="http://127.0.0.1:9/crm", webhook_secret="s")
    assert get(client, "/api/callback-tasks").json == {"callback_tasks": []}
    twilio.play(START, ["1", "0", "!"], from_number="+15557770001")  # extreme low
    twilio.play("/voice/survey?agent=bob&lang=en", ["2", "1", "!"], from_number="+15557770002")  # extreme low
    twilio.play(START, ["5", "10", "1"])  # praise

    tasks = get(client, "/api/callback-tasks").json["callback_tasks"]
    assert [(t["agent"], t["status"], t["assignee"], t["caller_number"]) for t in tasks] == [
        ("alice", "open", "Sam", "+15557770001"),
        ("bob", "open", None, "+15557770002"),  # bob has no team: the unassigned pool
    ]
    assert tasks[0]["url"] == f"/api/callback-tasks/{tasks[0]['id']}"
    assert [t["agent"] for t in get(client, "/api/callback-tasks?agent=bob").json["callback_tasks"]] == [
        "bob"
    ]
    assert get(client, "/api/callback-tasks?overdue=true").json["callback_tasks"] == []
    with app.app_context():
        db.session.execute(
            update(CallbackTask)
            .where(CallbackTask.id == tasks[1]["id"])
            .values(due_at=datetime.now(UTC) - timedelta(hours=1))
        )
        db.session.commit()
    overdue = get(client, "/api/callback-tasks?overdue=true").json["callback_tasks"]
    assert [t["id"] for t in overdue] == [tasks[1]["id"]]
    assert get(client, "/api/callback-tasks?status=closed").status_code == 400
    one = get(client, tasks[0]["url"])
    assert (
        one.json["response_url"] == f"/api/responses/{one.json['response_id']}"
        and one.json["team"] == "Support"
    )
    assert [(a["step"], a["value"]) for a in one.json["answers"]] == [("csat", 1), ("nps", 0)]
    assert one.json["agent_chain"] == ["alice"]
    assert [h["action"] for h in one.json["history"]] == ["opened"]
    [note] = one.json["notifications"]
    assert (note["event"], note["channel"], note["recipient"]) == (
        "task_opened",
        "webhook",
        "http://127.0.0.1:9/crm",
    )
    assert (note["status"], note["attempts"]) == ("failed", 1) and "refused" in note["last_error"]
    assert get(client, "/api/callback-tasks/999").status_code == 404

    feedback = get(client, "/api/agents/alice/feedback").json
    assert [(f["kind"], f["csat"], f["nps"]) for f in feedback["feedback"]] == [
        ("praise", 5, 10),
        ("low", 1, 0),
    ]
    assert get(client, "/api/agents/nobody/feedback").status_code == 404
    assert get(client, "/api/agents/alice/feedback", key=None).status_code == 401

    low = get(client, "/api/responses").json["responses"][-1]  # newest first: alice's low score is last
    assert low["feedback_item"]["kind"] == "low"
    assert low["callback_task"]["id"] == tasks[0]["id"] and low["callback_task"]["status"] == "open"
    assert low["score"]["csat_bottom_box"] is True
