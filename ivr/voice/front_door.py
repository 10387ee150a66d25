"""The front door's webhooks: POST /voice/incoming on a Twilio number, then the invitation and
the Dial callbacks. Thin: parse Twilio's form, call ivr.services.front_door, answer TwiML."""

from __future__ import annotations

from flask import Response, current_app, request, url_for
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from ivr.db import retry_on_disconnect
from ivr.routing import Invitation, Queue
from ivr.services import front_door, survey
from ivr.voice import bp, form
from ivr.voice.signature import twilio_webhook
from ivr.voice.twiml import apology, play_or_say, render_turn, xml


def _say(target: VoiceResponse | Gather, language: str, key: str) -> None:
    door = front_door.front_door()
    audio = door.audio.get(language, {}).get(key)
    play_or_say(target, language, audio, door.texts[language][key], door.voices[language])


def _dial(twiml: VoiceResponse, queue_name: str, queue: Queue, index: int, agreed: bool) -> None:
    """Ring agent `index`; Twilio calls the action when that leg ends, however it ends."""
    action = url_for("voice.agent_leg_ended", queue=queue_name, agent=index, agreed=int(agreed))
    dial = Dial(action=action, method="POST", timeout=queue.ring_seconds, answer_on_bridge=True)
    address = queue.agents[index]
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
        action = url_for("voice.invitation_answered", queue=arrival.queue_name)
        gather = Gather(
            input="dtmf", num_digits=1, timeout=4, action=action, method="POST", action_on_empty_result=True
        )
        _say(gather, arrival.language, f"front_door.invite_{invite.value}")
        twiml.append(gather)
        return xml(twiml)
    if invite is Invitation.always:
        _say(twiml, arrival.language, "front_door.invite_always")
    _say(twiml, arrival.language, "front_door.connecting")
    _dial(twiml, arrival.queue_name, arrival.queue, 0, agreed=invite is Invitation.always)
    return xml(twiml)


@bp.post("/incoming/invitation")
@twilio_webhook
def invitation_answered() -> Response:
    queue_name = request.args.get("queue", "")
    call_sid = form.text("CallSid", form.SID) or ""
    agreed = retry_on_disconnect(front_door.answer_invitation, call_sid, queue_name, form.keys("Digits"))
    queue, _flow, language = front_door.queue_named(queue_name)
    twiml = VoiceResponse()
    _say(twiml, language, "front_door.connecting")
    _dial(twiml, queue_name, queue, 0, agreed)
    return xml(twiml)


@bp.post("/incoming/agent-leg")
@twilio_webhook
def agent_leg_ended() -> Response:
    """The <Dial> action: the agent leg ended (answered and hung up, busy, no answer...)."""
    queue_name = request.args.get("queue", "")
    index_number = form.count("agent")
    agreed = request.args.get("agreed") == "1"
    call_sid = form.text("CallSid", form.SID) or ""
    status = form.text("DialCallStatus", form.STATUS) or "failed"
    seconds = form.seconds("DialCallDuration")
    address = retry_on_disconnect(
        front_door.agent_leg_ended, call_sid, queue_name, index_number, status, seconds
    )
    queue, flow, language = front_door.queue_named(queue_name)
    twiml = VoiceResponse()
    if status in ("completed", "answered"):
        # The agent hung up and the caller is still there (CallStatus in-progress): survey time.
        if agreed and form.text("CallStatus", form.STATUS) != "completed":
            start = survey.StartRequest(
                call_sid=call_sid,
                agent_ref=address,
                queue=queue_name,
                flow_id=flow.id,
                language=language,
                from_number=form.text("From", form.NUMBER),
                to_number=form.text("To", form.NUMBER),
            )
            default_flow = current_app.extensions["ivr.settings"].default_flow
            return xml(render_turn(retry_on_disconnect(survey.start_survey, start, default_flow)))
        twiml.hangup()
        return xml(twiml)
    if status != "canceled" and index_number + 1 < len(queue.agents):
        _dial(twiml, queue_name, queue, index_number + 1, agreed)  # ring the next agent
        return xml(twiml)
    if status != "canceled":  # canceled: the caller hung up while it rang
        _say(twiml, language, "front_door.no_agents")
    twiml.hangup()
    return xml(twiml)


@bp.errorhandler(front_door.FrontDoorUnavailable)
def front_door_unavailable(exc: front_door.FrontDoorUnavailable) -> Response:
    current_app.logger.error("front door unavailable on %s: %s", request.path, exc)
    return xml(apology())
