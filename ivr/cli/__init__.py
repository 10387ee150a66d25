"""Command-line tools, registered on the app so they run in its context: `flask --app wsgi ...`.

What a service refuses (ivr.services.errors) ends a command with its message, the options at
fault, and exit status 1, never a traceback. Every command ends its database session (committed
when it succeeded, rolled back when it failed) before the process exits.
"""

from __future__ import annotations

import functools
from typing import Any

import click
from flask import Flask, has_app_context

from ivr.cli import admin, consent, organisation, simulate, tasks, worker
from ivr.db import end_session
from ivr.services.errors import DomainError

COMMANDS: list[click.Command] = [
    simulate.simulate,
    admin.flows,
    admin.api_keys,
    admin.demo,
    worker.worker,
    worker.jobs_group,
    tasks.tasks,
    organisation.supervisors,
    organisation.teams,
    organisation.agents,
    consent.do_not_survey,
    consent.data,
]


def register(app: Flask) -> None:
    for command in COMMANDS:
        _translate_domain_errors(command)
        app.cli.add_command(command)


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
        finally:
            # A command's last read must not leave its transaction open (a long `flask shell`-like
            # command, or the worker, would hold it): commit or roll back, then give it back.
            if has_app_context():
                end_session(commit=ok)

    translated._translates_domain_errors = True  # type: ignore[attr-defined]
    command.callback = translated
