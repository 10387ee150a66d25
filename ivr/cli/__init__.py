"""Command-line tools, registered on the app so they run in its context: `flask --app wsgi ...`."""

from flask import Flask

from ivr.cli import admin, consent, organisation, simulate, tasks, worker


def register(app: Flask) -> None:
    app.cli.add_command(simulate.simulate)
    app.cli.add_command(admin.flows)
    app.cli.add_command(admin.api_keys)
    app.cli.add_command(admin.demo)
    app.cli.add_command(worker.worker)
    app.cli.add_command(worker.jobs_group)
    app.cli.add_command(tasks.tasks)
    app.cli.add_command(organisation.supervisors)
    app.cli.add_command(organisation.teams)
    app.cli.add_command(organisation.agents)
    app.cli.add_command(consent.do_not_survey)
    app.cli.add_command(consent.data)
