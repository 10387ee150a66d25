"""The flow studio in a real browser: an admin edits, checks, publishes and rolls back a flow;
calls through the signed webhooks hear what was published; nobody else sees the pages."""

from __future__ import annotations

import hashlib
import io
import re
import wave

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from ivr.extensions import db
from ivr.models import FlowVersion, SurveyResponse
from ivr.services.flow_studio import drafts
from tests.helpers import ALICE, Twilio, make_user, says, set_up_team, sign_in

ADMIN = "root@example.com"
FLOW = "post-call-csat"
OLD_NPS = "How likely are you to recommend us to a friend, from 0 to 10?"
NEW_NPS = "Would you recommend us? Press or say a number from 0 to 10."
FLOW_PAGES = [
    "/flows",
    f"/flows/{FLOW}",
    f"/flows/{FLOW}/draft",
    f"/flows/{FLOW}/diff",
    f"/flows/{FLOW}/try",
]


def _pinned(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {r.survey_call_sid: r.flow_version.version for r in db.session.scalars(select(SurveyResponse))}


def test_an_admin_publishes_a_new_question_text_then_rolls_it_back(
    app: Flask, live_server: str, page: Page, twilio: Twilio
) -> None:
    make_user(app, ADMIN, "admin")
    # A survey under way before the publish: it has heard the CSAT question.
    _, opened = twilio.post(ALICE, {"CallSid": "CA-before"})
    action = opened.find("Gather").get("action")  # type: ignore[union-attr]

    sign_in(page, live_server, ADMIN)
    page.get_by_role("link", name="Flows").click()
    row = page.get_by_role("row", name=re.compile("Post-call satisfaction"))
    expect(row.get_by_role("cell", name="version 1")).to_be_visible()
    row.get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", name=f"Edit {FLOW}")).to_be_visible()
    question = page.get_by_label("nps.question (en)")
    expect(question).to_have_value(re.compile(re.escape(OLD_NPS)))
    question.fill(NEW_NPS)
    page.get_by_label("Change note").fill("A shorter NPS question")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Version 2 published")).to_be_visible()
    versions = page.get_by_role("table", name="Every published version, newest first")
    expect(versions.get_by_role("row", name=re.compile("^2 \\(published\\)"))).to_contain_text(
        "A shorter NPS question"
    )
    log = page.get_by_role("table", name="Who saved, published or rolled back this flow")
    expect(log.get_by_role("row", name=re.compile(f"{ADMIN} publish A shorter NPS question"))).to_be_visible()

    # A whole call after the publish hears the new text and pins version 2.
    _, after = twilio.play(ALICE, ["5", "9", "1", "!"], call_sid="CA-after")
    assert NEW_NPS in after.heard and OLD_NPS not in " ".join(after.heard)
    # The survey that started before goes on with version 1.
    _, moved = twilio.post(action, {"CallSid": "CA-before", "Digits": "4"})
    assert moved is not None and OLD_NPS in " ".join(says(moved))
    assert _pinned(app) == {"CA-before": 1, "CA-after": 2}

    # The diff shows the changed prompt.
    page.get_by_role("link", name="Compare versions").click()
    expect(page.get_by_role("cell", name=NEW_NPS)).to_be_visible()
    page.go_back()

    page.get_by_role("button", name="Roll back to version 1").click()
    expect(page.get_by_text("Version 1 republished as version 3")).to_be_visible()
    expect(
        log.get_by_role("row", name=re.compile(f"{ADMIN} rollback rolled back to version 1"))
    ).to_be_visible()
    _, rolled = twilio.play(ALICE, ["5", "!"], call_sid="CA-rolled-back")
    assert any(OLD_NPS in heard for heard in rolled.heard)
    assert _pinned(app)["CA-rolled-back"] == 3


def test_a_condition_on_a_later_step_shows_on_that_step_and_cannot_be_published(
    app: Flask, live_server: str, page: Page
) -> None:
    make_user(app, ADMIN, "admin")
    sign_in(page, live_server, ADMIN, path=f"/flows/{FLOW}/draft")
    document = page.get_by_label("Flow document (YAML)")
    expect(page.get_by_text("No problems: this draft can be published.")).to_be_visible()
    page.wait_for_load_state("load")  # htmx (a deferred script) listens from here on
    page.wait_for_function("() => window.htmx !== undefined")
    document.fill(document.input_value().replace("when: resolved == no", "when: comment == 'recorded'"))
    # Checked as it is typed: listed with its step and field, and shown on the step itself.
    problems = page.get_by_role("list", name="Problems")
    expect(problems).to_contain_text(
        "Error · step unresolved_reason · field when: condition refers to later step 'comment'",
        timeout=15_000,  # the check waits for a pause in typing, then asks the server
    )
    expect(page.get_by_role("listitem", name="Step unresolved_reason")).to_contain_text(
        "when: condition refers to later step 'comment'"
    )
    page.get_by_label("Change note").fill("Ask why only after the comment")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_label("Flow document (YAML)")).to_have_accessible_description(
        re.compile("The draft has 1 error")
    )
    with app.app_context():
        assert len(db.session.scalars(select(FlowVersion)).all()) == 1
    # The broken draft was saved: it is there for whoever fixes it.
    page.goto(f"{live_server}/flows")
    expect(page.get_by_role("link", name=f"draft by {ADMIN}")).to_be_visible()


