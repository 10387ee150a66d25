"""The dashboard's daily rollups from the command line: `flask insight rollup --rebuild`."""

from __future__ import annotations

import time
from datetime import date

import click
from flask.cli import AppGroup

from ivr.services.insight import rollups


@click.group(cls=AppGroup)
def insight() -> None:
    """The dashboard's daily rollups of the scores."""


@insight.command("rollup")
@click.option("--rebuild", is_flag=True, required=True, help="Recompute the rollups from the scores.")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="From this UTC day (2026-11-01) on; without it, every day since the first score.",
)
def rollup(rebuild: bool, since: object) -> None:
    """Recompute the daily rollups from the scores, a day at a time (safe to run again, and
    while surveys are scored)."""
    first: date | None = since.date() if since is not None else None  # type: ignore[attr-defined]
    began = time.monotonic()

    def progress(day: date, done: int) -> None:
        if done % 30 == 0:
            click.echo(f"  {day.isoformat()}: {done} days ({time.monotonic() - began:.1f} s)")

    days = rollups.rebuild(first, progress)
    click.echo(f"Rebuilt the rollups of {days} days in {time.monotonic() - began:.1f} s.")
