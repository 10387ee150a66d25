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

# What a caller does at a Gather or Record, one action each:
#   "5", "10", "10#"          keys
#   "say:very satisfied"      a spoken answer (Twilio's confidence 0.9); "say:five@0.3" with 0.3
#   "rec:12"                  a 12-second voice comment; "rec:12:It was slow" with the transcript
#                             Twilio sends after the call; "rec:0" records nothing at all
#   "dial:completed:120"      at a <Dial>: the agent answers, talks 120 s and hangs up; also
#                             "dial:busy", "dial:no-answer", "dial:failed", "dial:canceled" (the
#                             caller gives up while it rings) and "dial:hangup:60" (the caller
#                             hangs up on the agent after 60 s)
#   SILENCE, HANG_UP
SILENCE = "-"
HANG_UP = "!"
SAY = "say:"
RECORD = "rec:"
DIAL = "dial:"
# Also accepted for HANG_UP, at the prompt and in --keys alike.
HANG_UP_WORDS = ("h", "hangup")
# The number a simulated caller dials (the sample routing's support queue).
DEFAULT_TO = "+15005550001"
DIAL_STATUSES = ("completed", "busy", "no-answer", "failed", "canceled", "hangup")
DIAL_NEEDS_SECONDS = ("completed", "hangup")


def demo_caller() -> str:
    """A fresh fictional number (+1 555 01xx xxxx) for each simulated call, so that an opt-out or
    "once in N days" on one demo call never silently suppresses the next."""
    return f"+155501{uuid.uuid4().int % 100_000:05d}"


def problem_with(action: str) -> str | None:
    """Why `action` is not something a caller can do (see the list above), or None."""
    if action in (SILENCE, HANG_UP) or action.lower() in HANG_UP_WORDS:
        return None
    if action.startswith(SAY):
        words, _, confidence = action[len(SAY) :].partition("@")
        if not words.strip():
            return f"{action!r}: say what, e.g. {SAY}five"
        if confidence:
            try:
                if not 0.0 <= float(confidence) <= 1.0:
                    raise ValueError
            except ValueError:
                return f"{action!r}: the confidence after @ is a number from 0 to 1, e.g. {SAY}five@0.3"
        return None
    if action.startswith(RECORD):
        seconds = action[len(RECORD) :].partition(":")[0]
        if not seconds.isdigit():
            return f"{action!r}: {RECORD}<seconds>[:<transcript>], e.g. {RECORD}8 or {RECORD}12:It was slow"
        return None
    if action.startswith(DIAL):
        status, _, seconds = action[len(DIAL) :].partition(":")
        if status not in DIAL_STATUSES:
            return f"{action!r}: {DIAL}<status>, one of {', '.join(DIAL_STATUSES)}"
        if status in DIAL_NEEDS_SECONDS and not seconds.isdigit():
            return f"{action!r}: {DIAL}{status}:<seconds>, e.g. {DIAL}{status}:90"
        return None
    keys = action[:-1] if action.endswith("#") else action
    if keys and all(key.isdigit() or key in "*#" for key in keys):
        return None
    return (
        f"{action!r} is not a caller action: use keys (4, 10, 7#, *), {SILENCE} for silence, "
        f"{HANG_UP} to hang up, {SAY}<words>, {RECORD}<seconds>[:<transcript>] or {DIAL}<status>[:<seconds>]"
    )


def _hang_up_alias(action: str) -> str:
    return HANG_UP if action.lower() in HANG_UP_WORDS else action


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
    recording_sids: list[str] = field(default_factory=list)


