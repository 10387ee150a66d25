"""A caller as Twilio would play one: signed form posts, following Gather actions and
redirects, and the status callback when the call ends.

Used by `flask simulate`, by the tests (through Flask's test client) and by bench/.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from twilio.request_validator import RequestValidator

# What a caller does at a Gather: keys (e.g. "5", "10", "10#"), SILENCE, or HANG_UP.
SILENCE = "-"
HANG_UP = "!"

Transport = Callable[[str, dict[str, str], dict[str, str]], tuple[int, str]]


def http_transport(timeout: float = 15.0) -> Transport:
    """POST over real HTTP, as Twilio does (it gives up after 15 s)."""

    def post(url: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        body = urllib.parse.urlencode(form).encode()
        req = urllib.request.Request(url, data=body, headers=headers, method="POST")
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    return post


@dataclass
class Exchange:
    """One webhook the simulated caller's call made."""

    url: str
    form: dict[str, str]
    status: int
    body: str
    seconds: float


@dataclass
class CallTranscript:
    heard: list[str] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    hung_up_by_caller: bool = False
    errors: list[str] = field(default_factory=list)


class SimulatedCall:
    def __init__(
        self,
        transport: Transport,
        base_url: str,
        auth_token: str,
        call_sid: str | None = None,
        from_number: str = "+15005550006",
        to_number: str = "+15005550001",
        on_hear: Callable[[str], None] | None = None,
    ) -> None:
        self.transport = transport
        self.base_url = base_url.rstrip("/")
        self.validator = RequestValidator(auth_token)
        self.call_sid = call_sid or "CA" + uuid.uuid4().hex
        self.from_number = from_number
        self.to_number = to_number
        self.on_hear = on_hear or (lambda text: None)
        self.transcript = CallTranscript()
        self.started = time.monotonic()

    def post(self, url: str, extra: dict[str, str] | None = None) -> Exchange:
        url = urllib.parse.urljoin(self.base_url + "/", url)
        form = {
            "CallSid": self.call_sid,
            "AccountSid": "AC" + "0" * 32,
            "From": self.from_number,
            "To": self.to_number,
            "Direction": "inbound",
            "CallStatus": "in-progress",
            **(extra or {}),
        }
        headers = {"X-Twilio-Signature": self.validator.compute_signature(url, form)}
        began = time.perf_counter()
        status, body = self.transport(url, form, headers)
        exchange = Exchange(url, form, status, body, time.perf_counter() - began)
        self.transcript.exchanges.append(exchange)
        return exchange

    def run(self, start_url: str, actions: Iterator[str]) -> CallTranscript:
        """Play the call from start_url, taking the caller's actions in order; then hang up."""
        exchange: Exchange | None = self.post(start_url)
        while exchange is not None:
            exchange = self._play(exchange, actions)
        self.post(
            "/voice/status",
            {"CallStatus": "completed", "CallDuration": str(int(time.monotonic() - self.started))},
        )
        return self.transcript

    def _hear(self, text: str) -> None:
        self.transcript.heard.append(text)
        self.on_hear(text)

    def _play(self, exchange: Exchange, actions: Iterator[str]) -> Exchange | None:
        if exchange.status != 200:
            self.transcript.errors.append(f"{exchange.url} answered HTTP {exchange.status}")
            return None
        try:
            root = ET.fromstring(exchange.body)
        except ET.ParseError as exc:
            self.transcript.errors.append(f"{exchange.url} answered invalid TwiML: {exc}")
            return None
        for verb in root:
            if verb.tag == "Say":
                self._hear(verb.text or "")
            elif verb.tag == "Play":
                self._hear(f"[audio {verb.text}]")
            elif verb.tag == "Redirect":
                return self.post(verb.text or "")
            elif verb.tag == "Hangup":
                return None
            elif verb.tag == "Gather":
                for inner in verb:
                    if inner.tag == "Say":
                        self._hear(inner.text or "")
                action = next(actions, HANG_UP)
                if action == HANG_UP:
                    self.transcript.hung_up_by_caller = True
                    return None
                digits = "" if action == SILENCE else action.rstrip("#")
                if digits or verb.get("actionOnEmptyResult") == "true":
                    return self.post(verb.get("action") or exchange.url, {"Digits": digits} if digits else {})
                # Twilio falls through to the next verb when nothing was pressed.
        return None  # the end of the document: Twilio hangs up
