"""Open-loop load: calls (or single webhooks) start on a fixed schedule whatever the server's
speed, so a slow server cannot hide behind a slow client.

A survey call behaves like Twilio: signed form posts, following each <Gather> and <Record>
action, a caller think time between questions, a share of wrong keys, silences and hang-ups, a
voice comment at the end, then the status and recording callbacks.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlencode, urljoin

import aiohttp
from twilio.request_validator import RequestValidator

TIMEOUT = aiohttp.ClientTimeout(total=15)  # Twilio's own limit


@dataclass
class Mix:
    wrong_key: float = 0.08
    silence: float = 0.05
    hang_up: float = 0.04  # per question
    low_score: float = 0.15  # callers who give CSAT 1 (an extreme low)
    think: tuple[float, float] = (0.5, 1.5)  # seconds between hearing a question and answering


@dataclass
class Sample:
    sent: float  # monotonic seconds since the run began
    latency: float
    ok: bool


@dataclass
class LoadResult:
    samples: list[Sample] = field(default_factory=list)
    # CallSid -> wall-clock time the webhook that ended a low-score survey was answered.
    low_score_ends: dict[str, float] = field(default_factory=dict)
    calls_started: int = 0
    # Monotonic seconds since the run began at which a survey ended with the server's goodbye.
    completed: list[float] = field(default_factory=list)

    def window(self, start: float, end: float) -> list[Sample]:
        return [s for s in self.samples if start <= s.sent < end]

    def completed_in(self, start: float, end: float) -> int:
        return sum(start <= at < end for at in self.completed)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


@dataclass
class Stats:
    rate: float
    count: int
    errors: int
    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, samples: list[Sample], seconds: float) -> Stats:
        latencies = [s.latency for s in samples]
        return cls(
            rate=len(samples) / seconds if seconds else 0.0,
            count=len(samples),
            errors=sum(not s.ok for s in samples),
            p50=percentile(latencies, 0.50),
            p95=percentile(latencies, 0.95),
            p99=percentile(latencies, 0.99),
            max=max(latencies, default=float("nan")),
        )


class Poster:
    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, token: str, result: LoadResult, t0: float
    ):
        self.session = session
        self.base_url = base_url
        self.validator = RequestValidator(token)
        self.result = result
        self.t0 = t0

    async def post(self, url: str, form: dict[str, str]) -> tuple[int, str]:
        url = urljoin(self.base_url, url)
        headers = {"X-Twilio-Signature": self.validator.compute_signature(url, form)}
        began = time.monotonic()
        try:
            async with self.session.post(url, data=form, headers=headers) as response:
                body = await response.text()
                status = response.status
        except (TimeoutError, aiohttp.ClientError):
            status, body = 0, ""
        self.result.samples.append(Sample(began - self.t0, time.monotonic() - began, status in (200, 204)))
        return status, body


async def survey_call(
    poster: Poster, start_path: str, mix: Mix, rng: random.Random, status_path: str | None = "/voice/status"
) -> None:
    call_sid = "CA" + uuid.uuid4().hex
    base = {"CallSid": call_sid, "AccountSid": "AC" + "0" * 32, "From": f"+1555{rng.randrange(10**7):07d}"}
    low = rng.random() < mix.low_score
    status, body = await poster.post(start_path, base)
    questions = 0
    # When the webhook that made a low-score response final was answered (wall clock).
    final_at: float | None = None
    recording: dict[str, str] | None = None
    recording_callback = ""
    while status == 200:
        document = ET.fromstring(body) if body else None
        gather = document.find("Gather") if document is not None else None
        record = document.find("Record") if document is not None else None
        redirect = document.find("Redirect") if document is not None else None
        if gather is None and record is None and redirect is not None and redirect.text:
            status, body = await poster.post(redirect.text, dict(base))  # Twilio follows at once
            continue
        if gather is None and record is None:
            final_at = time.time() if low else None  # the server ended the survey
            if document is not None and document.find("Hangup") is not None and questions > 0:
                poster.result.completed.append(time.monotonic() - poster.t0)
            break
        await asyncio.sleep(rng.uniform(*mix.think))
        roll = rng.random()
        if roll < mix.hang_up:
            break
        if record is not None:
            # A voice comment (the server does not wait for its length: Twilio would).
            sid = "RE" + uuid.uuid4().hex
            recording = {"RecordingSid": sid, "RecordingUrl": f"https://api.twilio.com/{sid}"}
            recording["RecordingDuration"] = str(rng.randint(4, 30))
            recording_callback = record.get("recordingStatusCallback", "")
            status, body = await poster.post(record.get("action", ""), {**base, **recording, "Digits": "#"})
            continue
        assert gather is not None
        if roll < mix.hang_up + mix.silence:
            digits = ""
        elif roll < mix.hang_up + mix.silence + mix.wrong_key:
            digits = "9" if gather.get("numDigits") == "1" else "42"
        else:
            digits = _answer(gather, questions, low, rng)
            questions += 1  # a valid answer: wrong keys and silence are asked again
        form = {**base, "Digits": digits} if digits else dict(base)
        status, body = await poster.post(gather.get("action", ""), form)
    if status_path is not None:
        await poster.post(status_path, {**base, "CallStatus": "completed", "CallDuration": "60"})
    if recording is not None:  # Twilio's recording status callback comes after the call
        await poster.post(recording_callback, {**base, **recording, "RecordingStatus": "completed"})
    if final_at is None and low and questions > 0:
        final_at = time.time()  # the caller hung up: the status callback made it final
    if final_at is not None:
        poster.result.low_score_ends[call_sid] = final_at


def _answer(gather: ET.Element, asked: int, low: bool, rng: random.Random) -> str:
    if gather.get("numDigits") == "2":
        return str(rng.choice([0, 1, 2])) if low else str(rng.randint(5, 10))
    if asked == 0:
        return "1" if low else str(rng.choice([3, 4, 4, 5, 5, 5]))
    return str(rng.choice([1, 2]))


async def run_open_loop(
    base_url: str,
    token: str,
    rate: float,
    seconds: float,
    *,
    calls: bool,
    start_path: str = "/voice/survey?agent=alice&queue=support&lang=en",
    mix: Mix | None = None,
    drain: float = 20.0,
    seed: int = 7,
    status_path: str | None = "/voice/status",
) -> LoadResult:
    """Start `rate` calls (or single webhooks) per second for `seconds`, then let them finish."""
    mix = mix or Mix()
    rng = random.Random(seed)
    result = LoadResult()
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
    async with aiohttp.ClientSession(connector=connector, timeout=TIMEOUT) as session:
        t0 = time.monotonic()
        poster = Poster(session, base_url, token, result, t0)
        tasks: list[asyncio.Task[None]] = []
        interval = 1.0 / rate
        index = 0
        while True:
            due = t0 + index * interval
            if due - t0 >= seconds:
                break
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if calls:
                tasks.append(asyncio.create_task(survey_call(poster, start_path, mix, rng, status_path)))
            else:
                form = {"CallSid": "CA" + uuid.uuid4().hex, "Digits": "5"}
                tasks.append(asyncio.create_task(_single(poster, form)))
            result.calls_started += 1
            index += 1
        _done, pending = await asyncio.wait(tasks, timeout=drain) if tasks else (set(), set())
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    return result


async def _single(poster: Poster, form: dict[str, str]) -> None:
    await poster.post("/voice/survey/1/csat?" + urlencode({"ni": 0, "nm": 0}), form)
