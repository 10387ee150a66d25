"""`flask simulate`: play a survey call against a running server exactly as Twilio would."""

from __future__ import annotations

import shlex
import sys
import urllib.parse
from collections.abc import Iterator

import click
from flask.cli import with_appcontext

from ivr.settings import settings
from ivr.simulator import DEFAULT_TO, HANG_UP, RECORD, SAY, SILENCE, SimulatedCall, http_transport


def _interactive() -> Iterator[str]:
    while True:
        try:
            text = input("  you> ").strip()
        except EOFError:
            yield HANG_UP
            return
        if text.lower() in ("h", "hangup", HANG_UP):
            yield HANG_UP
            return
        yield text or SILENCE


@click.command()
@with_appcontext
@click.option("--url", default="http://127.0.0.1:5000", show_default=True, help="The server's base URL.")
@click.option("--agent", default="alice", show_default=True, help="The agent's external reference.")
@click.option("--queue", default="support", show_default=True)
@click.option("--flow", "flow_id", default=None, help="Flow id (default: the server's default flow).")
@click.option("--lang", default="en", show_default=True)
@click.option("--call-sid", default=None, help="CallSid to use (default: a new random one).")
@click.option(
    "--front-door",
    "to_number",
    default=None,
    help="Call this number's front door (/voice/incoming, e.g. +15005550001) instead of starting "
    "the survey directly; answer the <Dial> with dial:completed:<seconds>, dial:busy, ...",
)
@click.option(
    "--keys",
    default=None,
    help="The caller's answers in order, space separated: digits (10 or 10#), "
    f"'{SAY}five' to speak ('\"{SAY}very satisfied@0.3\"' with Twilio's confidence), "
    f"'{RECORD}8' for an 8-second comment ('\"{RECORD}8:It was slow\"' with its transcript), "
    f"'{SILENCE}' for silence, '{HANG_UP}' to hang up. Without it, asks at each question.",
)
def simulate(
    url: str,
    agent: str,
    queue: str,
    flow_id: str | None,
    lang: str,
    call_sid: str | None,
    to_number: str | None,
    keys: str | None,
) -> None:
    """Simulate a caller taking the survey, printing what they would hear."""
    config = settings()
    params = {"agent": agent, "queue": queue, "lang": lang}
    if flow_id:
        params["flow"] = flow_id
    start = "/voice/incoming" if to_number else "/voice/survey?" + urllib.parse.urlencode(params)
    actions = iter(shlex.split(keys)) if keys is not None else _interactive()
    if keys is None:
        click.echo(
            f"At each question type keys, {SAY}<words> to speak, or {RECORD}<seconds>[:<transcript>]"
            " to leave a comment; Enter alone is silence, 'h' hangs up."
        )

    call = SimulatedCall(
        http_transport(),
        url,
        config.twilio_auth_token,
        call_sid=call_sid,
        to_number=to_number or DEFAULT_TO,
        on_hear=lambda text: click.echo(f"  caller hears: {text}"),
    )
    click.echo(f"Calling {url}{start} as {call.call_sid}")
    try:
        transcript = call.run(start, actions)
    except OSError as exc:
        click.secho(f"Cannot reach {url}: {exc}. Is the server running (make run)?", fg="red", err=True)
        sys.exit(1)
    for error in transcript.errors:
        click.secho(f"  error: {error}", fg="red", err=True)
    ending = "caller hung up" if transcript.hung_up_by_caller else "call ended"
    click.echo(f"{ending}; {len(transcript.exchanges)} webhooks sent.")
    click.echo(
        "See the answers: curl -H 'Authorization: Bearer <key>' "
        f"'{url}/api/responses?call_sid={call.call_sid}'"
    )
    if transcript.errors:
        sys.exit(1)
