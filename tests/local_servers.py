"""Real servers on 127.0.0.1: SMTP, a CRM webhook, Twilio's API, a private redis-server; subprocesses.

Each stand-in records what it received so a test can assert on the bytes that crossed the wire.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from redis import Redis
from redis.exceptions import RedisError

from tests.helpers import unavailable


def free_port() -> int:
    """A loopback port nobody listens on (until someone is started on it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server() -> Iterator[tuple[int, list[Message]]]:
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox.messages
    finally:
        controller.stop()


def crm_verifies(secret: str, headers: dict[str, str], body: bytes, now: float | None = None) -> bool:
    """A CRM checking a survey webhook as the README tells it to, independently of ivr's own code:
    hex HMAC-SHA256 of `timestamp + "." + raw body` with the shared secret, prefixed "sha256=",
    compared in constant time, and the timestamp no more than 300 seconds away."""
    named = {name.lower(): value for name, value in headers.items()}
    timestamp, sent = named.get("x-survey-timestamp", ""), named.get("x-survey-signature", "")
    if not timestamp.isdigit():
        return False
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    fresh = abs((time.time() if now is None else now) - int(timestamp)) < 300
    return hmac.compare_digest("sha256=" + digest, sent) and fresh


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    valid_signature: bool | None = None

    @property
    def form(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.body.decode()))

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpRecorder:
    """An HTTP server that records each POST and answers with `status`."""

    status: int = 200
    secret: str | None = None  # when set, verify each request as a CRM would (crm_verifies)
    # When set, act as Twilio's API for this account (HTTP Basic: account SID, auth token).
    account_sid: str | None = None
    auth_token: str | None = None
    # As Twilio's API: RecordingSid -> MP3 bytes, served on GET .../Recordings/<sid>.mp3.
    recordings: dict[str, bytes] = field(default_factory=dict)
    # What an error reply (status >= 400) says, as Twilio would.
    error_code: int = 30001
    error_message: str = "Queue overflow"
    received: list[Received] = field(default_factory=list)
    url: str = ""
    # As Twilio's API: the calls created (calls.create), listed again by GET .../Calls.json.
    calls: list[dict[str, str]] = field(default_factory=list)
    # Seconds to wait before answering calls.create (a slow Twilio, a worker killed meanwhile).
    create_delay: float = 0.0
    # Create the call, then answer 500 as if the reply were lost on the way back.
    lose_create_reply: bool = False
    # As Twilio's API: the texts sent (messages.create), each with its SID and status callback.
    messages: list[dict[str, str]] = field(default_factory=list)

    def get(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """A recording's media, as Twilio serves it: account credentials required, ranges honoured."""
        self.received.append(Received(path, headers, b""))
        if not self._authorised(headers):
            return 401, {"Content-Type": "application/json"}, b'{"code": 20003, "status": 401}'
        route, _, query = path.partition("?")
        if route == f"/2010-04-01/Accounts/{self.account_sid}/Calls.json":  # calls.list(to=, from_=)
            wanted = dict(urllib.parse.parse_qsl(query))
            calls = [
                call
                for call in reversed(self.calls)  # newest first, as Twilio lists them
                if call["to"] == wanted.get("To", call["to"])
                and call["from"] == wanted.get("From", call["from"])
            ]
            page = {"calls": calls, "page": 0, "page_size": 50, "next_page_uri": None, "uri": route}
            return 200, {"Content-Type": "application/json"}, json.dumps(page).encode()
        prefix = f"/2010-04-01/Accounts/{self.account_sid}/Recordings/"
        sid = path.removeprefix(prefix).removesuffix(".mp3")
        if not path.startswith(prefix) or sid not in self.recordings:
            return 404, {"Content-Type": "application/json"}, b'{"code": 20404, "status": 404}'
        audio = self.recordings[sid]
        wanted = headers.get("Range", "")
        if wanted.startswith("bytes="):
            first, _, last = wanted.removeprefix("bytes=").partition("-")
            start, end = int(first), min(int(last) if last else len(audio) - 1, len(audio) - 1)
            reply = {"Content-Type": "audio/mpeg", "Content-Range": f"bytes {start}-{end}/{len(audio)}"}
            return 206, {**reply, "Accept-Ranges": "bytes"}, audio[start : end + 1]
        return 200, {"Content-Type": "audio/mpeg", "Accept-Ranges": "bytes"}, audio

    def _authorised(self, headers: dict[str, str]) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return hmac.compare_digest(headers.get("Authorization", ""), expected)

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        record = Received(path, headers, body)
        if self.secret is not None:
            record.valid_signature = crm_verifies(self.secret, headers, body)
        self.received.append(record)
        if self.account_sid is not None:
            return self._twilio(path, headers, record)
        return self.status, b"{}"

    def _twilio(self, path: str, headers: dict[str, str], record: Received) -> tuple[int, bytes]:
        if not self._authorised(headers):
            return 401, json.dumps({"code": 20003, "message": "Authenticate", "status": 401}).encode()
        if self.status >= 400:
            error = {"code": self.error_code, "message": self.error_message, "status": self.status}
            return self.status, json.dumps(error).encode()
        form = record.form
        if path.endswith("/Calls.json"):  # calls.create(...)
            sid = f"CA{len(self.received):032d}"
            call = {"sid": sid, "status": "queued", "to": form.get("To", ""), "from": form.get("From", "")}
            self.calls.append({**call, "date_created": formatdate(usegmt=True)})
            time.sleep(self.create_delay)
            if self.lose_create_reply:
                return 500, json.dumps({"code": 20500, "message": "Internal error", "status": 500}).encode()
            return 201, json.dumps(call).encode()
        if "/Calls/" in path:  # calls(sid).update(...)
            sid = path.rsplit("/", 1)[-1].removesuffix(".json")
            return 200, json.dumps({"sid": sid, "status": "in-progress", "url": form.get("Url")}).encode()
        reply = {
            "sid": f"SM{len(self.received):032d}",
            "to": form.get("To"),
            "from": form.get("From") or form.get("MessagingServiceSid"),
            "body": form.get("Body"),
            "status": "queued",
        }
        sent = {**reply, "status_callback": form.get("StatusCallback")}
        self.messages.append({key: value or "" for key, value in sent.items()})
        return 201, json.dumps(reply).encode()


@contextmanager
def http_recorder(**options: Any) -> Iterator[HttpRecorder]:
    recorder = HttpRecorder(**options)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status, reply = recorder.handle(self.path, dict(self.headers.items()), body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def do_GET(self) -> None:
            status, headers, reply = recorder.get(self.path, dict(self.headers.items()))
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(reply))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def running(command: list[str], **popen: Any) -> Iterator[subprocess.Popen[bytes]]:
    """A subprocess (quiet) that is killed and reaped however the test ends."""
    process = subprocess.Popen(
        command, **{"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, **popen}
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


class RedisServer:
    """A redis-server of our own, so that stopping it disturbs no other test. Nothing is persisted:
    a restart starts empty."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        probe = Redis.from_url(self.url)
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.process.poll() is None:
                try:
                    if probe.ping():
                        return
                except (OSError, RedisError):
                    time.sleep(0.05)
        finally:
            probe.close()
        self.stop()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@contextmanager
def private_redis() -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        unavailable("redis-server (not installed)")
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        if server.process is not None:
            server.stop()
