"""A recording played in the browser: streamed through the app after the policy's check, never
linked to Twilio (the audio needs the account's credentials, and the link would outlive access)."""

from __future__ import annotations

from flask import abort, request
from werkzeug.wrappers import Response

from ivr.services.conversation import recordings
from ivr.twilio_rest import RecordingUnavailable, recording_response
from ivr.web import bp
from ivr.web.sessions import principal


@bp.get("/recordings/<recording_sid>")
def recording(recording_sid: str) -> Response:
    who = principal()
    assert who is not None  # the policy lets only signed-in people here
    # Someone else's recording is as missing as one that never was.
    if recordings.find(who, recording_sid) is None:
        abort(404)
    try:
        return recording_response(recording_sid, request.headers.get("Range"))
    except RecordingUnavailable:
        abort(502)
