"""Consent from the command line: the do-not-survey list and the retention purge."""

from __future__ import annotations

import sys
from typing import TextIO

import click
from flask.cli import AppGroup

from ivr.services.consent import do_not_survey as consent
from ivr.services.consent import privacy
from ivr.settings import settings


@click.group("do-not-survey", cls=AppGroup)
def do_not_survey() -> None:
    """Numbers never to survey: opt-outs and admin entries (stored as keyed hashes)."""


@do_not_survey.command("add")
@click.argument("number")
@click.option("--note", help="Why, for the next admin (e.g. 'asked by phone, ticket 4411').")
def dns_add(number: str, note: str | None) -> None:
    """Never survey NUMBER (E.164, e.g. +15557654321)."""
    added = consent.add_number(number, note)
    click.echo(f"{privacy.mask(number)} {'added' if added else 'was already on the list'}")


@do_not_survey.command("remove")
@click.argument("number")
def dns_remove(number: str) -> None:
    """Let NUMBER be surveyed again (for example, after an opt-out by mistake)."""
    removed = consent.remove_number(number)
    click.echo(f"{privacy.mask(number)} {'removed' if removed else 'was not on the list'}")


@do_not_survey.command("list")
def dns_list() -> None:
    """Every entry, masked."""
    rows = list(consent.entries())
    if not rows:
        click.echo("The do-not-survey list is empty. Add numbers with `do-not-survey add` or `import`.")
        return
    click.echo(f"{'added (UTC)':<17} {'source':<8} {'number':<16} note")
    for row in rows:
        click.echo(
            f"{row.added_at:%Y-%m-%d %H:%M} {row.source.value:<8} {row.masked or '?':<16} {row.note or ''}"
        )
    click.echo(f"{len(rows)} number(s)")


@do_not_survey.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
def dns_import(file: TextIO) -> None:
    """Add the numbers in FILE: a CSV with a `number` (or `number_hash`) column and an optional
    `note`, or one number per line. `-` reads standard input. All or nothing."""
    result = consent.import_csv(file)
    for problem in result.rejected or []:
        click.secho(f"  skipped {problem}", fg="yellow", err=True)
    click.echo(f"{result.added} added, {result.already} already listed, {len(result.rejected or [])} skipped")


@do_not_survey.command("export")
@click.argument("file", type=click.File("w", encoding="utf-8"), default="-")
def dns_export(file: TextIO) -> None:
    """Write the list as CSV (hashes and masked numbers: no number leaves in clear) to FILE or stdout.
    Another install imports it only if it shares CALLER_HASH_KEY."""
    count = consent.export_csv(file)
    if file.name != "<stdout>":
        click.echo(f"{count} number(s) written to {file.name}", err=True)


@click.group("data", cls=AppGroup)
def data() -> None:
    """Personal data."""


@data.command("purge")
@click.option("--older-than-days", type=int, default=None, help="Default: RETENTION_DAYS.")
def data_purge(older_than_days: int | None) -> None:
    """Remove caller numbers, transcripts, spoken answers and verbatims from old responses; scores
    and answers' values stay, so reports do not change."""
    days = older_than_days or settings().retention_days
    if days is None:
        click.secho("Say how old: --older-than-days N, or set RETENTION_DAYS.", fg="red", err=True)
        sys.exit(2)
    purged = privacy.purge_personal_data(days)
    click.echo(f"personal data removed from {purged.calls} call(s), {purged.responses} response(s)")
