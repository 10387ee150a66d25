"""Twilio's REST client, built from the settings, pointed at Twilio or at a stand-in.

Every outbound request (SMS, recordings; call redirects and outbound calls later) goes through
`twilio_client()`, so one setting, TWILIO_API_BASE_URL, moves all of them to a local stand-in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import requests
from flask import Response as FlaskResponse
from flask import stream_with_context
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from ivr.settings import settings

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"


class RebasedHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio's http module is untyped
    """Sends what the client addresses to api.twilio.com to another base URL instead."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


def twilio_client(timeout: float = 10) -> Client:
    config = settings()
    http_client = (
        RebasedHttpClient(config.twilio_api_base_url, timeout)
        if config.twilio_api_base_url != TWILIO_API
        else TwilioHttpClient(timeout=timeout)
    )
    return Client(config.twilio_account_sid, config.twilio_auth_token, http_client=http_client)


def recording_media(recording_sid: str, range_header: str | None = None, timeout: float = 10) -> Any:
    """Open a recording's MP3 on Twilio with the account's credentials, streamed (a requests
    Response; the caller closes it). The URL is built from the SID, never taken from input."""
    config = settings()
    base = config.twilio_api_base_url.rstrip("/")
    url = f"{base}/2010-04-01/Accounts/{config.twilio_account_sid}/Recordings/{recording_sid}.mp3"
    headers = {"Range": range_header} if range_header else {}
    return requests.get(
        url,
        auth=(config.twilio_account_sid, config.twilio_auth_token),
        headers=headers,
        stream=True,
        timeout=timeout,
    )


class RecordingUnavailable(Exception):
    """Twilio could not be reached, or would not give the recording: a 502 for whoever asked."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def recording_response(recording_sid: str, range_header: str | None = None) -> FlaskResponse:
    """A recording streamed through the app (the API's and the pages' players alike), Range
    passed through so players can seek (206). Ask the policy first: this checks nothing."""
    try:
        upstream = recording_media(recording_sid, range_header)
    except requests.RequestException as exc:
        # The exception names Twilio's URL, which holds the account SID: logged, never answered.
        log.warning("recording %s: Twilio could not be reached: %s", recording_sid, exc)
        raise RecordingUnavailable(
            "upstream_unavailable", "Twilio could not be reached; try again later"
        ) from exc
    if upstream.status_code not in (200, 206):
        upstream.close()
        log.warning("recording %s: Twilio answered %s", recording_sid, upstream.status_code)
        raise RecordingUnavailable(
            "upstream_error", f"Twilio answered {upstream.status_code} for recording {recording_sid}"
        )
    headers = {
        name: upstream.headers[name]
        for name in ("Content-Length", "Content-Range", "Accept-Ranges")
        if name in upstream.headers
    }
    headers["Cache-Control"] = "private, no-store"

    def body() -> Iterator[bytes]:
        with upstream:
            yield from upstream.iter_content(chunk_size=64 * 1024)

    return FlaskResponse(
        stream_with_context(body()),
        status=upstream.status_code,
        mimetype=upstream.headers.get("Content-Type", "audio/mpeg"),
        headers=headers,
    )
