"""Signing in and out in a real browser; sessions, CSRF and the sign-in rate limit."""

from __future__ import annotations

import re

from flask import Flask
from playwright.sync_api import Browser, Page, expect

from tests.helpers import PASSWORD, make_user, set_up_team, sign_in


def test_a_page_reached_without_a_session_asks_for_sign_in_and_comes_back(
    app: Flask, live_server: str, page: Page
) -> None:
    set_up_team(app)
    page.goto(live_server + "/tasks")
    expect(page).to_have_url(re.compile(r"/login\?next=/tasks$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email").fill("sam@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(live_server + "/tasks")
    expect(page.get_by_role("heading", name="Callback inbox")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.goto(live_server + "/tasks")
    expect(page).to_have_url(re.compile(r"/login"))


def test_a_wrong_password_is_said_next_to_the_field(app: Flask, live_server: str, page: Page) -> None:
    make_user(app, "ann@example.com", "analyst")
    sign_in(page, live_server, "ann@example.com", "not the password at all")
    expect(page.get_by_text("That e-mail and password do not match an active user.")).to_be_visible()
    sign_in(page, live_server, "ANN@example.com")  # e-mail addresses are not case-sensitive
    expect(page.get_by_role("heading", name="Responses")).to_be_visible()


def test_each_role_lands_on_its_home_page(app: Flask, live_server: str, browser: Browser) -> None:
    set_up_team(app)
    make_user(app, "alice@example.com", "agent", agent="alice")
    make_user(app, "ann@example.com", "analyst")
    make_user(app, "root@example.com", "admin")
    homes = {
        "alice@example.com": "My feedback",
        "sam@example.com": "Callback inbox",
        "ann@example.com": "Responses",
        "root@example.com": "Users",
    }
    for email, heading in homes.items():
        context = browser.new_context()  # a browser of their own
        page = context.new_page()
        sign_in(page, live_server, email)
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        context.close()


def test_a_deactivated_user_is_signed_out_at_the_next_request(
    app: Flask, live_server: str, page: Page
) -> None:
    make_user(app, "ann@example.com", "analyst")
    sign_in(page, live_server, "ann@example.com")
    expect(page.get_by_role("heading", name="Responses")).to_be_visible()
    assert app.test_cli_runner().invoke(args=["users", "deactivate", "ann@example.com"]).exit_code == 0
    page.reload()
    expect(page).to_have_url(re.compile(r"/login"))

    # Reactivated, she signs in again: the old session does not come back.
    done = app.test_cli_runner().invoke(args=["users", "reactivate", "ann@example.com"])
    assert done.exit_code == 0 and "reactivated: analyst" in done.output
    page.goto(live_server + "/responses")
    expect(page).to_have_url(re.compile(r"/login"))
    sign_in(page, live_server, "ann@example.com", path="/responses")
    expect(page.get_by_role("heading", name="Responses")).to_be_visible()


def test_the_last_active_admin_cannot_be_deactivated(app: Flask) -> None:
    make_user(app, "root@example.com", "admin")
    refused = app.test_cli_runner().invoke(args=["users", "deactivate", "root@example.com"])
    assert refused.exit_code != 0 and "last active admin" in refused.output
    make_user(app, "second@example.com", "admin")
    assert app.test_cli_runner().invoke(args=["users", "deactivate", "root@example.com"]).exit_code == 0


def test_a_form_posted_without_its_csrf_token_is_refused(app: Flask) -> None:
    make_user(app, "ann@example.com", "analyst")
    client = app.test_client()
    refused = client.post("/login", data={"email": "ann@example.com", "password": PASSWORD})
    assert refused.status_code == 400 and b"CSRF" in refused.data


def test_failed_sign_ins_are_rate_limited_per_address(app_factory) -> None:  # type: ignore[no-untyped-def]
    app: Flask = app_factory()
    app.config["WTF_CSRF_ENABLED"] = False
    make_user(app, "ann@example.com", "analyst")
    client = app.test_client()
    statuses = [
        client.post("/login", data={"email": "ann@example.com", "password": "wrong password!"}).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [200] * 10 and statuses[10] == 429
    # The right password is refused too while the address is blocked: the limit tells nothing.
    assert client.post("/login", data={"email": "ann@example.com", "password": PASSWORD}).status_code == 429


def test_pages_send_security_headers(app: Flask) -> None:
    answer = app.test_client().get("/login")
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
