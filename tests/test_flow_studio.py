"""Flows in the database: import and export (byte-stable), drafts checked with every problem,
publish, the version a survey pins, rollback, diff and the audit log."""

from __future__ import annotations

import filecmp
import hashlib
import io
import wave
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from ivr.extensions import db
from ivr.flows import CompiledFlow
from ivr.models import FlowAuditEntry, FlowVersion, SurveyResponse
from ivr.services.errors import Conflict
from ivr.services.flow_studio import drafts
from ivr.services.insight import responses
from ivr.services.policy import OPERATOR
from tests.helpers import ALICE, Twilio, rows, says

ROOT = Path(__file__).resolve().parent.parent
FLOW = "post-call-csat"
OLD = "How satisfied were you with the agent who helped you?"
NEW = "On a scale of 1 to 5, how happy are you with your agent?"
OLD_NPS = "How likely are you to recommend us to a friend, from 0 to 10?"
NEW_NPS = "Would you recommend us? Press or say a number from 0 to 10."


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()
    }


def test_export_then_import_round_trips_byte_for_byte(app: Flask, tmp_path: Path) -> None:
    cli = app.test_cli_runner()
    first = cli.invoke(args=["flows", "import"])
    assert first.exit_code == 0 and f"{FLOW}: published as version 1" in first.output, first.output
    assert "routing: published as version 1" in first.output
    assert cli.invoke(args=["flows", "export", str(tmp_path / "a")]).exit_code == 0
    again = cli.invoke(args=["flows", "import", str(tmp_path / "a")])
    assert again.exit_code == 0 and f"{FLOW}: unchanged (version 1)" in again.output, again.output
    assert "routing: unchanged (version 1)" in again.output
    assert cli.invoke(args=["flows", "export", str(tmp_path / "b")]).exit_code == 0
    a, b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert sorted(a) == [
        "callflows/follow-up.yaml",
        "callflows/post-call-csat.yaml",
        "callflows/routing/queues.yaml",
        "prompts/en/follow-up.yaml",
        "prompts/en/language.yaml",
        "prompts/en/post-call-csat.yaml",
        "prompts/en/sms.yaml",
        "prompts/en/speech.yaml",
        "prompts/es/follow-up.yaml",
        "prompts/es/language.yaml",
        "prompts/es/post-call-csat.yaml",
        "prompts/es/sms.yaml",
        "prompts/es/speech.yaml",
    ]
    assert a == b
    # The routing is exported as it was written, comments and all.
    assert a["callflows/routing/queues.yaml"] == (ROOT / "callflows" / "routing" / "queues.yaml").read_bytes()
    assert not filecmp.dircmp(tmp_path / "a", tmp_path / "b").diff_files
    # An edited export imports as a new version, and exports with the edit.
    prompts = tmp_path / "a" / "prompts" / "en" / "post-call-csat.yaml"
    prompts.write_text(prompts.read_text().replace(OLD, NEW))
    third = cli.invoke(args=["flows", "import", str(tmp_path / "a")])
    assert f"{FLOW}: published as version 2" in third.output, third.output
    assert cli.invoke(args=["flows", "export", str(tmp_path / "c")]).exit_code == 0
    assert _tree(tmp_path / "c") == _tree(tmp_path / "a")


def test_import_lists_every_problem_and_publishes_nothing(app: Flask, tmp_path: Path) -> None:
    cli = app.test_cli_runner()
    assert cli.invoke(args=["flows", "export", str(tmp_path)]).exit_code == 0  # nothing yet
    cli.invoke(args=["flows", "import"])
    cli.invoke(args=["flows", "export", str(tmp_path)])
    path = tmp_path / "callflows" / f"{FLOW}.yaml"
    text = path.read_text().replace("when: resolved == no", "when: comment == 'recorded'")
    path.write_text(text.replace("prompt: nps.question", "prompt: nps.unknown"))
    result = cli.invoke(args=["flows", "import", str(tmp_path)])
    assert result.exit_code == 1
    assert "step 'unresolved_reason': field 'when': condition refers to later step 'comment'" in result.output
    assert "step 'nps': field 'prompt': unknown prompt key 'nps.unknown'" in result.output
    assert len([v for v in rows(app, FlowVersion) if v.flow_key == FLOW]) == 1


def test_a_publish_reaches_new_calls_while_running_surveys_keep_their_version(
    app: Flask, twilio: Twilio
) -> None:
    _, opened = twilio.post(ALICE, {"CallSid": "CA-before"})
    assert opened is not None
    action = opened.find("Gather").get("action")  # type: ignore[union-attr]
    with app.app_context():
        drafts.save_draft(FLOW, None, {"en": {"nps.question": NEW_NPS}}, OPERATOR)
        assert drafts.draft(FLOW).problems == []
        version = drafts.publish(FLOW, "Shorter NPS question", OPERATOR)
        assert version.version == 2
        # The survey by text survives a publish from the studio, which edits spoken texts only.
        texted = CompiledFlow.from_definition(drafts.version(FLOW, 1).definition).sms
        assert texted and CompiledFlow.from_definition(version.definition).sms == texted
    _, after = twilio.play(ALICE, ["5", "9", "1", "!"], call_sid="CA-after")
    assert any(heard.startswith(NEW_NPS) for heard in after.heard)
    assert not any(OLD_NPS in heard for heard in after.heard)
    # The survey started before the publish goes on with version 1: the old NPS question.
    _, moved = twilio.post(action, {"CallSid": "CA-before", "Digits": "4"})
    assert moved is not None and OLD_NPS in " ".join(says(moved))
    with app.app_context():
        pinned = {
            r.survey_call_sid: r.flow_version.version for r in db.session.scalars(select(SurveyResponse))
        }
    assert pinned == {"CA-before": 1, "CA-after": 2}

    with app.app_context():
        back = drafts.rollback(FLOW, 1, "", OPERATOR)
        assert back.version == 3 and back.content_hash == drafts.version(FLOW, 1).content_hash
        diff = drafts.diff(FLOW, 1, 2)
        assert [(c.language, c.key, c.after) for c in diff.prompts] == [("en", "nps.question", NEW_NPS)]
        assert diff.steps == []
        log = [(e.action.value, e.actor) for e in rows(app, FlowAuditEntry)]
        assert log == [
            ("save", "the command line"),
            ("publish", "the command line"),
            ("rollback", "the command line"),
        ]
    _, rolled = twilio.play(ALICE, ["5", "!"], call_sid="CA-rolled-back")
    assert any(OLD_NPS in heard for heard in rolled.heard)


