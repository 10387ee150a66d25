"""E-mail over SMTP with the standard library."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app

from ivr.channels.errors import DeliveryError
from ivr.models import Notification


def send(notification: Notification) -> str:
    settings = current_app.extensions["ivr.settings"]
    if not settings.smtp_host:
        raise DeliveryError("SMTP_HOST is not set: there is no server to send e-mail through")
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = notification.recipient
    message["Subject"] = notification.subject
    # The same id on every attempt, so a mail server can drop a duplicate.
    message["Message-ID"] = make_msgid(idstring=f"notification-{notification.id}")
    message.set_content(notification.body)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password or "")
            refused = smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP {settings.smtp_host}:{settings.smtp_port}: {exc}") from exc
    if refused:
        raise DeliveryError(f"SMTP refused {', '.join(refused)}")
    return f"accepted by {settings.smtp_host}"
