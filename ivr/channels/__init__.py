"""How a notification leaves the building: SMS (Twilio), e-mail (SMTP), signed webhook (HTTP).

Each sender delivers one notification and returns a short receipt (message SID, SMTP reply,
HTTP status), or raises DeliveryError saying what went wrong.
"""

from __future__ import annotations

from collections.abc import Callable

from ivr.channels.errors import DeliveryError
from ivr.models import Channel, Notification


def sender(channel: Channel) -> Callable[[Notification], str]:
    from ivr.channels import email, sms, webhook

    senders: dict[Channel, Callable[[Notification], str]] = {
        Channel.sms: sms.send,
        Channel.email: email.send,
        Channel.webhook: webhook.send,
    }
    return senders[channel]


__all__ = ["DeliveryError", "sender"]
