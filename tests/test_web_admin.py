"""The admin pages in a real browser: users, supervisors, teams and agents, and who may not see them."""

from __future__ import annotations

import re

from flask import Flask
from playwright.sync_api import Browser, Page, expect

from ivr.extensions import db
from ivr.models import Agent, CallbackTask, Supervisor, Team, User
from ivr.services.organisation import users
from tests.helpers import ALICE, LOW, PASSWORD, Twilio, make_user, rows, set_up_team, sign_in

ADMIN = "root@example.com"
ADMIN_LISTS = ["/admin/users", "/admin/supervisors", "/admin/teams", "/admin/agents"]


def _admin_pages(app: Flask) -> list[str]:
    """Every admin page, the edit pages of rows that exist (a 404 must not be for a missing row)."""
    (supervisor, *_), (team,), (agent,) = rows(app, Supervisor), rows(app, Team), rows(app, Agent)
    (user, *_) = rows(app, User)
    edits = [
        f"/admin/supervisors/{supervisor.id}",
        f"/admin/teams/{team.id}",
        f"/admin/agents/{agent.id}",
        f"/admin/users/{user.id}",
    ]
    return [*ADMIN_LISTS, *(path + "/new" for path in ADMIN_LISTS), *edits]


def test_an_admin_creates_an_agent_user_who_can_then_sign_in(
    app: Flask, live_server: str, browser: Browser
) -> None:
    set_up_team(app)
    make_user(app, ADMIN, "admin")
    admin = browser.new_context().new_page()
    sign_in(admin, live_server, ADMIN)
    admin.get_by_role("link", name="New user").click()
    admin.get_by_label("Email").fill("alice@example.com")
    admin.get_by_label("Name", exact=True).fill("Alice Archer")
    admin.get_by_label("Role").select_option("agent")
    admin.get_by_label("Agent reference").fill("alice")
    admin.get_by_label("Password").fill(PASSWORD)
    admin.get_by_role("button", name="Create user").click()
    expect(admin.get_by_text("alice@example.com can now sign in as agent.")).to_be_visible()
    expect(admin.get_by_role("cell", name="Alice Archer")).to_be_visible()

    alice = browser.new_context().new_page()
    sign_in(alice, live_server, "alice@example.com")
    expect(alice.get_by_role("heading", name="My feedback")).to_be_visible()
    expect(alice.get_by_role("link", name="Admin")).to_have_count(0)


def test_a_short_password_is_refused_next_to_the_password_field(
    app: Flask, live_server: str, page: Page
) -> None:
    make_user(app, ADMIN, "admin")
    sign_in(page, live_server, ADMIN, path="/admin/users/new")
    page.get_by_label("Email").fill("ann@example.com")
    page.get_by_label("Role").select_option("analyst")
    page.get_by_label("Password").fill("too short")
    page.get_by_role("button", name="Create user").click()
    password = page.get_by_label("Password")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(password).to_have_accessible_description(re.compile("at least 12 characters"))
    # An agent user without a known agent: the service's reason, next to Agent reference.
    page.get_by_label("Role").select_option("agent")
    page.get_by_label("Agent reference").fill("nobody")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_label("Agent reference")).to_have_accessible_description(
        "An agent user names a known agent; 'nobody' is not one."
    )
    with app.app_context():
        assert users.find("ann@example.com") is None


