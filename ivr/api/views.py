"""Read endpoints: responses by call SID, agent or id."""

from __future__ import annotations

from flask import Response, jsonify, request
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from ivr.api import bp
from ivr.api.serializers import response_json
from ivr.extensions import api_auth, db
from ivr.models import Agent, AgentLeg, Call, SurveyResponse
from ivr.services import api_keys

MAX_PAGE = 200


@api_auth.verify_token
def verify_token(token: str) -> bool:
    return api_keys.is_valid(token)


@api_auth.error_handler
def unauthorized(status: int) -> Response:
    response = jsonify(error="unauthorized", message="send 'Authorization: Bearer <API key>'")
    response.status_code = status
    return response


def _loaded() -> object:
    return select(SurveyResponse).options(
        selectinload(SurveyResponse.answers),
        selectinload(SurveyResponse.score),
        selectinload(SurveyResponse.agent),
        selectinload(SurveyResponse.flow_version),
        selectinload(SurveyResponse.call).selectinload(Call.legs).selectinload(AgentLeg.agent),
    )


@bp.get("/responses")
@api_auth.login_required
def list_responses() -> Response:
    query = _loaded().join(SurveyResponse.call)  # type: ignore[attr-defined]
    if call_sid := request.args.get("call_sid"):
        query = query.where(or_(Call.call_sid == call_sid, SurveyResponse.survey_call_sid == call_sid))
    if agent := request.args.get("agent"):
        query = query.join(SurveyResponse.agent).where(Agent.ref == agent)
    limit = min(max(request.args.get("limit", 50, type=int) or 50, 1), MAX_PAGE)
    if before := request.args.get("before_id", type=int):
        query = query.where(SurveyResponse.id < before)
    rows = db.session.scalars(query.order_by(SurveyResponse.id.desc()).limit(limit)).all()
    return jsonify(
        responses=[response_json(row) for row in rows],
        next_before_id=rows[-1].id if len(rows) == limit else None,
    )


@bp.get("/responses/<int:response_id>")
@api_auth.login_required
def get_response(response_id: int) -> Response | tuple[Response, int]:
    row = db.session.scalar(_loaded().where(SurveyResponse.id == response_id))  # type: ignore[attr-defined]
    if row is None:
        return jsonify(error="not_found", message=f"no survey response {response_id}"), 404
    return jsonify(response_json(row))
