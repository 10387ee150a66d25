"""The supervisor's callback inbox and task pages in a real browser, on each database."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from ivr.extensions import db
from ivr.jobs.scheduled import escalate_task
from ivr.models import CallbackTask
from ivr.services.closed_loop import inbox
from ivr.services.organisation import teams as organisation
from tests.helpers import ALICE, LOW, Twilio, make_user, set_up_team, sign_in

CALLER = "+15551230042"


def _task_from_a_call(app: Flask, start: str = ALICE, caller: str = CALLER) -> int:
    """A whole simulated call with an extreme low score, which opens a callback task."""
    Twilio(app, app.test_client()).play(start, LOW, from_number=caller)
    with app.app_context():
        task_id = db.session.scalar(db.select(CallbackTask.id).order_by(CallbackTask.id.desc()))
    assert task_id is not None
    return task_id


def test_a_supervisor_claims_and_closes_a_task_and_a_close_without_a_root_cause_is_refused(
    app: Flask, live_server: str, page: Page
) -> None:
    set_up_team(app)
    task_id = _task_from_a_call(app)
    sign_in(page, live_server, "sam@example.com")
    expect(page.get_by_role("heading", name="Callback inbox")).to_be_visible()
    page.get_by_role("link", name=re.compile(rf"Task {task_id}")).click()
    expect(page.get_by_role("heading", name=f"Task {task_id}: alice")).to_be_visible()

    page.get_by_role("button", name="Claim").click()
    expect(page.get_by_text("You claimed this task")).to_be_visible()
    expect(page.get_by_text("Claimed by Sam.")).to_be_visible()

    page.get_by_label("Outcome").select_option("resolved")
    page.get_by_role("button", name="Close task").click()
    root_cause = page.get_by_label("Root cause")
    expect(root_cause).to_have_attribute("aria-invalid", "true")
    expect(root_cause).to_have_accessible_description("Choose the root cause before closing the task.")
    expect(page.get_by_label("Outcome")).to_have_value("resolved")  # what was chosen stays chosen

    root_cause.select_option("billing")
    page.get_by_label("Notes", exact=True).fill("Refunded the fee, customer happy.")
    page.get_by_role("button", name="Close task").click()
    expect(page.get_by_text("Task closed.")).to_be_visible()
    expect(page).to_have_url(f"{live_server}/tasks/{task_id}")
    history = page.get_by_role("list").filter(has_text="Opened")
    expect(history.get_by_role("listitem").filter(has_text="Claimed")).to_contain_text("by Sam")
    expect(history.get_by_role("listitem").filter(has_text="Closed")).to_contain_text("resolved / billing")
    expect(history.get_by_role("listitem").filter(has_text="Closed")).to_contain_text("by Sam")
    expect(page.get_by_role("button", name="Close task")).to_have_count(0)

    page.get_by_role("link", name="Callback inbox").first.click()
    expect(page.get_by_text("No open callback tasks")).to_be_visible()


def test_a_task_from_a_whole_call_appears_in_an_open_inbox_without_a_reload(
    app: Flask, live_server: str, page: Page
) -> None:
    set_up_team(app)
    sign_in(page, live_server, "sam@example.com")
    expect(page.get_by_text("No open callback tasks")).to_be_visible()
    page.evaluate("window.notReloaded = true")

    task_id = _task_from_a_call(app)

    task = page.get_by_role("listitem").filter(has=page.get_by_role("link", name=f"Task {task_id}: alice"))
    expect(task).to_be_visible(timeout=10_000)  # the inbox polls every 5 s
    expect(task).to_contain_text(re.compile(r"2\d h \d+ min left"))
    expect(task).to_contain_text("Team: Support")
    assert page.evaluate("window.notReloaded") is True


def test_the_inbox_filters_by_status_team_and_agent(app: Flask, live_server: str, page: Page) -> None:
    set_up_team(app)
    with app.app_context():
        organisation.save_agent("carol", team="Support")
    _task_from_a_call(app)
    _task_from_a_call(app, "/voice/survey?agent=carol&queue=billing&lang=en", "+15551230043")
    sign_in(page, live_server, "sam@example.com")
    expect(page.get_by_role("link", name=re.compile(r"Task \d+: (alice|carol)"))).to_have_count(2)

    page.get_by_label("Agent").select_option("carol")
    page.get_by_label("Team").select_option("Support")
    page.get_by_label("Status").select_option("Open")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("link", name=re.compile(r"Task \d+: carol"))).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(r"Task \d+: alice"))).to_have_count(0)

    page.get_by_label("Status").select_option("Claimed")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No open tasks match these filters.")).to_be_visible()


def test_another_teams_task_is_404(app: Flask, live_server: str, page: Page) -> None:
    set_up_team(app)
    with app.app_context():
        organisation.save_supervisor("Pat", email="pat@example.com")
        organisation.save_team("Sales", supervisor="Pat")
        organisation.save_agent("bob", team="Sales")
    make_user(app, "pat@example.com", "supervisor", supervisor="Pat")
    theirs = _task_from_a_call(app, "/voice/survey?agent=bob&queue=sales&lang=en")
    ours = _task_from_a_call(app)

    sign_in(page, live_server, "sam@example.com")
    expect(page.get_by_role("link", name=f"Task {ours}: alice")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(rf"Task {theirs}\b"))).to_have_count(0)
    answer = page.goto(f"{live_server}/tasks/{theirs}")
    assert answer is not None and answer.status == 404
    # Nor can the actions reach it, even with a good CSRF token (from a page Sam may see).
    page.goto(f"{live_server}/tasks/{ours}")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    for action in ("claim", "note", "reassign", "close"):
        answer = page.request.post(
            f"{live_server}/tasks/{theirs}/{action}", form={"csrf_token": token}, max_redirects=0
        )
        assert answer.status == 404, action
    with app.app_context():
        task = db.session.get(CallbackTask, theirs)
        assert task is not None and task.claimed_by is None


def test_a_note_appears_in_the_history_with_its_authors_name(
    app: Flask, live_server: str, page: Page
) -> None:
    set_up_team(app)
    task_id = _task_from_a_call(app)
    sign_in(page, live_server, "morgan@example.com", path=f"/tasks/{task_id}")
    page.get_by_label("Note", exact=True).fill("Left a voicemail, trying again at 3 pm.")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_text("Your note is in the history.")).to_be_visible()
    note = page.get_by_role("listitem").filter(has_text="Left a voicemail, trying again at 3 pm.")
    expect(note).to_contain_text("by Morgan")
    expect(note).to_contain_text("Note")


def test_the_caller_number_is_a_tel_link_with_the_full_number(
    app: Flask, live_server: str, page: Page
) -> None:
    set_up_team(app)
    task_id = _task_from_a_call(app)
    sign_in(page, live_server, "sam@example.com", path=f"/tasks/{task_id}")
    link = page.get_by_role("link", name=CALLER)
    expect(link).to_have_attribute("href", f"tel:{CALLER}")


def test_a_supervisor_reassigns_a_task_within_the_team(app: Flask, live_server: str, page: Page) -> None:
    set_up_team(app)
    task_id = _task_from_a_call(app)
    sign_in(page, live_server, "sam@example.com", path=f"/tasks/{task_id}")
    page.get_by_label("Reassign to").select_option("Morgan")
    page.get_by_role("button", name="Reassign").click()
    expect(page.get_by_text("Reassigned to Morgan.")).to_be_visible()
    expect(page.get_by_role("listitem").filter(has_text="to Morgan")).to_contain_text("by Sam")


def test_a_polled_list_after_the_session_expired_sends_the_whole_page_to_sign_in(app: Flask) -> None:
    answer = app.test_client().get(
        "/tasks/list?status=open",
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/tasks?status=open"},
    )
    assert answer.status_code == 204
    assert answer.headers["HX-Redirect"] == "/login?next=/tasks?status%3Dopen"


def test_a_task_escalated_from_a_team_below_reaches_the_next_supervisor_and_no_other(
    app: Flask, live_server: str, page: Page, browser: Browser
) -> None:
    set_up_team(app)  # Sam runs Support and escalates to Morgan
    with app.app_context():  # beside them, Pat and another team
        organisation.save_supervisor("Pat", email="pat@example.com")
        organisation.save_team("Billing", supervisor="Pat")
    make_user(app, "pat@example.com", "supervisor", supervisor="Pat")
    escalated = _task_from_a_call(app, caller="+15551230051")
    with app.app_context():
        db.session.execute(
            db.update(CallbackTask)
            .where(CallbackTask.id == escalated)
            .values(due_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        db.session.commit()
        assert escalate_task(escalated) is True

    sign_in(page, live_server, "morgan@example.com", path="/tasks")
    row = page.get_by_role("listitem").filter(has=page.get_by_role("link", name=f"Task {escalated}: alice"))
    expect(row).to_contain_text("Escalated 1\u00d7")  # 1 times
    expect(row).to_contain_text("Team: Support")
    expect(row).to_contain_text(re.compile("overdue", re.IGNORECASE))
    row.get_by_role("link", name=f"Task {escalated}: alice").click()
    expect(page.get_by_role("heading", name=f"Task {escalated}: alice")).to_be_visible()
    page.get_by_role("button", name="Claim").click()
    expect(page.get_by_text("Claimed by Morgan.")).to_be_visible()

    pat = browser.new_context().new_page()  # a browser of his own
    sign_in(pat, live_server, "pat@example.com", path="/tasks")
    expect(pat.get_by_text("No open callback tasks")).to_be_visible()
    assert pat.goto(f"{live_server}/tasks/{escalated}").status == 404  # type: ignore[union-attr]


def test_the_inbox_refresh_keeps_the_keyboard_focus_where_it_was(
    app: Flask, live_server: str, page: Page
) -> None:
    set_up_team(app)
    task_id = _task_from_a_call(app)
    sign_in(page, live_server, "sam@example.com", path="/tasks")
    link = page.get_by_role("link", name=f"Task {task_id}: alice")
    link.focus()
    expect(link).to_be_focused()
    with page.expect_response(re.compile(r"/tasks/list")):  # the next 5-second refresh
        pass
    page.wait_for_timeout(200)  # htmx settles the swap
    expect(page.get_by_role("link", name=f"Task {task_id}: alice")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=f"Task {task_id}: alice")).to_be_visible()


def test_the_inbox_shows_the_most_urgent_tasks_a_page_at_a_time(
    app: Flask, live_server: str, page: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox, "PAGE", 2)  # the live server runs in this process
    set_up_team(app)
    first, second, third = (_task_from_a_call(app, caller=f"+1555123006{n}") for n in range(3))
    sign_in(page, live_server, "sam@example.com", path="/tasks")
    expect(page.get_by_text("3 open tasks, overdue first; the 2 most urgent shown.")).to_be_visible()
    for task_id in (first, second):  # the soonest deadlines: the first calls
        expect(page.get_by_role("link", name=f"Task {task_id}: alice")).to_be_visible()
    expect(page.get_by_role("link", name=f"Task {third}: alice")).to_have_count(0)
    page.get_by_role("link", name="Show 1 more").click()
    expect(page.get_by_text("3 open tasks, overdue first.")).to_be_visible()
    expect(page.get_by_role("link", name=f"Task {third}: alice")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("Show .* more"))).to_have_count(0)
