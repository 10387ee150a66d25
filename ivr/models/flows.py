"""Immutable flow versions: every response points at the exact definition it ran."""

from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ivr.models.base import Base, Timestamp, utcnow


class FlowVersion(Base):
    __tablename__ = "flow_versions"
    __table_args__ = (
        UniqueConstraint("flow_key", "version"),
        UniqueConstraint("flow_key", "content_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    flow_key: Mapped[str] = mapped_column(String(128))
    version: Mapped[int]
    # sha256 of the canonical JSON of the definition: the same content is the same version.
    content_hash: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<FlowVersion {self.flow_key} v{self.version}>"