def test_an_admin_adds_moves_and_removes_a_step(app: Flask, live_server: str, page: Page) -> None:
    make_user(app, ADMIN, "admin")
    sign_in(page, live_server, ADMIN, path=f"/flows/{FLOW}/draft")
    page.get_by_label("Step key").fill("callback_ok")
    page.get_by_label("Kind").select_option("yes_no")
    page.get_by_role("button", name="Add step").click()
    expect(page.get_by_text("Step callback_ok added at the end")).to_be_visible()
    # Its prompt has no text yet: the translation is missing in both languages.
    expect(page.get_by_label("callback_ok.question (es)")).to_have_accessible_description("Missing in es")
    expect(page.get_by_role("list", name="Problems")).to_contain_text(
        "unknown prompt key 'callback_ok.question'"
    )
    page.get_by_label("callback_ok.question (en)").fill("May we call you back? Press 1 for yes, 2 for no.")
    page.get_by_role("button", name="Move callback_ok up").click()
    expect(page.get_by_text("Step callback_ok moved up.")).to_be_visible()
    steps = page.get_by_role("listitem", name=re.compile("^Step "))
    expect(steps.nth(7)).to_have_accessible_name("Step callback_ok")
    expect(page.get_by_role("list", name="Problems")).to_contain_text(
        "prompt 'callback_ok.question' is missing in language(s) es"
    )
    page.get_by_role("button", name="Remove callback_ok").click()
    expect(page.get_by_text("Step callback_ok removed.")).to_be_visible()
    expect(page.get_by_text("No problems: this draft can be published.")).to_be_visible()


@pytest.mark.parametrize("role", ["agent", "supervisor"])
def test_agents_and_supervisors_get_404_on_every_flow_page(
    app: Flask, role: str, page: Page, live_server: str
) -> None:
    set_up_team(app)
    email = f"{role}@example.com"
    make_user(
        app,
        email,
        role,
        agent="alice" if role == "agent" else None,
        supervisor="Sam" if role == "supervisor" else None,
    )
    sign_in(page, live_server, email)
    expect(page.get_by_role("link", name="Flows")).to_have_count(0)
    for path in FLOW_PAGES:
        answer = page.request.get(live_server + path)
        assert answer.status == 404, path
    # Every POST too, with every role: tests/test_policy.py walks the routes.


