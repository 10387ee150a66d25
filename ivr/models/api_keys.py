"""API keys for integrators; only a hash is stored, the key is shown once."""

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ivr.models.base import Base, Timestamp, utcnow

LEGACY_ROLES = "integrator,analyst"


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the key, so an admin can tell keys apart without seeing them.
    prefix: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    # Written at most once a minute per key, so that a busy integrator costs no write per request.
    last_used_at: Mapped[Timestamp | None]
    revoked_at: Mapped[Timestamp | None]
    # What the key may do, as the roles of ivr.models.users.Role, comma separated; keys made
    # before roles existed are "integrator,analyst", which is what they could do then.
    roles: Mapped[str] = mapped_column(String(64), default=LEGACY_ROLES, server_default=LEGACY_ROLES)
    # The agent an agent key reads for, the supervisor a supervisor key acts as.
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("supervisors.id"))