class SimulatedCall:
    def __init__(
        self,
        transport: Transport,
        base_url: str,
        auth_token: str,
        call_sid: str | None = None,
        from_number: str = "+15005550006",
        to_number: str = DEFAULT_TO,
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
        # Callbacks Twilio sends after the call: recording status, then transcription.
        self.late_callbacks: list[tuple[str, dict[str, str]]] = []

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

    def run(self, start_url: str, actions: Iterator[str], send_late_callbacks: bool = True) -> CallTranscript:
        """Play the call from start_url, taking the caller's actions in order; then hang up, and
        send what Twilio sends after the call (unless told to hold it back)."""
        exchange: Exchange | None = self.post(start_url)
        while exchange is not None:
            exchange = self._play(exchange, actions)
        self.post(
            "/voice/status",
            {"CallStatus": "completed", "CallDuration": str(int(time.monotonic() - self.started))},
        )
        if send_late_callbacks:
            self.send_late_callbacks()
        return self.transcript

    def send_late_callbacks(self) -> None:
        while self.late_callbacks:
            url, form = self.late_callbacks.pop(0)
            self.post(url, form)

    def _hear(self, text: str) -> None:
        self.transcript.heard.append(text)
        self.on_hear(text)

    def _play(self, exchange: Exchange, actions: Iterator[str]) -> Exchange | None:
        # One branch per TwiML verb, in document order, as Twilio plays them.
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
                    elif inner.tag == "Play":
                        self._hear(f"[audio {inner.text}]")
                action = _hang_up_alias(next(actions, HANG_UP))
                if action == HANG_UP:
                    self.transcript.hung_up_by_caller = True
                    return None
                form = self._gather_result(verb, action)
                if form or verb.get("actionOnEmptyResult") == "true":
                    return self.post(verb.get("action") or exchange.url, form)
                # Twilio falls through to the next verb when nothing was pressed.
            elif verb.tag == "Dial":
                action = _hang_up_alias(next(actions, HANG_UP))
                if action == HANG_UP or not action.startswith(DIAL):
                    self.transcript.hung_up_by_caller = True
                    return None
                status, _, seconds = action[len(DIAL) :].partition(":")
                caller_left = status in ("hangup", "canceled")
                form = {
                    "DialCallStatus": "completed" if status == "hangup" else status,
                    "DialCallDuration": seconds or "0",
                    "CallStatus": "completed" if caller_left else "in-progress",
                }
                if verb.get("action"):
                    exchange = self.post(verb.get("action") or "", form)
                    if caller_left:
                        self.transcript.hung_up_by_caller = True
                        return None  # Twilio ignores what the action answers: the caller is gone
                    return exchange
                if caller_left:
                    return None
            elif verb.tag == "Record":
                action = _hang_up_alias(next(actions, HANG_UP))
                if action == HANG_UP:
                    self.transcript.hung_up_by_caller = True
                    return None
                form = self._record(verb, action)
                if form:
                    return self.post(verb.get("action") or exchange.url, form)
                # Twilio heard nothing: no action request, on to the next verb.
        return None  # the end of the document: Twilio hangs up

    def _gather_result(self, gather: ET.Element, action: str) -> dict[str, str]:
        if action.startswith(SAY):
            if "speech" not in (gather.get("input") or ""):
                return {}  # this Gather only listens for keys: speaking is silence to it
            said, _, confidence = action[len(SAY) :].partition("@")
            return {"SpeechResult": said, "Confidence": confidence or "0.9"}
        digits = "" if action == SILENCE else action.rstrip("#")
        return {"Digits": digits} if digits else {}

    def _record(self, record: ET.Element, action: str) -> dict[str, str]:
        if not action.startswith(RECORD):
            return {}  # keys or silence at a Record: nothing recorded
        seconds, _, transcript = action[len(RECORD) :].partition(":")
        if int(seconds or 0) <= 0:
            return {}
        sid = "RE" + uuid.uuid4().hex
        self.transcript.recording_sids.append(sid)
        url = f"https://api.twilio.com/2010-04-01/Accounts/AC{'0' * 32}/Recordings/{sid}"
        form = {"RecordingSid": sid, "RecordingUrl": url, "RecordingDuration": seconds}
        if record.get("recordingStatusCallback"):
            status = {**form, "RecordingStatus": "completed", "RecordingSource": "RecordVerb"}
            self.late_callbacks.append((record.get("recordingStatusCallback") or "", status))
        if record.get("transcribe") == "true" and record.get("transcribeCallback"):
            text = {
                "RecordingSid": sid,
                "RecordingUrl": url,
                "TranscriptionSid": "TR" + uuid.uuid4().hex,
                "TranscriptionStatus": "completed" if transcript else "failed",
                "TranscriptionText": transcript,
            }
            self.late_callbacks.append((record.get("transcribeCallback") or "", text))
        return {**form, "Digits": record.get("finishOnKey") or "#"}


# --- texts: a phone texting the survey number, as Twilio's Messaging webhooks carry it


@dataclass
class TextExchange:
    """One text the phone sent, and the replies the server answered with (TwiML <Message>s)."""

    body: str
    message_sid: str
    status: int
    replies: list[str]
    seconds: float


class SimulatedPhone:
    """A caller's phone texting the survey number: each text a signed POST /sms/incoming, each
    reply read from the <Message>s of the TwiML answer, and for each of our texts the status
    callback Twilio would send (delivered, or what `delivery` says)."""

    def __init__(
        self,
        transport: Transport,
        base_url: str,
        auth_token: str,
        from_number: str = "+15005550006",
        to_number: str = "+15005550100",
        on_receive: Callable[[str], None] | None = None,
    ) -> None:
        self.transport = transport
        self.base_url = base_url.rstrip("/")
        self.validator = RequestValidator(auth_token)
        self.from_number = from_number
        self.to_number = to_number
        self.on_receive = on_receive or (lambda text: None)
        self.received: list[str] = []
        self.delivery = "delivered"

    def post(self, url: str, form: dict[str, str]) -> tuple[int, str]:
        url = urllib.parse.urljoin(self.base_url + "/", url)
        headers = {"X-Twilio-Signature": self.validator.compute_signature(url, form)}
        return self.transport(url, form, headers)

    def receive(self, body: str, status_callback: str | None, message_sid: str | None = None) -> None:
        """A text reaches the phone; Twilio reports its delivery to `status_callback`."""
        self.received.append(body)
        self.on_receive(body)
        if status_callback:
            self.report(status_callback, message_sid or "SM" + uuid.uuid4().hex, self.delivery)

    def report(
        self, status_callback: str, message_sid: str, status: str, error_code: str | None = None
    ) -> int:
        form = {
            "MessageSid": message_sid,
            "MessageStatus": status,
            "AccountSid": "AC" + "0" * 32,
            "From": self.to_number,
            "To": self.from_number,
            **({"ErrorCode": error_code} if error_code else {}),
        }
        return self.post(status_callback, form)[0]

    def text(self, body: str, message_sid: str | None = None) -> TextExchange:
        """Send a text (again, with the same `message_sid`: a repeated delivery) and take the replies."""
        sid = message_sid or "SM" + uuid.uuid4().hex
        form = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": "AC" + "0" * 32,
            "From": self.from_number,
            "To": self.to_number,
            "Body": body,
            "NumMedia": "0",
        }
        began = time.perf_counter()
        status, answer = self.post("/sms/incoming", form)
        seconds = time.perf_counter() - began
        replies: list[str] = []
        if status == 200 and answer.startswith("<?xml"):
            for message in ET.fromstring(answer).iter("Message"):
                text = "".join(message.itertext())
                replies.append(text)
                self.receive(text, message.get("action"))
        return TextExchange(body, sid, status, replies, seconds)
