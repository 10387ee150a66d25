"""The front door's webhooks: POST /voice/incoming on a Twilio number, then the invitation and
the Dial callbacks. Thin: parse Twilio's form, call one function of
ivr.services.conversation.front_door, answer TwiML."""

from __future__ import annotations

from flask import Response, request
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from ivr.db import retry_on_disconnect
from ivr.flows.routing import Invitation
from ivr.services.conversation import front_door
from ivr.services.links import webhook_path
from ivr.voice import bp, form
from ivr.voice.signature import twilio_webhook
from ivr.voice.twiml import apology, play_or_say, turn_xml, xml


def _say(target: VoiceResponse | Gather, language: str, key: str) -> None:
    door = front_door.front_door()
    audio = door.audio.get(language, {}).get(key)
    play_or_say(target, language, audio, door.texts[language][key], door.voices[language])


def _dial(twiml: VoiceResponse, ring: front_door.Ring) -> None:
    """Ring one agent; Twilio calls the action when that leg ends, however it ends."""
    action = webhook_path(
        "voice.agent_leg_ended",
        queue=ring.queue_name,
        agent=ring.index,
        agreed=int(ring.agreed),
        routing=ring.routing_version,
    )
    dial = Dial(action=action, method="POST", timeout=ring.queue.ring_seconds, answer_on_bridge=True)
    address = ring.queue.agents[ring.index]
    if address.startswith("client:"):
        dial.client(address.removeprefix("client:"))
    elif address.startswith("sip:"):
        dial.sip(address)
    else:
        dial.number(address)
    twiml.append(dial)


@bp.post("/incoming")
@twilio_webhook
def incoming() -> Response:
    """A call to one of our numbers: greet, invite to the survey, ring the queue."""
    call_sid = form.text("CallSid", form.SID)
    if call_sid is None:
        return xml(apology())
    from_number, to_number = form.text("From", form.NUMBER), form.text("To", form.NUMBER)
    arrival = retry_on_disconnect(front_door.arrive, call_sid, from_number, to_number)
    twiml = VoiceResponse()
    _say(twiml, arrival.language, "front_door.greeting")
    invite = arrival.invite
    if invite in (Invitation.opt_in, Invitation.opt_out):
        action = webhook_path(
            "voice.invitation_answered", queue=arrival.queue_name, routing=arrival.routing_version
        )
        gather = Gather(
            input="dtmf", num_digits=1, timeout=4, action=action, method="POST", action_on_empty_result=True
        )
        _say(gather, arrival.language, f"front_door.invite_{invite.value}")
        twiml.append(gather)
        return xml(twiml)
    if invite is Invitation.always:
        _say(twiml, arrival.language, "front_door.invite_always")
    _say(twiml, arrival.language, "front_door.connecting")
    agreed = invite is Invitation.always
    first = front_door.Ring(
        arrival.routing_version, arrival.queue_name, arrival.queue, arrival.language, 0, agreed
    )
    _dial(twiml, first)
    return xml(twiml)


@bp.post("/incoming/invitation")
@twilio_webhook
def invitation_answered() -> Response:
    queue_name = form.arg("queue", form.QUEUE) or ""
    call_sid = form.text("CallSid", form.SID) or ""
    ring = retry_on_disconnect(
        front_door.answer_invitation, call_sid, queue_name, form.keys("Digits"), form.ident("routing")
    )
    twiml = VoiceResponse()
    _say(twiml, ring.language, "front_door.connecting")
    _dial(twiml, ring)
    return xml(twiml)


@bp.post("/incoming/agent-leg")
@twilio_webhook
def agent_leg_ended() -> Response:
    """The <Dial> action: the agent leg ended (answered and hung up, busy, no answer...)."""
    leg = front_door.LegEnded(
        call_sid=form.text("CallSid", form.SID) or "",
        queue_name=form.arg("queue", form.QUEUE) or "",
        index=form.count("agent"),
        dial_status=form.text("DialCallStatus", form.STATUS) or "failed",
        duration=form.seconds("DialCallDuration"),
        agreed=request.args.get("agreed") == "1",
        # Twilio's CallStatus is still in-progress when the agent hung up and the caller stayed.
        caller_still_there=form.text("CallStatus", form.STATUS) != "completed",
        from_number=form.text("From", form.NUMBER),
        to_number=form.text("To", form.NUMBER),
        routing_version=form.ident("routing"),
    )
    after = retry_on_disconnect(front_door.agent_leg_ended, leg)
    if after.survey is not None:
        return xml(turn_xml(after.survey))
    twiml = VoiceResponse()
    if after.ring is not None:
        _dial(twiml, after.ring)
        return xml(twiml)
    if after.apologise:
        _say(twiml, after.language, "front_door.no_agents")
    twiml.hangup()
    return xml(twiml)
