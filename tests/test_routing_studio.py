"""The front door's routing in the database: seeded from callflows/routing/queues.yaml, edited as a
draft checked against the flows and prompts, published (the next call follows it), rolled back,
compared, imported and exported; every save, publish and rollback in the audit log; the pages in a
real browser, for admins only."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from ivr.extensions import db
from ivr.models import ROUTING_AUDIT_KEY, FlowAuditEntry, RoutingVersion
from ivr.services.errors import Conflict
from ivr.services.flow_studio import routing
from ivr.services.policy import OPERATOR
from tests.helpers import Twilio, make_user, rows, set_up_team, sign_in

ROOT = Path(__file__).resolve().parent.parent
ROUTING = (ROOT / "callflows" / "routing" / "queues.yaml").read_text(encoding="utf-8")
SUPPORT = "+15005550001"  # opt-in; rings client:alice then client:bob, 20 s each
BOB_FIRST = ROUTING.replace(
    "agents: [client:alice, client:bob]", "agents: [client:bob, client:alice]"
).replace("ring_seconds: 20", "ring_seconds: 25")
ADMIN = "root@example.com"
ROUTING_PAGES = ["/routing", "/routing/draft", "/routing/diff"]


def first_ring(twilio: Twilio, call_sid: str) -> tuple[str, str | None]:
    """Who a new call to support rings first, and for how long."""
    _, transcript = twilio.play(
        "/voice/incoming", ["1", "dial:canceled"], to_number=SUPPORT, call_sid=call_sid
    )
    dial = next(
        d for x in transcript.exchanges if "<Dial" in x.body for d in ET.fromstring(x.body).iter("Dial")
    )
    return "".join(child.text or "" for child in dial), dial.get("timeout")


def test_a_published_routing_reaches_the_next_call_and_a_rollback_restores_it(
    app: Flask, twilio: Twilio
) -> None:
    assert first_ring(twilio, "CA-1") == ("alice", "20")
    with app.app_context():
        assert [(v.version, v.published_by) for v in rows(app, RoutingVersion)] == [
            (1, "the call flow files (first use)")
        ]
        saved = routing.save_draft(BOB_FIRST, OPERATOR)
        assert saved.problems == [] and saved.saved
        assert routing.publish("Bob takes support calls first", OPERATOR).version == 2
    assert first_ring(twilio, "CA-2") == ("bob", "25")
    with app.app_context():
        assert routing.draft().saved is False  # the publish used the draft up
        assert routing.rollback(1, "", OPERATOR).version == 3
        assert "-    agents: [client:alice, client:bob]" in routing.diff(1, 2)
        assert "+    agents: [client:bob, client:alice]" in routing.diff(1, 2)
        log = [
            (e.action.value, e.actor, e.note)
            for e in db.session.scalars(
                select(FlowAuditEntry).filter_by(flow_key=ROUTING_AUDIT_KEY).order_by(FlowAuditEntry.id)
            )
        ]
    assert first_ring(twilio, "CA-3") == ("alice", "20")
    assert log == [
        ("save", OPERATOR.label, None),
        ("publish", OPERATOR.label, "Bob takes support calls first"),
        ("rollback", OPERATOR.label, "rolled back to version 1"),
    ]
    with app.app_context(), pytest.raises(Conflict, match="already the published one"):
        routing.rollback(3, "", OPERATOR)


def test_a_call_under_way_keeps_the_routing_it_started_with(app: Flask, twilio: Twilio) -> None:
    caller = {"CallSid": "CA-1", "From": "+15551230000", "To": SUPPORT}
    _, opened = twilio.post("/voice/incoming", caller)
    assert opened is not None
    invitation = opened.find("Gather").get("action")  # type: ignore[union-attr]
    with app.app_context():
        routing.save_draft(BOB_FIRST, OPERATOR)
        routing.publish("Bob takes support calls first", OPERATOR)
    _, rung = twilio.post(invitation, {**caller, "Digits": "1"})
    assert rung is not None
    dial = rung.find("Dial")
    assert dial is not None and (dial.findtext("Client"), dial.get("timeout")) == ("alice", "20")
    leg = {**caller, "DialCallStatus": "no-answer", "CallStatus": "in-progress"}
    _, after = twilio.post(dial.get("action", ""), leg)
    assert after is not None
    second = after.find("Dial")
    assert second is not None and (second.findtext("Client"), second.get("timeout")) == ("bob", "20")
    # A new call follows the new version.
    assert first_ring(twilio, "CA-2") == ("bob", "25")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            ("flow: post-call-csat\n    language: es", "flow: no-such-flow\n    language: es"),
            "queues.billing.flow",
            "unknown flow 'no-such-flow'",
        ),
        (("language: es", "language: fr"), "queues.billing.language", "has no language 'fr'"),
        (
            ("ring_seconds: 15", "ring_seconds: 2"),
            "queues.billing.ring_seconds",
            "greater than or equal to 5",
        ),
        (("default_queue: support", "default_queue: sales"), "", "queue 'sales' is not defined"),
        (('"+15005550002": billing', '"+15005550001": billing'), "", "found duplicate key '+15005550001'"),
        (
            ("agents: [client:alice, client:bob]", "agents: [client:alice, client:alice]"),
            "queues.support.agents.1",
            "listed twice",
        ),
    ],
)
def test_a_draft_with_a_problem_names_its_field_and_cannot_be_published(
    app: Flask, twilio: Twilio, change: tuple[str, str], field: str, message: str
) -> None:
    with app.app_context():
        saved = routing.save_draft(ROUTING.replace(*change), OPERATOR)
        assert [(p.field or "", p.is_error) for p in saved.problems] == [(field, True)]
        assert message in saved.problems[0].message
        with pytest.raises(Conflict, match="error"):
            routing.publish("try it", OPERATOR)
        assert len(rows(app, RoutingVersion)) == 1
    assert first_ring(twilio, "CA-1") == ("alice", "20")


def test_publishing_needs_a_note_and_a_change(app: Flask) -> None:
    with app.app_context():
        routing.save_draft(ROUTING, OPERATOR)
        with pytest.raises(Exception, match="change note"):
            routing.publish("  ", OPERATOR)
        with pytest.raises(Conflict, match="nothing to publish"):
            routing.publish("no change", OPERATOR)


def test_import_publishes_a_changed_routing_file_and_refuses_a_broken_one(app: Flask, tmp_path: Path) -> None:
    cli = app.test_cli_runner()
    assert cli.invoke(args=["flows", "import"]).exit_code == 0
    assert cli.invoke(args=["flows", "export", str(tmp_path)]).exit_code == 0
    path = tmp_path / "callflows" / "routing" / "queues.yaml"
    path.write_text(BOB_FIRST, encoding="utf-8")
    changed = cli.invoke(args=["flows", "import", str(tmp_path)])
    assert "routing: published as version 2" in changed.output, changed.output
    path.write_text(BOB_FIRST.replace("flow: post-call-csat", "flow: nope", 1), encoding="utf-8")
    broken = cli.invoke(args=["flows", "import", str(tmp_path)])
    assert broken.exit_code == 1
    assert "routing/queues.yaml: field 'queues.support.flow': unknown flow 'nope'" in broken.output, (
        broken.output
    )
    assert len(rows(app, RoutingVersion)) == 2
    only_new = cli.invoke(args=["flows", "import", "--only-new"])
    assert "routing: already in the database: left as it is" in only_new.output


def test_an_admin_edits_checks_and_publishes_the_routing_in_the_browser(
    app: Flask, live_server: str, page: Page, twilio: Twilio
) -> None:
    make_user(app, ADMIN, "admin")
    sign_in(page, live_server, ADMIN)
    page.get_by_role("link", name="Routing").click()
    queues = page.get_by_role("table", name=re.compile("^Each queue"))
    expect(queues.get_by_role("row", name=re.compile("^support"))).to_contain_text("client:alice")
    page.get_by_role("link", name="Edit a draft").click()
    page.wait_for_load_state()  # htmx listens from the load on
    document = page.get_by_label("Routing (YAML)")
    # Checked as typed: the problem shows beside its queue before anything is saved.
    document.fill(ROUTING.replace("flow: post-call-csat", "flow: nope", 1))
    expect(page.get_by_role("list", name="Problems of queue support")).to_contain_text(
        "queues.support.flow: unknown flow 'nope'"
    )
    page.get_by_label("Change note").fill("Bob first")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("The draft has 1 error(s): fix them first.")).to_be_visible()
    page.get_by_label("Routing (YAML)").fill(BOB_FIRST)
    expect(page.get_by_text("No problems: this routing can be published.")).to_be_visible()
    page.get_by_label("Change note").fill("Bob first")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Routing version 2 published")).to_be_visible()
    versions = page.get_by_role("table", name="Every published routing, newest first")
    expect(versions.get_by_role("row", name=re.compile(r"^2 \(in force\)"))).to_contain_text("Bob first")
    assert first_ring(twilio, "CA-after") == ("bob", "25")
    page.get_by_role("link", name="Compare versions").click()
    expect(page.get_by_label("Changes to the routing")).to_contain_text(
        "+    agents: [client:bob, client:alice]"
    )
    page.go_back()
    page.get_by_role("button", name="Roll back to version 1").click()
    expect(page.get_by_text("Routing version 1 republished as version 3")).to_be_visible()
    assert first_ring(twilio, "CA-back") == ("alice", "20")


@pytest.mark.parametrize("role", ["agent", "supervisor", "analyst"])
def test_only_admins_see_the_routing(app: Flask, role: str, page: Page, live_server: str) -> None:
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
    expect(page.get_by_role("link", name="Routing")).to_have_count(0)
    for path in ROUTING_PAGES:
        assert page.request.get(live_server + path).status == 404, path


def test_an_admin_edits_a_queue_as_a_form_checked_as_typed(
    app: Flask, live_server: str, page: Page, twilio: Twilio
) -> None:
    make_user(app, ADMIN, "admin")
    sign_in(page, live_server, ADMIN, path="/routing/draft")
    page.get_by_role("link", name="Edit support").click()
    expect(page.get_by_role("heading", name="Queue support")).to_be_visible()
    page.wait_for_load_state()
    page.get_by_label("Agents, rung in this order").fill("client:bob\nclient:alice")
    page.get_by_label("Ring each agent for (seconds)").fill("3")
    expect(page.locator("#queue-ring_seconds-error")).to_contain_text("greater than or equal to 5")
    page.get_by_label("Ring each agent for (seconds)").fill("25")
    expect(page.get_by_text("No problems with this queue.")).to_be_visible()
    expect(page.locator("#queue-ring_seconds-error")).to_be_empty()
    page.get_by_role("button", name="Save queue").click()
    expect(page.get_by_text("Queue support saved into the draft.")).to_be_visible()
    page.get_by_role("link", name="Back to the draft").click()
    expect(page.get_by_label("Routing (YAML)")).to_have_value(
        re.compile(r"agents:\n    - client:bob\n    - client:alice")
    )
    page.get_by_label("Change note").fill("Bob first, longer rings")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Routing version 2 published")).to_be_visible()
    assert first_ring(twilio, "CA-after") == ("bob", "25")
