"""Read endpoints: responses by call SID, agent or id."""

from __future__ import annotations

from flask import Response, jsonify, request

from ivr.api import bp
from ivr.api.serializers import response_json
from ivr.extensions import api_auth
from ivr.services import api_keys, responses

MAX_PAGE = 200


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
    limit = min(max(request.args.get("limit", 50, type=int) or 50, 1), MAX_PAGE)
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
