"""People who sign in, with the role that decides what they see (ivr.services.policy)."""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ivr.models.base import Base, Timestamp, utcnow

if TYPE_CHECKING:
    from ivr.models.agents import Agent
    from ivr.models.teams import Supervisor


class Role(StrEnum):
    agent = "agent"  # their own feedback, scores and recordings; never caller numbers
    supervisor = "supervisor"  # their teams' callback tasks, agents and responses
    analyst = "analyst"  # every team's data, caller numbers masked; reads only
    admin = "admin"  # everything; full caller numbers only on callback tasks
    integrator = "integrator"  # API keys only: sends callers to surveys, places survey calls


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored in lower case: sign-in is case-insensitive.
    email: Mapped[str] = mapped_column(String(255), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16))
    # The agent an agent user is, the supervisor a supervisor user is.
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("supervisors.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    last_login_at: Mapped[Timestamp | None]

    agent: Mapped[Agent | None] = relationship()
    supervisor: Mapped[Supervisor | None] = relationship()

    @property
    def label(self) -> str:
        return self.display_name or self.email

    # What Flask-Login asks of a signed-in user.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        """What the session cookie holds: the id and a fingerprint of the password hash, so that
        a new password ends every other session of this user."""
        return f"{self.id}:{self.session_fingerprint}"

    @property
    def session_fingerprint(self) -> str:
        return hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"
