"""Admin commands: check flows, manage API keys."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from flask.cli import AppGroup

from ivr.flows import FlowError, check_flow, load_catalog
from ivr.flows.prompts import load_prompts
from ivr.flows.routing import ROUTING_FILE, check_routing
from ivr.flows.schema import MessageStep
from ivr.flows.yaml_text import load_yaml
from ivr.models import Role, as_utc
from ivr.services.flow_studio import files
from ivr.services.organisation import api_keys as api_key_service
from ivr.services.policy import OPERATOR
from ivr.settings import settings


@click.group(cls=AppGroup)
def flows() -> None:
    """Call flows: check the files, import them into the database, export published versions."""


@flows.command("check")
def flows_check() -> None:
    """Load and check every flow and prompt; list each problem with its file, step and field."""
    config = settings()
    try:
        catalog = load_catalog(config.callflows_dir, config.prompts_dir)
    except FlowError as exc:
        click.secho(f"{len(exc.problems)} problem(s) found:", fg="red", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        raise SystemExit(1) from None
    prompts = load_prompts(config.prompts_dir)
    for flow_id, compiled in sorted(catalog.items()):
        flow = compiled.flow
        questions = [s for s in flow.steps if not isinstance(s, MessageStep)]
        click.echo(
            f"ok  {flow_id}: {len(flow.steps)} steps ({len(questions)} questions), "
            f"languages {', '.join(flow.languages)}, version hash {compiled.content_hash[:12]}"
        )
        path = config.callflows_dir / f"{flow_id}.yaml"
        document = load_yaml(path.read_text(encoding="utf-8")) if path.exists() else None
        for problem in check_flow(document, prompts, f"{path.parent.name}/{path.name}"):
            click.echo(f"    {problem}")
    routing_path = config.callflows_dir / ROUTING_FILE
    if routing_path.exists():
        name = f"{config.callflows_dir.name}/{ROUTING_FILE}"
        routing, problems = check_routing(
            routing_path.read_text(encoding="utf-8"), name, catalog, config.default_flow, prompts.texts
        )
        errors = [problem for problem in problems if problem.is_error]
        if routing is not None and not errors:
            click.echo(f"ok  routing: {len(routing.queues)} queue(s), {len(routing.numbers)} number(s)")
        for problem in problems:
            click.echo(f"    {problem}", err=bool(errors))
        if errors:
            click.secho(f"{len(errors)} problem(s) found in the routing", fg="red", err=True)
            raise SystemExit(1)


@flows.command("import")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--only-new", is_flag=True, help="Only flows the database does not have yet (first start).")
def flows_import(directory: Path | None, only_new: bool) -> None:
    """Check DIRECTORY's callflows/ and prompts/ (default: the repository) and publish every flow
    that differs from its current version."""
    config = settings()
    callflows, prompts = (
        (directory / "callflows", directory / "prompts")
        if directory
        else (config.callflows_dir, config.prompts_dir)
    )
    try:
        done = files.import_dir(callflows, prompts, OPERATOR, only_new=only_new)
    except FlowError as exc:
        click.secho(f"{len(exc.problems)} problem(s) found, nothing imported:", fg="red", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        raise SystemExit(1) from None
    for item in done:
        click.echo(f"{item.flow_id}: {item.note}")


@flows.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def flows_export(directory: Path) -> None:
    """Write every flow's published version to DIRECTORY/callflows and DIRECTORY/prompts."""
    for path in files.export_dir(directory):
        click.echo(f"wrote {path}")


@click.group("api-keys", cls=AppGroup)
def api_keys() -> None:
    """API keys for integrators."""


@api_keys.command("create")
@click.argument("name")
@click.option(
    "--role",
    "role_names",
    multiple=True,
    type=click.Choice([role.value for role in Role]),
    help="What the key may do (repeat for several); default: integrator and analyst.",
)
@click.option("--agent", "agent_ref", help="For --role agent: the agent whose feedback it reads.")
@click.option("--supervisor", "supervisor_name", help="For --role supervisor: the supervisor it acts as.")
def api_keys_create(
    name: str, role_names: tuple[str, ...], agent_ref: str | None, supervisor_name: str | None
) -> None:
    """Create an API key for NAME (who or what uses it) and print it: it is shown only this once."""
    roles = [Role(role) for role in role_names] or [Role.integrator, Role.analyst]
    new = api_key_service.create_key(name, roles, agent_ref, supervisor_name)
    click.echo(f"API key {new.prefix}... for {new.name!r} (store it now, it is not shown again):")
    click.echo(new.key)


def _when(value: datetime | None) -> str:
    if value is None:
        return "-"
    return as_utc(value).strftime("%Y-%m-%d %H:%M UTC")


@api_keys.command("list")
def api_keys_list() -> None:
    """Every stored key: name, prefix, created, last used, revoked (never the key itself)."""
    keys = api_key_service.list_keys()
    if not keys:
        click.echo("no stored API keys (keys from IVR_API_KEYS are not listed)")
        return
    rows = [("NAME", "PREFIX", "CREATED", "LAST USED", "REVOKED")]
    rows += [
        (key.name, key.prefix or "-", _when(key.created_at), _when(key.last_used_at), _when(key.revoked_at))
        for key in keys
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@api_keys.command("revoke")
@click.argument("name_or_prefix")
def api_keys_revoke(name_or_prefix: str) -> None:
    """Revoke the key with this prefix (see `list`), or the only active key with this name."""
    key = api_key_service.revoke(name_or_prefix)
    click.echo(f"revoked {key.prefix or '(no prefix)'} ({key.name!r}); requests with it now get 401")
