"""Which flow version a new survey runs, and the immutable version each running survey pinned.

Flows live in the database once published (ivr.services.flow_studio publishes them). Every new
survey reads its flow's current version pointer (one primary-key lookup, so every web process
sees a publish at once, without a restart); versions are immutable, so each process caches
them by id. The files in callflows/ and prompts/ are loaded and checked at start: they seed a
flow the database does not have yet (the first call after a fresh install publishes them, as
`flask flows import` does). Until someone publishes a flow in the studio or imports it, it keeps
following its file: a changed file becomes a new version on the next call after a restart, as
before the studio existed. After that the database wins and files change it only through
`flask flows import`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from flask import Flask, current_app
from sqlalchemy import Table, bindparam, func, select, update

from ivr.db import insert_ignore
from ivr.extensions import db
from ivr.flows import CompiledFlow, load_catalog
from ivr.flows.routing import load_front_door
from ivr.models import FlowRecord, FlowVersion
from ivr.services.errors import Invalid, NotFound

SEEDED_BY = "the call flow files (first use)"


_flows = cast(Table, FlowRecord.__table__)
# Read on every new survey, so built once (Core, a bound parameter).
_CURRENT = select(_flows.c.current_version_id).where(_flows.c.key == bindparam("key"))


@dataclass(frozen=True)
class Published:
    """A flow's current version: the row's id (what a response pins) and the flow itself."""

    version_id: int
    compiled: CompiledFlow


class FlowRegistry:
    """The flows from the files (seeds, checked at start) and this process's cache of versions."""

    def __init__(self, flows: dict[str, CompiledFlow]) -> None:
        self.flows = flows
        self._seed_hashes = {flow_id: compiled.content_hash for flow_id, compiled in flows.items()}
        self._by_version: dict[int, CompiledFlow] = {}
        # version id -> (content hash, seeded from the files): immutable, cached like the flows.
        self._origin: dict[int, tuple[str, bool]] = {}

    def current(self, flow_id: str) -> Published | None:
        """The flow's current published version; a flow known only from the files is published
        from them on first use (in the caller's transaction: no commit here)."""
        version_id = db.session.execute(_CURRENT, {"key": flow_id}).scalar()
        seed = self.flows.get(flow_id)
        if version_id is None:
            if seed is None:
                return None
            version_id = self._seed(seed, None)
        elif seed is not None and self._follows_changed_file(version_id, flow_id):
            version_id = self._seed(seed, version_id)
        return Published(version_id, self.for_version(version_id))

    def _follows_changed_file(self, version_id: int, flow_id: str) -> bool:
        if version_id not in self._origin:
            row = db.session.get_one(FlowVersion, version_id)
            self._origin[version_id] = (row.content_hash, row.published_by in (None, SEEDED_BY))
        content_hash, seeded = self._origin[version_id]
        return seeded and content_hash != self._seed_hashes[flow_id]

    def _seed(self, compiled: CompiledFlow, replacing: int | None) -> int:
        # A database from before the flow studio has versions but no pointer: reuse the version
        # with this content. Two processes seeding at once: the unique keys decide, both agree.
        existing = db.session.scalar(
            select(FlowVersion.id)
            .filter_by(flow_key=compiled.id, content_hash=compiled.content_hash)
            .order_by(FlowVersion.version.desc())
            .limit(1)
        )
        if existing is None:
            latest = db.session.scalar(select(func.max(FlowVersion.version)).filter_by(flow_key=compiled.id))
            existing = insert_ignore(
                FlowVersion,
                {
                    "flow_key": compiled.id,
                    "version": (latest or 0) + 1,
                    "content_hash": compiled.content_hash,
                    "definition": compiled.definition(),
                    "source": f"callflows/{compiled.id}.yaml",
                    "published_by": SEEDED_BY,
                },
                ["flow_key", "version"],
            )
            if existing is None:
                existing = db.session.scalar(
                    select(FlowVersion.id).filter_by(flow_key=compiled.id, version=(latest or 0) + 1)
                )
        if replacing is None:
            insert_ignore(FlowRecord, {"key": compiled.id, "current_version_id": existing}, ["key"])
        else:  # only if nobody published meanwhile
            db.session.execute(
                update(FlowRecord)
                .where(FlowRecord.key == compiled.id, FlowRecord.current_version_id == replacing)
                .values(current_version_id=existing)
            )
        version_id = db.session.scalar(
            select(FlowRecord.current_version_id).where(FlowRecord.key == compiled.id)
        )
        if version_id is None:  # pragma: no cover - the row was just written
            raise LookupError(f"flow {compiled.id} vanished while it was seeded")
        return version_id

    def for_version(self, version_id: int) -> CompiledFlow:
        if version_id not in self._by_version:
            row = db.session.get_one(FlowVersion, version_id)
            self._by_version[version_id] = CompiledFlow.from_definition(row.definition)
        return self._by_version[version_id]

    def for_test(self, version_id: int) -> CompiledFlow:
        """Any version (a draft's too) for a try-out; NotFound when there is none."""
        if version_id not in self._by_version and db.session.get(FlowVersion, version_id) is None:
            raise NotFound(f"there is no flow version {version_id} to try")
        return self.for_version(version_id)

    def flow_ids(self) -> list[str]:
        """Every flow: published ones and those only in the files."""
        stored = db.session.scalars(select(FlowRecord.key)).all()
        return sorted(set(stored) | set(self.flows))


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


def current_flow(flow_id: str | None, default_flow: str) -> Published | None:
    return registry().current(flow_id or default_flow)


def flow_for(flow_id: str | None, language: str | None, default_flow: str) -> CompiledFlow:
    """The current version of the flow a request names (or the default); Invalid for an unknown
    flow or language."""
    published = current_flow(flow_id, default_flow)
    if published is None:
        raise Invalid(f"unknown flow {flow_id!r}; known: {', '.join(registry().flow_ids())}")
    compiled = published.compiled
    if language is not None and language not in compiled.flow.languages:
        raise Invalid(f"flow {compiled.id!r} has no language {language!r}; it has {compiled.flow.languages}")
    return compiled
