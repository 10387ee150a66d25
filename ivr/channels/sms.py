"""SMS through Twilio's Messages API, with the real twilio client."""

from __future__ import annotations

from twilio.base.exceptions import TwilioException, TwilioRestException

from ivr.channels.errors import DeliveryError
from ivr.models import Notification
from ivr.settings import settings
from ivr.twilio_rest import twilio_client

# One SMS segment set is plenty for a notification; the link carries the rest.
MAX_SMS = 600


def send(notification: Notification) -> str:
    sender = settings().twilio_sms_from
    if not sender:
        raise DeliveryError("TWILIO_SMS_FROM is not set: there is no number to send SMS from")
    origin = {"messaging_service_sid": sender} if sender.startswith("MG") else {"from_": sender}
    try:
        message = twilio_client().messages.create(
            to=notification.recipient, body=notification.body[:MAX_SMS], **origin
        )
    except TwilioRestException as exc:
        raise DeliveryError(f"Twilio refused the SMS: HTTP {exc.status} {exc.msg}") from exc
    except (TwilioException, OSError) as exc:
        raise DeliveryError(f"could not reach Twilio: {exc}") from exc
    return f"message {message.sid}"
