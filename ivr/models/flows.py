"""Call flows in the database: immutable versions, each flow's current pointer and draft, and
the audit log of who saved, published or rolled back what."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Enum, Float, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ivr.models.base import Base, Timestamp, utcnow


class FlowVersion(Base):
    """One published version: the flow document frozen with its prompt texts, voices, speech
    words and audio hashes. Never changed once written; a rollback writes a new version."""

    __tablename__ = "flow_versions"
    __table_args__ = (
        UniqueConstraint("flow_key", "version"),
        Index("ix_flow_versions_flow_key_content_hash", "flow_key", "content_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    flow_key: Mapped[str] = mapped_column(String(128))
    version: Mapped[int]
    # sha256 of the canonical JSON of the definition.
    content_hash: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    # Who published it (a user's label, "flask flows import", or the files at first start) and why.
    published_by: Mapped[str | None] = mapped_column(String(255))
    change_note: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<FlowVersion {self.flow_key} v{self.version}>"


class FlowRecord(Base):
    """A flow's current published version (read on every new survey: one primary-key lookup)
    and its draft, if someone is editing it."""

    __tablename__ = "flows"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    current_version_id: Mapped[int] = mapped_column(ForeignKey("flow_versions.id"))
    # The draft's flow document as the editor's YAML text, and its prompt texts (language ->
    # prompt key -> text); None when nobody is editing.
    draft_yaml: Mapped[str | None] = mapped_column(Text)
    draft_prompts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The version the draft started from: its voices, speech words and audio go with the draft.
    # Recordings changed on the draft: language -> prompt key -> "<file>?v=<hash>", or None for a
    # recording removed (the prompt is spoken again).
    draft_audio: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    draft_base_version_id: Mapped[int | None] = mapped_column(ForeignKey("flow_versions.id"))
    draft_saved_by: Mapped[str | None] = mapped_column(String(255))
    draft_saved_at: Mapped[Timestamp | None]


class FlowAction(StrEnum):
    save = "save"
    publish = "publish"
    rollback = "rollback"
    discard = "discard"
    imported = "imported"


class FlowAuditEntry(Base):
    __tablename__ = "flow_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    flow_key: Mapped[str] = mapped_column(String(128), index=True)
    action: Mapped[FlowAction] = mapped_column(Enum(FlowAction, native_enum=False, length=16))
    version_id: Mapped[int | None] = mapped_column(ForeignKey("flow_versions.id"))
    # The routing's entries (flow_key ROUTING_AUDIT_KEY) name a routing version instead.
    routing_version_id: Mapped[int | None] = mapped_column(ForeignKey("routing_versions.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(255))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[Timestamp] = mapped_column(default=utcnow)


class PromptAudio(Base):
    """A recorded prompt uploaded in the flow studio, stored by content: a version names it by
    its sha256, so it never changes under a published flow and every machine can serve it."""

    __tablename__ = "prompt_audio"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int]
    seconds: Mapped[float] = mapped_column(Float)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)
