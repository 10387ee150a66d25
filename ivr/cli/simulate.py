"""`flask simulate`: play a survey call against a running server exactly as Twilio would."""

from __future__ import annotations

import shlex
import sys
import urllib.parse
from collections.abc import Iterator

import click
from flask.cli import with_appcontext

from ivr.settings import settings
from ivr.simulator import (
    DEFAULT_TO,
    DIAL,
    HANG_UP,
    HANG_UP_WORDS,
    RECORD,
    SAY,
    SILENCE,
    SimulatedCall,
    SimulatedPhone,
    demo_caller,
    http_transport,
    problem_with,
)


def _interactive() -> Iterator[str]:
    """The caller's actions typed at each question: the same words as --keys, one at a time."""
    while True:
        try:
            text = input("  you> ").strip()
        except EOFError:
            yield HANG_UP
            return
        action = text or SILENCE
        problem = problem_with(action)
        if problem is not None:
            click.secho(f"  {problem}", fg="red", err=True)
            continue
        if action == HANG_UP or action.lower() in HANG_UP_WORDS:
            yield HANG_UP
            return
        yield action


def _parse_keys(keys: str) -> list[str]:
    try:
        actions = shlex.split(keys)
    except ValueError as exc:
        raise click.BadParameter(f"{exc} (quote a spoken answer whole: '\"say:very satisfied\"')") from None
    problems = [problem for action in actions if (problem := problem_with(action)) is not None]
    if problems:
        raise click.BadParameter("; ".join(problems), param_hint="--keys")
    return actions


def _suppression(number: str) -> str | None:
    """Why the server will not survey this number, when its database says so (best effort)."""
    from sqlalchemy.exc import SQLAlchemyError

    from ivr.extensions import db
    from ivr.services.consent import do_not_survey
    from ivr.services.consent.privacy import number_hash

    try:
        listed = do_not_survey.is_listed(number_hash(number))
    except SQLAlchemyError:
        return None
    finally:
        db.session.remove()
    return "it is on the do-not-survey list" if listed else None


@click.command()
@with_appcontext
@click.option(
    "--url",
    default=None,
    help="The server's base URL (default: PUBLIC_BASE_URL, which `make run PORT=...` sets, else http://127.0.0.1:5000).",
)
@click.option(
    "from_number",
    "--from",
    default=None,
    help="The caller's number (default: a fresh demo number each run, so an earlier opt-out never applies).",
)
@click.option(
    "--agent",
    default="client:alice",
    show_default=True,
    help="The agent's external reference, as callflows/routing/queues.yaml names them.",
)
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
    "--sms",
    is_flag=True,
    help="Text the survey instead: the invitation is written as the job would write it (in the "
    "server's database), then each reply goes to POST /sms/incoming as Twilio's Messaging webhook; "
    "--keys are the replies ('1 zero no \"they never called me back\"').",
)
@click.option(
    "--keys",
    default=None,
    help="The caller's answers in order, space separated: digits (10 or 10#), "
    f"'{SAY}five' to speak ('\"{SAY}very satisfied@0.3\"' with Twilio's confidence), "
    f"'{RECORD}8' for an 8-second comment ('\"{RECORD}8:It was slow\"' with its transcript), "
    f"'{SILENCE}' for silence, '{HANG_UP}' to hang up, at the front door's <Dial> "
    f"'{DIAL}completed:90', '{DIAL}busy', '{DIAL}no-answer'. Without it, asks at each question.",
)
@click.option(
    "--flow-version",
    type=click.IntRange(min=1),
    default=None,
    help="Try this version of the flow (any, not only the published one): a test response, left "
    "out of every report, list, feedback and callback task.",
)
def simulate(
    url: str | None,
    from_number: str | None,
    agent: str,
    queue: str,
    flow_id: str | None,
    lang: str,
    call_sid: str | None,
    to_number: str | None,
    keys: str | None,
    sms: bool,
    flow_version: int | None,
) -> None:
    """Simulate a caller taking the survey, printing what they would hear (or read, with --sms)."""
    config = settings()
    url = (url or config.twilio_base_url).rstrip("/")
    if sms:
        _text_conversation(url, from_number, agent, queue, flow_id, lang, call_sid, keys)
        return
    params = {"agent": agent, "queue": queue, "lang": lang}
    if flow_id:
        params["flow"] = flow_id
    if flow_version is not None:
        if to_number:
            raise click.BadParameter("a try-out starts the survey itself: leave out --front-door")
        params["test_version"] = str(_version_id(flow_id or config.default_flow, flow_version))
    start = "/voice/incoming" if to_number else "/voice/survey?" + urllib.parse.urlencode(params)
    actions = iter(_parse_keys(keys)) if keys is not None else _interactive()
    if keys is None:
        click.echo(
            f"At each question type keys, {SAY}<words> to speak, or {RECORD}<seconds>[:<transcript>]"
            f" to leave a comment; Enter alone is silence, '{HANG_UP}' hangs up (as in --keys)."
        )
    caller = from_number or demo_caller()
    if from_number is not None and (why := _suppression(from_number)) is not None:
        click.secho(
            f"note: {from_number} will not be surveyed: {why} "
            f"(`flask --app wsgi do-not-survey remove {from_number}`,"
            " or leave out --from for a fresh number)",
            fg="yellow",
            err=True,
        )

    call = SimulatedCall(
        http_transport(),
        url,
        config.twilio_auth_token,
        call_sid=call_sid,
        from_number=caller,
        to_number=to_number or DEFAULT_TO,
        on_hear=lambda text: click.echo(f"  caller hears: {text}"),
    )
    click.echo(f"Calling {url}{start} from {caller} as {call.call_sid}")
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
    if flow_version is not None:
        click.echo(
            f"A try-out of version {flow_version}: the response is a test response, left out of reports."
        )
    if transcript.errors:
        sys.exit(1)


