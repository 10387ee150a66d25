"""Who must not be surveyed: callers who opted out, and numbers an admin listed."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ivr.models.base import Base, Timestamp, utcnow


class ListSource(StrEnum):
    opt_out = "opt_out"  # the caller pressed the flow's opt-out key
    admin = "admin"  # added with `flask do-not-survey add` or an import


class DoNotSurvey(Base):
    """One number, kept only as its keyed hash (and a masked form to show admins)."""

    __tablename__ = "do_not_survey"

    id: Mapped[int] = mapped_column(primary_key=True)
    number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    masked: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[ListSource] = mapped_column(Enum(ListSource, native_enum=False, length=16))
    note: Mapped[str | None] = mapped_column(Text)
    added_at: Mapped[Timestamp] = mapped_column(default=utcnow)
