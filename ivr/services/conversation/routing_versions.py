"""The routing a call to the front door follows: the database's current version.

As for call flows: every call reads the current pointer (one lookup by key, so a publish reaches
every web process at once), versions are immutable and cached by id, and the routing file
(callflows/routing/queues.yaml, checked at start) seeds a database that has none. Until someone
publishes a routing in the studio or imports one, it follows the file (a changed file is a new
version on the next call after a restart); after that the database wins.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import cast

from flask import Flask, current_app
from sqlalchemy import Table, bindparam, func, select, update

from ivr.db import insert_ignore
from ivr.extensions import db
from ivr.flows.routing import Routing, RoutingFile
from ivr.models import FRONT_DOOR, RoutingRecord, RoutingVersion
from ivr.services.conversation.flow_versions import SEEDED_BY
from ivr.services.errors import NotFound

_routing = cast(Table, RoutingRecord.__table__)
_CURRENT = select(_routing.c.current_version_id).where(_routing.c.key == bindparam("key"))


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class PublishedRouting:
    version_id: int
    routing: Routing


class RoutingRegistry:
    """The routing file (the seed, checked at start) and this process's cache of versions."""

    def __init__(self, seed: RoutingFile | None) -> None:
        self.seed = seed
        self._seed_hash = content_hash(seed.text) if seed is not None else None
        self._by_version: dict[int, Routing] = {}
        self._origin: dict[int, tuple[str, bool]] = {}  # version id -> (hash, seeded from the file)

    def current(self) -> PublishedRouting | None:
        """The current routing; the file's on first use (in the caller's transaction)."""
        version_id = db.session.execute(_CURRENT, {"key": FRONT_DOOR}).scalar()
        if version_id is None:
            if self.seed is None:
                return None
            version_id = self._seed(self.seed, None)
        elif self.seed is not None and self._follows_changed_file(version_id):
            version_id = self._seed(self.seed, version_id)
        return PublishedRouting(version_id, self.for_version(version_id))

    def _follows_changed_file(self, version_id: int) -> bool:
        if version_id not in self._origin:
            row = db.session.get_one(RoutingVersion, version_id)
            self._origin[version_id] = (row.content_hash, row.published_by in (None, SEEDED_BY))
        digest, seeded = self._origin[version_id]
        return seeded and digest != self._seed_hash

    def _seed(self, seed: RoutingFile, replacing: int | None) -> int:
        digest = content_hash(seed.text)
        existing = db.session.scalar(
            select(RoutingVersion.id)
            .filter_by(content_hash=digest)
            .order_by(RoutingVersion.version.desc())
            .limit(1)
        )
        if existing is None:
            number = (db.session.scalar(select(func.max(RoutingVersion.version))) or 0) + 1
            existing = insert_ignore(
                RoutingVersion,
                {
                    "version": number,
                    "content_hash": digest,
                    "yaml_text": seed.text,
                    "document": seed.routing.model_dump(mode="json"),
                    "source": seed.source,
                    "published_by": SEEDED_BY,
                },
                ["version"],
            )
            if existing is None:  # another process seeded the same number first
                existing = db.session.scalar(select(RoutingVersion.id).filter_by(version=number))
        if replacing is None:
            insert_ignore(RoutingRecord, {"key": FRONT_DOOR, "current_version_id": existing}, ["key"])
        else:  # only if nobody published meanwhile
            db.session.execute(
                update(RoutingRecord)
                .where(RoutingRecord.key == FRONT_DOOR, RoutingRecord.current_version_id == replacing)
                .values(current_version_id=existing)
            )
        version_id = db.session.execute(_CURRENT, {"key": FRONT_DOOR}).scalar()
        if version_id is None:  # pragma: no cover - the row was just written
            raise LookupError("the routing vanished while it was seeded")
        return int(version_id)

    def for_version(self, version_id: int) -> Routing:
        """A version's routing (immutable, so cached); NotFound when there is no such version."""
        if version_id not in self._by_version:
            row = db.session.get(RoutingVersion, version_id)
            if row is None:
                raise NotFound(f"there is no routing version {version_id}")
            self._by_version[version_id] = Routing.model_validate(row.document)
        return self._by_version[version_id]


def init_app(app: Flask) -> None:
    """After flow_versions.init_app, which checked the routing file with the flows."""
    app.extensions["ivr.routing"] = RoutingRegistry(app.extensions["ivr.front_door"].seed)


def registry() -> RoutingRegistry:
    found: RoutingRegistry = current_app.extensions["ivr.routing"]
    return found


def current_routing() -> Routing:
    """The routing in force; NotFound when there is none (no file, nothing published)."""
    return routing_for(None).routing


def routing_for(version_id: int | None) -> PublishedRouting:
    """A call's routing: the version it started with (None: the one in force now)."""
    if version_id is None:
        published = registry().current()
        if published is None:
            raise NotFound(
                "there is no routing: publish one at /routing or add callflows/routing/queues.yaml"
            )
        return published
    return PublishedRouting(version_id, registry().for_version(version_id))
