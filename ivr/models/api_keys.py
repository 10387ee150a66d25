"""API keys for integrators; only a hash is stored, the key is shown once."""

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ivr.models.base import Base, Timestamp, utcnow


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    revoked_at: Mapped[Timestamp | None]
