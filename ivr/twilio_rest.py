"""Twilio's REST client, built from the settings, pointed at Twilio or at a stand-in.

Every outbound request (SMS, recordings; call redirects and outbound calls later) goes through
`twilio_client()`, so one setting, TWILIO_API_BASE_URL, moves all of them to a local stand-in.
"""

from __future__ import annotations

from typing import Any

import requests
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from ivr.settings import settings

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
