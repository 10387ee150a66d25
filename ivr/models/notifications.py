"""Notifications (SMS, e-mail, signed webhook) and every attempt to deliver them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ivr.models.base import Base, Timestamp, utcnow


class Channel(StrEnum):
    sms = "sms"
    email = "email"
    webhook = "webhook"


class NotificationStatus(StrEnum):
    pending = "pending"  # not yet delivered; retries may be under way
    sent = "sent"
    failed = "failed"  # every attempt failed


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_status_created_at", "status", "created_at"),
        Index("ix_notifications_task_id", "task_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # What it is about and for whom, e.g. "task-7:opened:email:ops@example.com": running the
    # job that creates it twice cannot notify twice.
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    event: Mapped[str] = mapped_column(String(32))
    channel: Mapped[Channel] = mapped_column(Enum(Channel, native_enum=False, length=16))
    recipient: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Signs the webhook body; copied from the team when the notification is made.
    secret: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[NotificationStatus] = mapped_column(
        Enum(NotificationStatus, native_enum=False, length=16), default=NotificationStatus.pending
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("callback_tasks.id", ondelete="CASCADE"))
    feedback_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("feedback_items.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    sent_at: Mapped[Timestamp | None]

    attempt_log: Mapped[list[NotificationAttempt]] = relationship(
        back_populates="notification", order_by="NotificationAttempt.id", cascade="all, delete-orphan"
    )


class NotificationAttempt(Base):
    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    ok: Mapped[bool]
    # The provider's id (message SID, SMTP reply, HTTP status) or the error.
    detail: Mapped[str | None] = mapped_column(Text)

    notification: Mapped[Notification] = relationship(back_populates="attempt_log")
