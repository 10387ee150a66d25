"""E-mail over SMTP with the standard library."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

from ivr.channels.errors import DeliveryError
from ivr.models import Notification
from ivr.settings import Environment, settings

log = logging.getLogger(__name__)


def send(notification: Notification) -> str:
    config = settings()
    if not config.smtp_host and config.ivr_env is Environment.development:
        # A laptop without a mail server (`make run` starts a catcher and sets SMTP_HOST).
        log.info(
            "development, SMTP_HOST unset: e-mail to %s written here instead of sent\nSubject: %s\n\n%s",
            notification.recipient,
            notification.subject,
            notification.body,
        )
        return "written to the log (development, SMTP_HOST unset)"
    if not config.smtp_host:
        raise DeliveryError("SMTP_HOST is not set: there is no server to send e-mail through")
    message = EmailMessage()
    message["From"] = config.smtp_from
    message["To"] = notification.recipient
    message["Subject"] = notification.subject
    # The same id on every attempt, so a mail server can drop a duplicate.
    message["Message-ID"] = make_msgid(idstring=f"notification-{notification.id}")
    message.set_content(notification.body)
    try:
        with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=10) as smtp:
            if config.smtp_starttls:
                smtp.starttls()
            if config.smtp_username:
                smtp.login(config.smtp_username, config.smtp_password or "")
            refused = smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP {config.smtp_host}:{config.smtp_port}: {exc}") from exc
    if refused:
        raise DeliveryError(f"SMTP refused {', '.join(refused)}")
    return f"accepted by {config.smtp_host}"
