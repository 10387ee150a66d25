"""A JSON POST to a CRM, signed with HMAC-SHA256 so the receiver can trust it.

The receiver recomputes `hex(hmac_sha256(secret, timestamp + "." + body))` and compares it with
the `X-Survey-Signature: sha256=<hex>` header; the timestamp header lets it refuse replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import requests

from ivr.channels.errors import DeliveryError
from ivr.models import Notification

SIGNATURE_HEADER = "X-Survey-Signature"
TIMESTAMP_HEADER = "X-Survey-Timestamp"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def send(notification: Notification) -> str:
    if not notification.secret:
        raise DeliveryError("the team has no webhook secret: refusing to send an unsigned webhook")
    body = json.dumps(notification.payload, sort_keys=True).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(notification.secret, timestamp, body),
        "X-Survey-Event": notification.event,
        "X-Survey-Delivery": str(notification.id),
    }
    try:
        reply = requests.post(notification.recipient, data=body, headers=headers, timeout=10)
    except requests.RequestException as exc:
        raise DeliveryError(f"POST {notification.recipient}: {exc}") from exc
    if not 200 <= reply.status_code < 300:
        raise DeliveryError(f"POST {notification.recipient}: HTTP {reply.status_code}")
    return f"HTTP {reply.status_code}"
