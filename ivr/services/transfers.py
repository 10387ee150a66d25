"""Sending a live call into the survey from outside Twilio's call flow: a CTI or Flex button.

The caller's leg is redirected with the twilio REST client (`calls(sid).update(url=...)`); from
there on, the survey runs like any other, with the agent, queue, flow, language and transfer
chain carried in the survey URL.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlencode

from twilio.base.exceptions import TwilioException, TwilioRestException

from ivr.services.refusals import Refused, flow_and_language
from ivr.twilio_rest import twilio_client

log = logging.getLogger(__name__)

# Twilio's "Call is not in-progress. Cannot redirect."
CALL_NOT_IN_PROGRESS = 21220


@dataclass(frozen=True)
class Transfer:
    call_sid: str
    survey_url: str
    twilio_status: str | None


def survey_url(
    base_url: str, agent: str | None, queue: str | None, flow_id: str, language: str | None, chain: list[str]
) -> str:
    params = {"agent": agent, "queue": queue, "flow": flow_id, "lang": language, "chain": ",".join(chain)}
    query = urlencode({key: value for key, value in params.items() if value})
    return f"{base_url.rstrip('/')}/voice/survey?{query}"


def send_to_survey(
    call_sid: str,
    base_url: str,
    default_flow: str,
    agent: str | None = None,
    queue: str | None = None,
    flow_id: str | None = None,
    language: str | None = None,
    chain: list[str] | None = None,
) -> Transfer:
    compiled = flow_and_language(flow_id, language, default_flow)
    url = survey_url(base_url, agent, queue, compiled.id, language, chain or [])
    try:
        call = twilio_client().calls(call_sid).update(url=url, method="POST")
    except TwilioRestException as exc:
        if exc.status == 404:
            raise Refused(404, f"Twilio has no call {call_sid}") from exc
        if exc.code == CALL_NOT_IN_PROGRESS:
            raise Refused(409, f"call {call_sid} is not in progress: the caller has hung up") from exc
        raise Refused(502, f"Twilio refused the redirect: {exc.msg} (code {exc.code})") from exc
    except (TwilioException, OSError) as exc:
        raise Refused(502, f"Twilio could not be reached: {exc}") from exc
    log.info("call %s sent to the survey (%s)", call_sid, url)
    return Transfer(call_sid, url, getattr(call, "status", None))