def test_a_condition_on_a_later_step_is_an_error_on_that_step_and_blocks_publish(app: Flask) -> None:
    with app.app_context():
        draft = drafts.draft(FLOW)
        broken = draft.yaml_text.replace("when: resolved == no", "when: comment == 'recorded'")
        broken = broken.replace("prompt: nps.question", "prompt: nps.unknown")
        saved = drafts.save_draft(FLOW, broken, None, OPERATOR)
        found = [(p.step, p.field, p.message) for p in saved.errors]
        assert (
            "unresolved_reason",
            "when",
            "condition refers to later step 'comment'; it can only use earlier answers",
        ) in found
        assert ("nps", "prompt", "unknown prompt key 'nps.unknown'") in found
        with pytest.raises(Conflict, match="error"):
            drafts.publish(FLOW, "try", OPERATOR)
        assert len([v for v in rows(app, FlowVersion) if v.flow_key == FLOW]) == 1


def test_flask_simulate_tries_an_old_version_as_a_test_response(app: Flask, live_server: str) -> None:
    with app.app_context():
        drafts.save_draft(FLOW, None, {"en": {"nps.question": NEW_NPS}}, OPERATOR)
        drafts.publish(FLOW, "Shorter NPS question", OPERATOR)
    result = app.test_cli_runner().invoke(
        args=[
            "simulate",
            "--url",
            live_server,
            "--flow-version",
            "1",
            "--keys",
            "1 0 2 !",
            "--call-sid",
            "CA-try",
        ]
    )
    assert result.exit_code == 0, result.output
    assert f"  caller hears: {OLD_NPS}" in " ".join(result.output.splitlines())
    assert "test response" in result.output
    with app.app_context():
        response = db.session.scalar(select(SurveyResponse).filter_by(survey_call_sid="CA-try"))
        assert response is not None and response.is_test and response.flow_version.version == 1
        assert response.scored_at is not None and response.score is None  # scored, nothing written
        assert responses.find_responses(OPERATOR) == []  # in no list
    wrong = app.test_cli_runner().invoke(args=["simulate", "--url", live_server, "--flow-version", "9"])
    assert wrong.exit_code != 0 and "has no version 9" in wrong.output


def _wav(seconds: float, pitch: int = 0) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(1)
        sound.setframerate(8000)
        sound.writeframes(bytes([128 + pitch]) * int(8000 * seconds))
    return buffer.getvalue()


def test_recorded_prompts_are_exported_and_imported_byte_for_byte(app: Flask, tmp_path: Path) -> None:
    cli = app.test_cli_runner()
    cli.invoke(args=["flows", "import"])
    source = tmp_path / "source"
    assert cli.invoke(args=["flows", "export", str(source)]).exit_code == 0
    (source / "prompts" / "en" / "audio").mkdir()
    welcome = _wav(0.5)
    (source / "prompts" / "en" / "audio" / "csat.question.wav").write_bytes(welcome)
    (source / "prompts" / "es" / "audio").mkdir()
    (source / "prompts" / "es" / "audio" / "nps.question.wav").write_bytes(_wav(0.8, 3))
    first = cli.invoke(args=["flows", "import", str(source)])
    assert first.exit_code == 0 and f"{FLOW}: published as version 2" in first.output, first.output
    # The recording lives in the database now: played on any machine, named by its content.
    digest = hashlib.sha256(welcome).hexdigest()
    with app.app_context():
        compiled = CompiledFlow.from_definition(drafts.version(FLOW, 2).definition)
        assert compiled.audio["en"] == {"csat.question": f"{digest}.wav?v={digest[:12]}"}
    assert app.test_client().get(f"/voice/prompts/en/{digest}.wav").data == welcome

    assert cli.invoke(args=["flows", "export", str(tmp_path / "a")]).exit_code == 0
    a = _tree(tmp_path / "a")
    assert a["prompts/en/audio/csat.question.wav"] == welcome
    assert a["prompts/es/audio/nps.question.wav"] == _wav(0.8, 3)
    assert not [name for name in a if "/audio/" in name and "question.wav" not in name]
    again = cli.invoke(args=["flows", "import", str(tmp_path / "a")])
    assert again.exit_code == 0 and f"{FLOW}: unchanged (version 2)" in again.output, again.output
    assert cli.invoke(args=["flows", "export", str(tmp_path / "b")]).exit_code == 0
    assert _tree(tmp_path / "b") == a
    # A changed recording is a new version, and exports with the change.
    (tmp_path / "a" / "prompts" / "en" / "audio" / "csat.question.wav").write_bytes(_wav(0.6))
    third = cli.invoke(args=["flows", "import", str(tmp_path / "a")])
    assert f"{FLOW}: published as version 3" in third.output, third.output
    assert cli.invoke(args=["flows", "export", str(tmp_path / "c")]).exit_code == 0
    assert _tree(tmp_path / "c") == _tree(tmp_path / "a")