def _text_conversation(
    url: str,
    from_number: str | None,
    agent: str,
    queue: str,
    flow_id: str | None,
    lang: str,
    call_sid: str | None,
    keys: str | None,
) -> None:
    """The survey by text: the invitation as the job writes it, then Twilio's part for each text."""
    from ivr.services.errors import DomainError
    from ivr.services.links import webhook_path
    from ivr.services.texting.delivery import simulated_invitation

    config = settings()
    caller = from_number or demo_caller()
    try:
        message_id, invitation = simulated_invitation(
            caller, flow_id, lang, original_call_sid=call_sid, agent_ref=agent, queue=queue
        )
    except DomainError as exc:
        click.secho(f"No survey by text for {caller}: {exc.message}", fg="red", err=True)
        sys.exit(1)
    phone = SimulatedPhone(
        http_transport(),
        url,
        config.twilio_auth_token,
        from_number=caller,
        to_number=config.sms_survey_sender or "+15005550100",
        on_receive=lambda text: click.echo(f"  caller reads: {text}"),
    )
    click.echo(f"Texting {caller} from {phone.to_number}; replies go to {url}/sms/incoming")
    try:
        phone.receive(invitation, webhook_path("sms.message_status", m=message_id))
        replies = iter(shlex.split(keys)) if keys is not None else _typed_texts()
        for body in replies:
            click.echo(f"  caller texts: {body}")
            exchange = phone.text(body)
            if exchange.status != 200:
                click.secho(
                    f"  error: {url}/sms/incoming answered HTTP {exchange.status}", fg="red", err=True
                )
                sys.exit(1)
    except OSError as exc:
        click.secho(f"Cannot reach {url}: {exc}. Is the server running (make run)?", fg="red", err=True)
        sys.exit(1)
    click.echo(
        f"See the answers: curl -H 'Authorization: Bearer <key>' '{url}/api/responses?channel=sms&limit=1'"
    )


def _typed_texts() -> Iterator[str]:
    """The caller's replies typed one at a time; an empty line or end of input stops."""
    while True:
        try:
            text = input("  you> ").strip()
        except EOFError:
            return
        if not text:
            return
        yield text


def _version_id(flow_id: str, number: int) -> int:
    """The row id of a flow's version N (this command reads the server's database)."""
    from ivr.extensions import db
    from ivr.models import FlowVersion

    found: int | None = db.session.scalar(
        db.select(FlowVersion.id).filter_by(flow_key=flow_id, version=number)
    )
    db.session.remove()
    if found is None:
        raise click.BadParameter(f"flow {flow_id!r} has no version {number}", param_hint="--flow-version")
    return found
