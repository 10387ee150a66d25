"""Command-line tools, registered on the app so they run in its context: `flask --app wsgi ...`.

What a service refuses (ivr.services.errors) ends a command with its message, the options at
fault, and exit status 1, never a traceback; so does a database or Redis that cannot be reached
(ivr.startup says what to do; IVR_DEBUG=1 or `flask --debug` shows the traceback instead).
Every command ends its database session (committed when it succeeded, rolled back when it
failed) before the process exits.
"""

from __future__ import annotations

import functools
from typing import Any

import click
from flask import Flask, has_app_context

from ivr import startup
from ivr.cli import admin, consent, demo, insight, organisation, simulate, tasks, users, worker
from ivr.db import end_session
from ivr.services.errors import DomainError

COMMANDS: list[click.Command] = [
    simulate.simulate,
    admin.flows,
    admin.api_keys,
    demo.demo,
    worker.worker,
    worker.jobs_group,
    tasks.tasks,
    insight.insight,
    organisation.supervisors,
    organisation.teams,
    organisation.agents,
    consent.do_not_survey,
    consent.data,
    users.users,
]


def register(app: Flask) -> None:
    for command in COMMANDS:
        _translate_domain_errors(command)
        app.cli.add_command(command)
    # Ours and the extensions' (Flask-Migrate's `db`) alike.
    for command in app.cli.commands.values():
        _whole_short_help(command)


def _whole_short_help(command: click.Command) -> None:
    """Command lists show each help's first paragraph whole (click cuts it at ~45 characters)."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _whole_short_help(sub)
    if command.help and not command.short_help:
        command.short_help = " ".join(command.help.strip().split("\n\n")[0].split())


def _translate_domain_errors(command: click.Command) -> None:
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _translate_domain_errors(sub)
    callback = command.callback
    if callback is None or getattr(callback, "_translates_domain_errors", False):
        return

    @functools.wraps(callback)
    def translated(*args: Any, **kwargs: Any) -> Any:
        ok = False
        try:
            result = callback(*args, **kwargs)
            ok = True
            return result
        except DomainError as exc:
            options = ", ".join("--" + field.replace("_", "-") for field in exc.fields)
            raise click.ClickException(exc.message + (f" (set {options})" if options else "")) from None
        except Exception as exc:
            message = None if startup.debugging() else startup.explain(exc)
            if message is None:
                raise
            raise click.ClickException(message) from None
        finally:
            # A command's last read must not leave its transaction open (a long `flask shell`-like
            # command, or the worker, would hold it): commit or roll back, then give it back.
            if has_app_context():
                end_session(commit=ok)

    translated._translates_domain_errors = True  # type: ignore[attr-defined]
    command.callback = translated
