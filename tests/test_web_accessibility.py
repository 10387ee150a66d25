"""axe-core (vendored, tests/vendor) on each main page as its person sees it: no serious or critical
violations, on a desktop and on a phone.

On SQLite only: the markup does not depend on the database, and axe costs a second or two a page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from tests.helpers import make_user, scored_response, set_up_team, sign_in

AXE = Path(__file__).parent / "vendor" / "axe-core-4.11.0.min.js"
PHONE: ViewportSize = {"width": 390, "height": 844}

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

# (who signs in, the pages they open); None: nobody, the sign-in page.
PAGES: list[tuple[str | None, list[str]]] = [
    (None, ["/login"]),
    ("alice@example.com", ["/me"]),
    ("sam@example.com", ["/tasks", "/dashboard"]),
    ("ann@example.com", ["/responses", "/dashboard?period=90", "/responses/1"]),
    (
        "root@example.com",
        [
            "/admin/users",
            "/admin/users/new",
            "/admin/supervisors",
            "/admin/supervisors/new",
            "/admin/teams",
            "/admin/teams/new",
            "/admin/agents",
            "/admin/agents/new",
            "/flows",
            "/flows/post-call-csat",
            "/flows/post-call-csat/draft",
            "/flows/post-call-csat/draft/steps/2",
            "/flows/post-call-csat/diff",
            "/flows/post-call-csat/try",
            "/routing",
            "/routing/draft",
            "/routing/diff",
            "/routing/draft/queues/support",
        ],
    ),
]


def _people(app: Flask) -> None:
    set_up_team(app)
    make_user(app, "alice@example.com", "agent", agent="alice")
    make_user(app, "ann@example.com", "analyst")
    make_user(app, "root@example.com", "admin")
    # Something on the dashboard and in the explorer: a low (with its task) and a high.
    scored_response(app, "alice", 1, 0, False, days_ago=1, comment="Nobody called me back.")
    scored_response(app, "alice", 5, 10, True, days_ago=3)


def _context(browser: Browser, viewport: ViewportSize | None = None) -> BrowserContext:
    """A browser that lets the test inject axe: the pages' CSP allows no inline script, and
    add_script_tag inlines the file."""
    if viewport is None:
        return browser.new_context(bypass_csp=True)
    return browser.new_context(bypass_csp=True, viewport=viewport)


def _serious_violations(page: Page) -> list[str]:
    """axe's serious and critical findings on this page, one readable line per element."""
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate("() => axe.run()")
    assert result["passes"], f"axe checked nothing on {page.url}"
    found = []
    for violation in result["violations"]:
        if violation["impact"] not in ("serious", "critical"):
            continue
        for node in violation["nodes"]:
            found.append(
                f"{page.url}: {violation['impact']} {violation['id']} ({violation['help']}) at "
                f"{', '.join(map(str, node['target']))}: {node.get('failureSummary', '').strip()}"
            )
    return found


def _walk(browser: Browser, base_url: str, viewport: ViewportSize | None = None) -> list[str]:
    found: list[str] = []
    for email, paths in PAGES:
        context = _context(browser, viewport)
        page = context.new_page()
        if email is not None:
            sign_in(page, base_url, email)
            expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        for path in paths:
            page.goto(base_url + path)
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            found += _serious_violations(page)
        context.close()
    return found


def test_the_main_pages_have_no_serious_accessibility_violations(
    app: Flask, live_server: str, browser: Browser
) -> None:
    _people(app)
    found = _walk(browser, live_server)
    assert not found, "axe found:\n" + "\n".join(found)


def test_on_a_phone_the_admin_pages_have_no_serious_violations_and_no_sideways_scrolling(
    app: Flask, live_server: str, browser: Browser
) -> None:
    _people(app)
    context = _context(browser, PHONE)
    page = context.new_page()
    sign_in(page, live_server, "root@example.com", path="/admin/teams/new")
    page.get_by_role("button", name="Save team").click()  # with its errors showing
    expect(page.get_by_text("This field is required.")).to_be_visible()
    found = _serious_violations(page)
    widths = {"/admin/teams/new": page.evaluate("() => document.documentElement.scrollWidth")}
    page.goto(live_server + "/admin/users")  # a wide table scrolls inside its box, not the page
    found += _serious_violations(page)
    widths["/admin/users"] = page.evaluate("() => document.documentElement.scrollWidth")
    context.close()
    assert not found, "axe found:\n" + "\n".join(found)
    assert widths == dict.fromkeys(widths, PHONE["width"])
