"""The JSON API: responses, callback tasks, agents' feedback, recordings; sending a call to the survey."""

from __future__ import annotations

from collections.abc import Iterator

import requests
from flask import Response, jsonify, request, stream_with_context

from ivr.api import bp
from ivr.api.serializers import (
    feedback_json,
    outbound_json,
    response_json,
    task_detail_json,
    task_json,
)
from ivr.extensions import api_auth
from ivr.models import TaskStatus
from ivr.services import api_keys, callback_tasks, feedback, outbound, recordings, responses, transfers
from ivr.services.refusals import Refused
from ivr.twilio_rest import recording_media

MAX_PAGE = 200


def _limit() -> int:
    return min(max(request.args.get("limit", 50, type=int) or 50, 1), MAX_PAGE)


def _bad_request(message: str) -> tuple[Response, int]:
    return jsonify(error="bad_request", message=message), 400


@api_auth.verify_token
def verify_token(token: str) -> bool:
    return api_keys.is_valid(token)


@api_auth.error_handler
def unauthorized(status: int) -> Response:
    response = jsonify(error="unauthorized", message="send 'Authorization: Bearer <API key>'")
    response.status_code = status
    return response


@bp.get("/responses")
@api_auth.login_required
def list_responses() -> Response:
    limit = _limit()
    rows = responses.find_responses(
        call_sid=request.args.get("call_sid"),
        agent_ref=request.args.get("agent"),
        before_id=request.args.get("before_id", type=int),
        limit=limit,
    )
    return jsonify(
        responses=[response_json(row) for row in rows],
        next_before_id=rows[-1].id if len(rows) == limit else None,
    )


@bp.get("/responses/<int:response_id>")
@api_auth.login_required
def get_response(response_id: int) -> Response | tuple[Response, int]:
    row = responses.get_response(response_id)
    if row is None:
        return jsonify(error="not_found", message=f"no survey response {response_id}"), 404
    return jsonify(response_json(row))


@bp.get("/callback-tasks")
@api_auth.login_required
def list_callback_tasks() -> Response | tuple[Response, int]:
    """Filters: status (open, claimed, escalated, done), agent (ref), overdue=true."""
    status = request.args.get("status")
    if status and status not in set(TaskStatus):
        return _bad_request(f"status must be one of {', '.join(TaskStatus)}")
    overdue = request.args.get("overdue", "").lower() in ("1", "true", "yes")
    rows = callback_tasks.find_tasks(
        status=status, agent_ref=request.args.get("agent"), overdue=overdue, limit=_limit()
    )
    return jsonify(callback_tasks=[task_json(task) for task in rows])


@bp.get("/callback-tasks/<int:task_id>")
@api_auth.login_required
def get_callback_task(task_id: int) -> Response | tuple[Response, int]:
    task = callback_tasks.get_task(task_id)
    if task is None:
        return jsonify(error="not_found", message=f"no callback task {task_id}"), 404
    return jsonify(task_detail_json(task, callback_tasks.task_notifications(task.id)))


@bp.get("/agents/<path:agent_ref>/feedback")
@api_auth.login_required
def agent_feedback(agent_ref: str) -> Response | tuple[Response, int]:
    limit = _limit()
    items = feedback.agent_feedback(agent_ref, limit=limit, before_id=request.args.get("before_id", type=int))
    if items is None:
        return jsonify(error="not_found", message=f"no agent {agent_ref!r}"), 404
    return jsonify(
        agent=agent_ref,
        feedback=[feedback_json(item) for item in items],
        next_before_id=items[-1].id if len(items) == limit else None,
    )


@bp.get("/recordings/<recording_sid>")
@api_auth.login_required
def recording_audio(recording_sid: str) -> Response | tuple[Response, int]:
    """A voice comment's audio, streamed from Twilio with the account's credentials: recordings
    are never linked publicly. Range requests pass through, so players can seek."""
    if recordings.find(recording_sid) is None:
        return jsonify(error="not_found", message=f"no recording {recording_sid}"), 404
    try:
        upstream = recording_media(recording_sid, request.headers.get("Range"))
    except requests.RequestException as exc:
        return jsonify(error="upstream_unavailable", message=f"Twilio could not be reached: {exc}"), 502
    if upstream.status_code not in (200, 206):
        upstream.close()
        message = f"Twilio answered {upstream.status_code} for recording {recording_sid}"
        return jsonify(error="upstream_error", message=message), 502
    headers = {
        name: upstream.headers[name]
        for name in ("Content-Length", "Content-Range", "Accept-Ranges")
        if name in upstream.headers
    }
    headers["Cache-Control"] = "private, no-store"

    def body() -> Iterator[bytes]:
        with upstream:
            yield from upstream.iter_content(chunk_size=64 * 1024)

    return Response(
        stream_with_context(body()),
        status=upstream.status_code,
        mimetype=upstream.headers.get("Content-Type", "audio/mpeg"),
        headers=headers,
    )


@bp.post("/calls/<call_sid>/survey")
@api_auth.login_required
def send_call_to_survey(call_sid: str) -> Response | tuple[Response, int]:
    """From a CTI or Flex button: redirect the caller's live leg into the survey."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        body = {}
    chain = body.get("chain") or []
    if not isinstance(chain, list) or not all(isinstance(ref, str) for ref in chain):
        return _bad_request("chain must be a list of agent references, first agent first")
    fields = {name: body.get(name) for name in ("agent", "queue", "flow", "lang")}
    if not all(value is None or isinstance(value, str) for value in fields.values()):
        return _bad_request("agent, queue, flow and lang are strings")
    try:
        transfer = transfers.send_to_survey(
            call_sid,
            agent=fields["agent"],
            queue=fields["queue"],
            flow_id=fields["flow"],
            language=fields["lang"],
            chain=chain,
        )
    except Refused as exc:
        return jsonify(error="transfer_failed", message=exc.message), exc.status
    return jsonify(
        call_sid=transfer.call_sid, survey_url=transfer.survey_url, twilio_status=transfer.twilio_status
    ), 202


@bp.post("/surveys")
@api_auth.login_required
def request_survey_call() -> Response | tuple[Response, int]:
    """Call a caller back for the survey they missed (they hung up before it)."""
    body = request.get_json(silent=True)
    fields = ("to", "call_sid", "agent", "queue", "flow", "lang", "time_zone")
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("to"), str)
        or not all(body.get(name) is None or isinstance(body[name], str) for name in fields)
    ):
        return _bad_request(
            "send JSON with 'to' (E.164) and optionally call_sid, agent, queue, flow, lang, time_zone"
        )
    wanted = outbound.OutboundRequest(
        to=body["to"],
        original_call_sid=body.get("call_sid"),
        agent=body.get("agent"),
        queue=body.get("queue"),
        flow_id=body.get("flow"),
        language=body.get("lang"),
        time_zone=body.get("time_zone"),
    )
    try:
        row = outbound.request_call(wanted)
    except Refused as exc:
        return jsonify(error="not_placed", message=exc.message), exc.status
    return jsonify(outbound_json(row)), 202


@bp.get("/surveys/<int:outbound_id>")
@api_auth.login_required
def get_survey_call(outbound_id: int) -> Response | tuple[Response, int]:
    """An outbound survey call: scheduled, placing, placed (with Twilio's Call SID), failed or refused."""
    row = outbound.get(outbound_id)
    if row is None:
        return jsonify(error="not_found", message=f"no outbound survey {outbound_id}"), 404
    return jsonify(outbound_json(row))