def test_trying_a_draft_gives_the_answers_and_score_of_a_whole_call(
    app: Flask, live_server: str, page: Page, twilio: Twilio
) -> None:
    make_user(app, ADMIN, "admin")
    sign_in(page, live_server, ADMIN, path=f"/flows/{FLOW}/draft")
    page.get_by_label("nps.question (en)").fill(NEW_NPS)
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    page.goto(f"{live_server}/flows/{FLOW}")
    page.get_by_role("link", name="Try it").click()
    page.get_by_label("Version to try").select_option("draft")
    page.get_by_label("Language").select_option("en")
    for key in ["1", "2", "1"]:
        page.get_by_role("button", name=f"Press {key}").click()
    page.get_by_role("button", name="Hang up").click()
    expect(page.get_by_label("Caller's answers")).to_have_value("1 2 1 hangup")
    page.get_by_role("button", name="Call").click()
    expect(page.get_by_role("list", name="Turns")).to_contain_text(NEW_NPS)
    shown = page.get_by_role("table", name="The test response's answers").get_by_role("row")
    expect(shown).to_have_count(4)
    panel = [row.split("\t")[:2] for row in shown.all_inner_texts()[1:]]
    decision = page.get_by_label("Scoring decision")
    expect(decision).to_contain_text(re.compile(r"Extreme low\s*yes"))
    expect(decision).to_contain_text("due within 24 hours")

    # The same answers through a whole call on the published flow: the same answers and score.
    twilio.play(ALICE, ["1", "2", "1", "!"], call_sid="CA-real")
    with app.app_context():
        real = db.session.scalar(select(SurveyResponse).filter_by(survey_call_sid="CA-real"))
        assert real is not None and real.score is not None and real.score.extreme_low
        assert panel == [[a.step_key, a.value] for a in real.answers]
        expect(decision).to_contain_text(re.compile(rf"CSAT\s*{real.score.csat}\s*NPS"))
        expect(decision).to_contain_text(re.compile(rf"NPS\s*{real.score.nps}\s*Resolved"))
        tried = db.session.scalars(select(SurveyResponse).where(SurveyResponse.is_test)).all()
        assert [(r.flow_version.flow_key, r.score) for r in tried] == [(f"{FLOW}.draft", None)]


def _wav(seconds: float) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(1)
        sound.setframerate(8000)
        sound.writeframes(b"\x80" * int(8000 * seconds))
    return buffer.getvalue()


def test_an_uploaded_recording_is_played_then_removed_for_text_to_speech(
    app: Flask, live_server: str, page: Page, twilio: Twilio
) -> None:
    make_user(app, ADMIN, "admin")
    sign_in(page, live_server, ADMIN, path=f"/flows/{FLOW}/draft")
    expect(page.get_by_text("No recordings: every prompt is spoken")).to_be_visible()
    page.get_by_label("Prompt", exact=True).select_option("csat.question")
    page.get_by_label("Language of the recording").select_option("en")
    upload = page.get_by_label("Recording (MP3 or WAV)")
    # Not a recording at all, then one too long: refused, the reason next to the field.
    upload.set_input_files(
        files=[{"name": "csat.mp3", "mimeType": "audio/mpeg", "buffer": b"not an mp3" * 100}]
    )
    page.get_by_role("button", name="Upload recording").click()
    expect(page.get_by_label("Recording (MP3 or WAV)")).to_have_accessible_description(
        re.compile("This is not a MP3 file that can be played")
    )
    page.get_by_label("Prompt", exact=True).select_option("csat.question")
    page.get_by_label("Recording (MP3 or WAV)").set_input_files(
        files=[{"name": "long.wav", "mimeType": "audio/wav", "buffer": _wav(150)}]
    )
    page.get_by_role("button", name="Upload recording").click()
    expect(page.get_by_label("Recording (MP3 or WAV)")).to_have_accessible_description(
        re.compile("lasts 150.0 seconds")
    )
    recording = _wav(1.5)
    page.get_by_label("Prompt", exact=True).select_option("csat.question")
    page.get_by_label("Recording (MP3 or WAV)").set_input_files(
        files=[{"name": "csat.wav", "mimeType": "audio/wav", "buffer": recording}]
    )
    page.get_by_role("button", name="Upload recording").click()
    expect(page.get_by_text("Recording of csat.question (en) uploaded")).to_be_visible()
    expect(page.get_by_label("Recording of csat.question (en)")).to_be_visible()
    page.get_by_label("Change note").fill("A recorded CSAT question")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Version 2 published")).to_be_visible()

    # The next call plays it: <Play> with a URL that serves the very bytes uploaded.
    _, first = twilio.post(ALICE, {"CallSid": "CA-recorded"})
    assert first is not None
    plays = [node.text or "" for node in first.iter("Play")]
    digest = hashlib.sha256(recording).hexdigest()
    assert len(plays) == 1 and f"/voice/prompts/en/{digest}.wav?v={digest[:12]}" in plays[0]
    assert not any("How satisfied were you" in text for text in says(first))
    served = twilio.client.get(plays[0].removeprefix("http://localhost"))
    assert served.status_code == 200 and served.data == recording and served.mimetype == "audio/wav"

    # Removed: spoken again from the next publish.
    page.goto(f"{live_server}/flows/{FLOW}/draft")
    page.get_by_role("button", name="Remove recording of csat.question (en)").click()
    expect(page.get_by_text("No recordings: every prompt is spoken")).to_be_visible()
    page.get_by_label("Change note").fill("Back to text-to-speech")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Version 3 published")).to_be_visible()
    _, spoken = twilio.post(ALICE, {"CallSid": "CA-spoken"})
    assert spoken is not None and not list(spoken.iter("Play"))
    assert any("How satisfied were you" in text for text in says(spoken))


