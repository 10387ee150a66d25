"""Teams and the supervisors who answer for them: who gets a callback task, and who is next."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ivr.models.base import Base, Timestamp, utcnow
from ivr.models.texts import SurveyChannel


class Supervisor(Base):
    __tablename__ = "supervisors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(32))
    # The next level: who gets a task this supervisor left open past its deadline.
    escalates_to_id: Mapped[int | None] = mapped_column(ForeignKey("supervisors.id"))
    # Deactivated rather than deleted, so history keeps the name; hidden from pick lists.
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    escalates_to: Mapped[Supervisor | None] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<Supervisor {self.name}>"


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    # None: callback tasks go to the team's pool, which any of its supervisors may claim.
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("supervisors.id"))
    # Where the pool is reached when nobody in particular owns a task.
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(32))
    # Which channels notify this team: any of "sms", "email", "webhook".
    channels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # A CRM endpoint that receives signed JSON events.
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_secret: Mapped[str | None] = mapped_column(String(128))
    # How a caller is followed up after a callback task is closed: call (default) or sms.
    follow_up_channel: Mapped[SurveyChannel | None] = mapped_column(
        Enum(SurveyChannel, native_enum=False, length=16)
    )
    # Deactivated rather than deleted, so history keeps the name; hidden from pick lists.
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    supervisor: Mapped[Supervisor | None] = relationship()

    def __repr__(self) -> str:
        return f"<Team {self.name}>"
