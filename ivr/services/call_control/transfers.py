"""Sending a live call into the survey from outside Twilio's call flow: a CTI or Flex button.

The caller's leg is redirected with the twilio REST client (`calls(sid).update(url=...)`); from
there on, the survey runs like any other, with the agent, queue, flow, language and transfer
chain carried in the survey URL, which is built from configuration (ivr.services.links).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from twilio.base.exceptions import TwilioException, TwilioRestException

from ivr.services.conversation.flow_versions import flow_for
from ivr.services.errors import Conflict, Invalid, NotFound, Unreachable
from ivr.services.links import is_call_sid, survey_start_url
from ivr.settings import settings
from ivr.twilio_rest import twilio_client

log = logging.getLogger(__name__)

# Twilio's "Call is not in-progress. Cannot redirect."
CALL_NOT_IN_PROGRESS = 21220
MAX_REF = 255  # agents' references and queue names fit their columns (ivr.models)


@dataclass(frozen=True)
class Transfer:
    call_sid: str
    survey_url: str
    twilio_status: str | None


def send_to_survey(
    call_sid: str,
    agent: str | None = None,
    queue: str | None = None,
    flow_id: str | None = None,
    language: str | None = None,
    chain: list[str] | None = None,
) -> Transfer:
    if not is_call_sid(call_sid):
        raise Invalid("the call must be a Twilio Call SID: CA followed by 32 hex digits")
    refs = [agent or "", queue or "", *(chain or [])]
    if any(len(ref) > MAX_REF for ref in refs) or len(queue or "") > 128:
        raise Invalid("agent and chain references are at most 255 characters, a queue at most 128")
    compiled = flow_for(flow_id, language, settings().default_flow)
    url = survey_start_url(
        flow_id=compiled.id, agent=agent, queue=queue, language=language, chain=chain or []
    )
    try:
        call = twilio_client().calls(call_sid).update(url=url, method="POST")
    except TwilioRestException as exc:
        if exc.status == 404:
            raise NotFound(f"Twilio has no call {call_sid}") from exc
        if exc.code == CALL_NOT_IN_PROGRESS:
            raise Conflict(f"call {call_sid} is not in progress: the caller has hung up") from exc
        raise Unreachable(f"Twilio refused the redirect (HTTP {exc.status}, code {exc.code})") from exc
    except (TwilioException, OSError) as exc:
        log.warning("redirecting %s: Twilio could not be reached: %s", call_sid, exc)
        raise Unreachable("Twilio could not be reached; try again") from exc
    log.info("call %s sent to the survey (%s)", call_sid, url)
    return Transfer(call_sid, url, getattr(call, "status", None))
