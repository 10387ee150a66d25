"""Placing outbound survey calls (on the `notifications` queue: outbound traffic, with retries)."""

from __future__ import annotations

import logging

from ivr.services.call_control import outbound

log = logging.getLogger(__name__)


def place_outbound_survey(outbound_id: int) -> str | None:
    """Place the call if it is still to be placed; returns its state. Safe to run twice: a row
    already placed is left alone, and one whose earlier attempt may have reached Twilio is
    first looked up on Twilio. Raises (so RQ retries) when Twilio could not be reached."""
    state = outbound.place(outbound_id)
    log.info("outbound survey %s: %s", outbound_id, state.value if state else "nothing to do")
    return state.value if state else None
