"""Agents, known by the external reference the telephony platform uses for them."""

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ivr.models.base import Base, Timestamp, utcnow


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Twilio client name, SIP URI, phone number or TaskRouter worker SID.
    ref: Mapped[str] = mapped_column(String(255), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(255))
    # True when the agent was first seen on a webhook rather than set up by an admin.
    auto_created: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<Agent {self.ref}>"
