"""The front door's routing in the database: immutable versions and the one current pointer
with its draft, as for call flows (the audit log is the flows' one, under ROUTING_AUDIT_KEY)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ivr.models.base import Base, Timestamp, utcnow

# The flow_audit key of the routing's entries: no flow can have it (flow ids are slugs).
ROUTING_AUDIT_KEY = "(routing)"
# The one row of the routing table.
FRONT_DOOR = "front-door"


class RoutingVersion(Base):
    """One published routing: the YAML as written (comments kept, exported byte for byte) and
    the document it reads as. Never changed once written; a rollback writes a new version."""

    __tablename__ = "routing_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    # sha256 of the YAML text: a change of comment alone is a new version too.
    content_hash: Mapped[str] = mapped_column(String(64))
    yaml_text: Mapped[str] = mapped_column(Text)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    published_by: Mapped[str | None] = mapped_column(String(255))
    change_note: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<RoutingVersion v{self.version}>"


class RoutingRecord(Base):
    """The current routing (read on each call to the front door: one lookup by key) and the
    draft, if someone is editing it."""

    __tablename__ = "routing"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True, default=FRONT_DOOR)
    current_version_id: Mapped[int] = mapped_column(ForeignKey("routing_versions.id"))
    draft_yaml: Mapped[str | None] = mapped_column(Text)
    draft_base_version_id: Mapped[int | None] = mapped_column(ForeignKey("routing_versions.id"))
    draft_saved_by: Mapped[str | None] = mapped_column(String(255))
    draft_saved_at: Mapped[Timestamp | None]
