"""Command-line tools, registered on the app so they run in its context: `flask --app wsgi ...`.

What a service refuses (ivr.services.errors) ends a command with its message, the options at
fault, and exit status 1, never a traceback.
"""

from __future__ import annotations

import functools
from typing import Any

import click
from flask import Flask

from ivr.cli import admin, consent, organisation, simulate, tasks, users, worker
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
    users.users,
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
        try:
            return callback(*args, **kwargs)
        except DomainError as exc:
            options = ", ".join("--" + field.replace("_", "-") for field in exc.fields)
            raise click.ClickException(exc.message + (f" (set {options})" if options else "")) from None

    translated._translates_domain_errors = True  # type: ignore[attr-defined]
    command.callback = translated
