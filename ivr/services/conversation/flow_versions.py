"""The flows loaded at start, and the immutable version row each survey pins."""

from __future__ import annotations

from flask import Flask, current_app
from sqlalchemy import func, select

from ivr.db import upsert_id
from ivr.extensions import db
from ivr.flows import CompiledFlow, load_catalog
from ivr.flows.routing import load_front_door
from ivr.models import FlowVersion
from ivr.services.errors import Invalid


class FlowRegistry:
    """Flows from callflows/ plus per-process caches of the version rows (immutable)."""

    def __init__(self, flows: dict[str, CompiledFlow]) -> None:
        self.flows = flows
        self._version_ids: dict[tuple[str, str], int] = {}
        self._by_version: dict[int, CompiledFlow] = {}

    def version_id(self, compiled: CompiledFlow) -> int:
        """The id of the flow version with exactly this content, created on first use.

        Runs inside the caller's transaction (no commit here).
        """
        key = (compiled.id, compiled.content_hash)
        if key not in self._version_ids:
            version_id, _ = upsert_id(
                FlowVersion,
                {
                    "flow_key": compiled.id,
                    "version": _next_version(compiled.id),
                    "content_hash": compiled.content_hash,
                    "definition": compiled.definition(),
                    "source": f"callflows/{compiled.id}.yaml",
                },
                ["flow_key", "content_hash"],
            )
            self._version_ids[key] = version_id
            self._by_version[version_id] = compiled
        return self._version_ids[key]

    def for_version(self, version_id: int) -> CompiledFlow:
        if version_id not in self._by_version:
            row = db.session.get_one(FlowVersion, version_id)
            self._by_version[version_id] = CompiledFlow.from_definition(row.definition)
        return self._by_version[version_id]


def _next_version(flow_key: str) -> int:
    latest = db.session.scalar(select(func.max(FlowVersion.version)).filter_by(flow_key=flow_key))
    return (latest or 0) + 1


def init_app(app: Flask) -> None:
    settings = app.extensions["ivr.settings"]
    # A broken flow stops the start with every problem listed (file, step, field).
    flows = load_catalog(settings.callflows_dir, settings.prompts_dir)
    app.extensions["ivr.flows"] = FlowRegistry(flows)
    # The front door's routing names flows and languages: checked with them.
    app.extensions["ivr.front_door"] = load_front_door(
        settings.callflows_dir, settings.prompts_dir, flows, settings.default_flow
    )


def registry() -> FlowRegistry:
    reg: FlowRegistry = current_app.extensions["ivr.flows"]
    return reg


def flow_for(flow_id: str | None, language: str | None, default_flow: str) -> CompiledFlow:
    """The flow a request names (or the default); Invalid for an unknown flow or language."""
    compiled = registry().flows.get(flow_id or default_flow)
    if compiled is None:
        raise Invalid(f"unknown flow {flow_id!r}; known: {', '.join(sorted(registry().flows))}")
    if language is not None and language not in compiled.flow.languages:
        raise Invalid(f"flow {compiled.id!r} has no language {language!r}; it has {compiled.flow.languages}")
    return compiled
