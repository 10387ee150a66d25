"""Absolute links to this server: the URLs handed to Twilio and the links in notifications.

Built from configuration only (PUBLIC_BASE_URL), never from a request's Host or X-Forwarded-Host
header: a forged header must not decide where Twilio fetches call instructions from. Query
values are URL-encoded by the route map, so no value can add a parameter of its own.
"""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, has_request_context, url_for

from ivr.settings import settings

# Twilio's Call SID: "CA" and 32 hex digits. Anything else never reaches a URL or the REST API.
CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")


def is_call_sid(value: str | None) -> bool:
    return value is not None and CALL_SID.fullmatch(value) is not None


def webhook_path(endpoint: str, **values: Any) -> str:
    """The path (and query) of one of our webhooks, e.g. "voice.survey_step": what TwiML's action
    and callback attributes carry (Twilio resolves them against the URL it just fetched)."""
    given = {name: value for name, value in values.items() if value not in (None, "")}
    if has_request_context():  # under the app's mount point, if it has one
        return url_for(endpoint, **given)
    path: str = current_app.url_map.bind("localhost").build(endpoint, given)
    return path


def twilio_url(endpoint: str, **values: Any) -> str:
    """The absolute URL of one of our webhooks (e.g. "voice.survey_start") for Twilio's REST API."""
    return settings().twilio_base_url + webhook_path(endpoint, **values)


def survey_start_url(
    *,
    flow_id: str,
    agent: str | None = None,
    queue: str | None = None,
    language: str | None = None,
    chain: list[str] | tuple[str, ...] = (),
    original_call_sid: str | None = None,
) -> str:
    """Where a call redirected or placed by us starts the survey (POST /voice/survey)."""
    return twilio_url(
        "voice.survey_start",
        agent=agent,
        queue=queue,
        flow=flow_id,
        lang=language,
        chain=",".join(chain),
        call=original_call_sid,
    )


def call_status_url() -> str:
    return twilio_url("voice.call_status")


def absolute(path: str) -> str:
    """A link for people (in notifications): relative when PUBLIC_BASE_URL is not set."""
    return f"{settings().public_base_url or ''}{path}"


def response_link(response_id: int) -> str:
    return absolute(f"/api/responses/{response_id}")


def task_link(task_id: int) -> str:
    return absolute(f"/api/callback-tasks/{task_id}")