def test_an_admin_creates_a_supervisor_and_a_team(app: Flask, live_server: str, page: Page) -> None:
    make_user(app, ADMIN, "admin")
    sign_in(page, live_server, ADMIN)
    nav = page.get_by_role("navigation", name="Admin")
    nav.get_by_role("link", name="Supervisors").click()
    expect(page.get_by_text("No supervisors yet.")).to_be_visible()
    page.get_by_role("link", name="New supervisor").click()
    page.get_by_label("Name").fill("Sue Lee")
    page.get_by_label("Email").fill("sue@example.com")
    page.get_by_label("Phone").fill("555")
    page.get_by_role("button", name="Save supervisor").click()
    expect(page.get_by_label("Phone")).to_have_accessible_description(re.compile("E.164"))
    page.get_by_label("Phone").fill("+15550001111")
    page.get_by_role("button", name="Save supervisor").click()
    expect(page.get_by_text("Supervisor Sue Lee is saved.")).to_be_visible()
    expect(page.get_by_role("link", name="Sue Lee")).to_be_visible()

    nav.get_by_role("link", name="Teams").click()
    page.get_by_role("link", name="New team").click()
    page.get_by_label("Name").fill("Billing")
    page.get_by_label("Supervisor").select_option("Sue Lee")
    page.get_by_label("E-mail", exact=True).check()
    page.get_by_label("Webhook (a CRM endpoint)").check()
    page.get_by_label("Pool email").fill("billing@example.com")
    page.get_by_role("button", name="Save team").click()
    # The webhook channel needs its URL and secret: said next to both.
    expect(page.get_by_label("Webhook URL")).to_have_accessible_description(
        "The webhook channel needs a webhook URL and a webhook secret."
    )
    page.get_by_label("Webhook URL").fill("https://crm.example.com/hooks")
    page.get_by_label("Webhook secret").fill("s3cret-s3cret")
    page.get_by_role("button", name="Save team").click()
    expect(page.get_by_text("Team Billing is saved.")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Billing Sue Lee email, webhook"))).to_be_visible()

    # Edit: the secret is kept when left empty; a name already taken is refused next to Name.
    page.get_by_role("link", name="Billing").click()
    expect(page.get_by_label("Webhook secret")).to_have_accessible_description(re.compile("A secret is set"))
    page.get_by_label("Pool phone").fill("+15550002222")
    page.get_by_role("button", name="Save team").click()
    expect(page.get_by_text("Team Billing is saved.")).to_be_visible()
    (team,) = rows(app, Team)
    assert (team.phone, team.webhook_secret, team.channels) == (
        "+15550002222",
        "s3cret-s3cret",
        ["email", "webhook"],
    )
    page.get_by_role("link", name="New team").click()
    page.get_by_label("Name").fill("Billing")
    page.get_by_role("button", name="Save team").click()
    expect(page.get_by_label("Name")).to_have_accessible_description("There is already a team 'Billing'.")


def test_an_admin_creates_and_edits_an_agent(app: Flask, live_server: str, page: Page) -> None:
    set_up_team(app)
    make_user(app, ADMIN, "admin")
    sign_in(page, live_server, ADMIN, path="/admin/agents")
    page.get_by_role("link", name="New agent").click()
    page.get_by_label("Reference").fill("client:bob")
    page.get_by_label("Name").fill("Bob Baker")
    page.get_by_label("Team").select_option("Support")
    page.get_by_label("Every feedback item at once").check()
    page.get_by_role("button", name="Save agent").click()
    expect(page.get_by_role("row", name=re.compile("client:bob Bob Baker Support"))).to_contain_text(
        "immediate"
    )
    page.get_by_role("link", name="client:bob").click()
    expect(page.get_by_label("Every feedback item at once")).to_be_checked()
    page.get_by_label("Team").select_option("")
    page.get_by_role("button", name="Save agent").click()
    expect(page.get_by_role("row", name=re.compile("client:bob Bob Baker"))).to_contain_text("—")


def test_deactivating_a_user_signs_them_out(app: Flask, live_server: str, browser: Browser) -> None:
    make_user(app, ADMIN, "admin")
    make_user(app, "ann@example.com", "analyst")
    ann = browser.new_context().new_page()
    sign_in(ann, live_server, "ann@example.com")
    expect(ann.get_by_role("heading", name="Responses")).to_be_visible()

    admin = browser.new_context().new_page()
    sign_in(admin, live_server, ADMIN)
    expect(admin.get_by_role("button", name=f"Deactivate {ADMIN}")).to_have_count(0)  # not oneself
    admin.get_by_role("button", name="Deactivate ann@example.com").click()
    expect(admin.get_by_text("ann@example.com is deactivated and signed out.")).to_be_visible()
    expect(admin.get_by_role("row", name=re.compile("ann@example.com"))).to_contain_text("deactivated")

    ann.reload()
    expect(ann).to_have_url(re.compile(r"/login"))
    sign_in(ann, live_server, "ann@example.com")
    expect(ann.get_by_text("That e-mail and password do not match an active user.")).to_be_visible()

    admin.get_by_role("button", name="Reactivate ann@example.com").click()
    expect(admin.get_by_text("ann@example.com can sign in again.")).to_be_visible()
    sign_in(ann, live_server, "ann@example.com")
    expect(ann.get_by_role("heading", name="Responses")).to_be_visible()


def test_an_admin_changes_a_users_role_which_applies_at_their_next_request(
    app: Flask, live_server: str, browser: Browser
) -> None:
    set_up_team(app)
    make_user(app, ADMIN, "admin")
    make_user(app, "ann@example.com", "analyst")
    ann = browser.new_context().new_page()
    sign_in(ann, live_server, "ann@example.com")
    expect(ann.get_by_role("heading", name="Responses")).to_be_visible()

    admin = browser.new_context().new_page()
    sign_in(admin, live_server, ADMIN)
    admin.get_by_role("link", name="ann@example.com").click()
    admin.get_by_label("Role").select_option("supervisor")
    admin.get_by_role("button", name="Save user").click()
    # A supervisor user names a supervisor: refused next to that field, nothing saved.
    supervisor = admin.get_by_label("Supervisor name")
    expect(supervisor).to_have_attribute("aria-invalid", "true")
    expect(supervisor).to_have_accessible_description(re.compile("names a known supervisor"))
    supervisor.fill("Sam")
    admin.get_by_label("Name", exact=True).fill("Ann Analyst-Lead")
    admin.get_by_role("button", name="Save user").click()
    expect(admin.get_by_text("ann@example.com is saved.")).to_be_visible()
    expect(admin.get_by_role("row", name=re.compile("ann@example.com"))).to_contain_text("Sam")

    ann.goto(live_server + "/")
    expect(ann.get_by_role("heading", name="Callback inbox")).to_be_visible()

    # A new password ends her other sessions: she signs in again with it.
    admin.get_by_role("link", name="ann@example.com").click()
    admin.get_by_label("New password").fill("a brand-new password 2026")
    admin.get_by_role("button", name="Save user").click()
    expect(admin.get_by_text("ann@example.com is saved.")).to_be_visible()
    ann.goto(live_server + "/tasks")
    expect(ann).to_have_url(re.compile(r"/login"))
    sign_in(ann, live_server, "ann@example.com", password="a brand-new password 2026", path="/tasks")
    expect(ann.get_by_role("heading", name="Callback inbox")).to_be_visible()


def test_the_last_admin_cannot_be_demoted(app: Flask, live_server: str, page: Page) -> None:
    make_user(app, ADMIN, "admin")
    (admin,) = [user for user in rows(app, User) if user.email == ADMIN]
    sign_in(page, live_server, ADMIN, path=f"/admin/users/{admin.id}")
    page.get_by_label("Role").select_option("analyst")
    page.get_by_role("button", name="Save user").click()
    role = page.get_by_label("Role")
    expect(role).to_have_attribute("aria-invalid", "true")
    expect(role).to_have_accessible_description(re.compile("last active admin"))
    with app.app_context():
        assert users.find(ADMIN).role.value == "admin"  # type: ignore[union-attr]


def test_supervisors_and_agents_get_404_on_every_admin_page(app: Flask, live_server: str, page: Page) -> None:
    set_up_team(app)
    make_user(app, "alice@example.com", "agent", agent="alice")
    for email in ("sam@example.com", "alice@example.com"):
        sign_in(page, live_server, email)
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        for path in _admin_pages(app):
            answer = page.goto(live_server + path)
            assert answer is not None and answer.status == 404, (email, path)
        expect(page.get_by_role("link", name="Admin")).to_have_count(0)
        page.context.clear_cookies()


def test_a_deactivated_supervisor_gets_no_new_tasks_and_a_team_with_agents_is_kept(
    app: Flask, live_server: str, page: Page
) -> None:
    set_up_team(app)  # Sam runs Support and escalates to Morgan
    make_user(app, ADMIN, "admin")
    sign_in(page, live_server, ADMIN, path="/admin/supervisors")
    page.get_by_role("button", name="Deactivate Sam").click()
    expect(page.get_by_text("Supervisor Sam is deactivated.")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("^Sam"))).to_contain_text("deactivated")

    # Sam is no longer offered as a team's supervisor, but Support keeps him until changed.
    page.goto(live_server + "/admin/teams/new")
    expect(page.get_by_label("Supervisor").locator("option", has_text="Sam")).to_have_count(0)
    (support,) = rows(app, Team)
    page.goto(f"{live_server}/admin/teams/{support.id}")
    expect(page.get_by_label("Supervisor")).to_have_value("Sam")

    # A low score on Alice's call: the task goes to Morgan, the first active supervisor above Sam.
    Twilio(app, app.test_client()).play(ALICE, LOW)
    (task,) = rows(app, CallbackTask)
    with app.app_context():
        assert db.session.get(CallbackTask, task.id).assignee.name == "Morgan"  # type: ignore[union-attr]

    page.goto(live_server + "/admin/teams")
    page.get_by_role("button", name="Deactivate Support").click()
    expect(
        page.get_by_text("Team Support still has 1 active agent; move them to another team first.")
    ).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("^Support"))).to_contain_text("active")

    page.goto(live_server + "/admin/agents")
    page.get_by_role("button", name="Deactivate alice").click()
    expect(page.get_by_text("Agent alice is deactivated.")).to_be_visible()
    page.goto(live_server + "/admin/teams")
    page.get_by_role("button", name="Deactivate Support").click()
    expect(page.get_by_text("Team Support is deactivated.")).to_be_visible()
    page.get_by_role("button", name="Reactivate Support").click()
    expect(page.get_by_text("Team Support is active again.")).to_be_visible()