def test_the_phone_panel_speaks_words_and_records_a_comment_with_its_transcript(
    app: Flask, live_server: str, page: Page
) -> None:
    make_user(app, ADMIN, "admin")
    sign_in(page, live_server, ADMIN, path=f"/flows/{FLOW}/try")
    page.get_by_label("Version to try").select_option("1")
    page.get_by_label("Language").select_option("en")
    page.get_by_label("Words spoken").fill("very satisfied")
    page.get_by_label("Confidence").fill("0.8")
    page.get_by_role("button", name="Speak").click()
    page.get_by_label("Words spoken").fill("nine")
    page.get_by_role("button", name="Speak").click()
    page.get_by_role("button", name="Press 1").click()
    page.get_by_label("Length in seconds").fill("12")
    page.get_by_label("Transcript").fill("The agent was quick")
    page.get_by_role("button", name="Record", exact=True).click()
    expect(page.get_by_label("Caller's answers")).to_have_value(
        '"say:very satisfied@0.8" say:nine@0.8 1 "rec:12:The agent was quick"'
    )
    page.get_by_role("button", name="Call").click()
    answers = page.get_by_role("table", name="The test response's answers").get_by_role("row")
    expect(answers).to_have_count(5)
    rows = [row.split("\t") for row in answers.all_inner_texts()[1:]]
    assert rows[0] == ["csat", "5", "very satisfied", "0.80", "—"]
    assert rows[1] == ["nps", "9", "nine", "0.80", "—"]
    assert rows[2][:2] == ["resolved", "yes"]
    assert rows[3][0] == "comment" and rows[3][4] == "12 s: The agent was quick"
    with app.app_context():
        tried = db.session.scalar(select(SurveyResponse).where(SurveyResponse.is_test))
        assert tried is not None and tried.flow_version.version == 1
        [comment] = tried.recordings
        assert (comment.duration_seconds, comment.transcript) == (12, "The agent was quick")


def test_an_admin_edits_a_steps_fields_and_texts_in_its_form_checked_as_typed(
    app: Flask, live_server: str, page: Page
) -> None:
    make_user(app, ADMIN, "admin")
    sign_in(page, live_server, ADMIN, path=f"/flows/{FLOW}/draft")
    page.get_by_role("link", name="Edit nps").click()
    expect(page.get_by_role("heading", name="Step nps")).to_be_visible()
    expect(page.get_by_label("max", exact=True)).to_have_value("10")
    page.get_by_label("min", exact=True).fill("11")
    # Checked as typed: the problem is shown next to its field, nothing saved yet.
    expect(page.get_by_text("impossible range: min 11 must be below max 10")).to_be_visible()
    expect(page.get_by_label("min", exact=True)).to_have_accessible_description(
        re.compile("impossible range")
    )
    page.get_by_label("when", exact=True).fill("resolved == no")
    expect(page.get_by_text("condition refers to later step 'resolved'")).to_be_visible()
    page.get_by_label("when", exact=True).fill("csat <= 3")
    page.get_by_label("min", exact=True).fill("0")
    expect(page.get_by_text("impossible range")).to_have_count(0)
    page.get_by_label("nps.question (en)").fill(NEW_NPS)
    page.get_by_label("speech", exact=True).uncheck()
    page.get_by_role("button", name="Save step").click()
    expect(page.get_by_text("Step saved into the draft.")).to_be_visible()
    with app.app_context():
        draft = drafts.draft(FLOW)
        assert draft.problems == [] or all(not p.is_error for p in draft.problems)
        nps = next(s for s in draft.document["steps"] if s["key"] == "nps")  # type: ignore[index]
        assert (nps["when"], nps["min"], nps["max"], nps.get("speech", False)) == ("csat <= 3", 0, 10, False)
        assert draft.prompts["en"]["nps.question"] == NEW_NPS
