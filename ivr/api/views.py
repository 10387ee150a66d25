"""The JSON API: responses, callback tasks, agents' feedback, recordings; sending a call to the survey."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from flask import Response, jsonify, request, stream_with_context

from ivr.api import bp
from ivr.api.auth import principal
from ivr.api.errors import error_response
from ivr.api.schemas import (
    MAX_ID,
    AgentFeedback,
    CallbackTasksQuery,
    DashboardReport,
    ExportQuery,
    FeedbackQuery,
    ReportQuery,
    ResponsesPage,
    ResponsesQuery,
    SelfRatingOut,
    SelfRatingRequest,
    SurveyCallOut,
    SurveyCallRequest,
    SurveyResponseOut,
    TaskDetail,
    TaskList,
    TransferOut,
    TransferRequest,
)
from ivr.api.serializers import feedback_json, outbound_json, response_json, task_detail_json, task_json
from ivr.api.spec import api_spec, openapi_document, statuses
from ivr.extensions import api_auth
from ivr.services.call_control import outbound, transfers
from ivr.services.closed_loop import callback_tasks, feedback
from ivr.services.conversation import recordings
from ivr.services.errors import Conflict, DomainError, Invalid, NotFound, Unreachable
from ivr.services.insight import exports, filters, reports, responses
from ivr.services.insight.filters import ResponseFilter
from ivr.services.perception import self_ratings
from ivr.twilio_rest import RecordingUnavailable, recording_response

log = logging.getLogger(__name__)


RESPONSES = "Survey responses"
TASKS = "Callback tasks"
FEEDBACK = "Agents' feedback"
CALLS = "Call control"
EXPORTS = "Exports"
REPORTS = "Reports"
# How each kind of domain error is answered.
DOMAIN_STATUSES: list[tuple[type[DomainError], int, str]] = [
    (Invalid, 400, "bad_request"),
    (NotFound, 404, "not_found"),
    (Conflict, 409, "conflict"),
    (Unreachable, 502, "upstream_unavailable"),
]
# Ids are PostgreSQL integers: a larger one matches no route (404) instead of failing in the database.
ID = f"int(min=1, max={MAX_ID})"


@bp.get("/openapi.json")
def openapi() -> Response:
    """This API's OpenAPI 3 description (public: no key needed)."""
    return jsonify(openapi_document())


@bp.get("/responses")
@api_auth.login_required
@api_spec.validate(resp=statuses(ok=(ResponsesPage, "newest first")), tags=[RESPONSES])
def list_responses(query: ResponsesQuery) -> Response:
    """Survey responses, newest first

    Filter by `call_sid` (the original call or the survey leg), `agent` and `channel`; page back with
    `before_id` set to the previous page's `next_before_id`.
    """
    limit = query.capped_limit
    rows = responses.find_responses(
        principal(),
        call_sid=query.call_sid,
        agent_ref=query.agent,
        before_id=query.before_id,
        limit=limit,
        channel=query.channel,
    )
    return jsonify(
        responses=[response_json(row, principal()) for row in rows],
        next_before_id=rows[-1].id if len(rows) == limit else None,
    )


@bp.get(f"/responses/<{ID}:response_id>")
@api_auth.login_required
@api_spec.validate(
    resp=statuses(ok=(SurveyResponseOut, "the response"), HTTP_404="no such response"), tags=[RESPONSES]
)
def get_response(response_id: int) -> Response | tuple[Response, int]:
    """One survey response"""
    row = responses.get_response(principal(), response_id)
    if row is None:
        return error_response(404, "not_found", f"no survey response {response_id}")
    return jsonify(response_json(row, principal()))


@bp.get("/callback-tasks")
@api_auth.login_required
@api_spec.validate(resp=statuses(ok=(TaskList, "soonest deadline first")), tags=[TASKS])
def list_callback_tasks(query: CallbackTasksQuery) -> Response:
    """Callback tasks, soonest deadline first

    Filters: `status`, `agent` (reference), `overdue=true` (open tasks past their deadline).
    """
    rows = callback_tasks.find_tasks(
        principal(),
        status=query.status,
        agent_ref=query.agent,
        overdue=query.overdue,
        limit=query.capped_limit,
    )
    return jsonify(callback_tasks=[task_json(task, principal()) for task in rows])


@bp.get(f"/callback-tasks/<{ID}:task_id>")
@api_auth.login_required
@api_spec.validate(resp=statuses(ok=(TaskDetail, "the task"), HTTP_404="no such callback task"), tags=[TASKS])
def get_callback_task(task_id: int) -> Response | tuple[Response, int]:
    """One callback task, with what the supervisor needs to call back"""
    task = callback_tasks.get_task(principal(), task_id)
    if task is None:
        return error_response(404, "not_found", f"no callback task {task_id}")
    return jsonify(task_detail_json(task, callback_tasks.task_notifications(task.id), principal()))


@bp.get("/agents/<path:agent_ref>/feedback")
@api_auth.login_required
@api_spec.validate(
    resp=statuses(ok=(AgentFeedback, "newest first"), HTTP_404="the server has never seen this agent"),
    tags=[FEEDBACK],
)
def agent_feedback(agent_ref: str, query: FeedbackQuery) -> Response | tuple[Response, int]:
    """An agent's feedback items, newest first"""
    limit = query.capped_limit
    items = feedback.agent_feedback(principal(), agent_ref, limit=limit, before_id=query.before_id)
    if items is None:
        return error_response(404, "not_found", f"no agent {agent_ref!r}")
    return jsonify(
        agent=agent_ref,
        feedback=[feedback_json(item) for item in items],
        next_before_id=items[-1].id if len(items) == limit else None,
    )


@bp.get("/recordings/<recording_sid>")
@api_auth.login_required
@api_spec.validate(
    resp=statuses(
        ok=(None, "the audio"),
        HTTP_404="no such recording",
        HTTP_502="Twilio could not be reached, or refused the recording",
    ),
    tags=[RESPONSES],
)
def recording_audio(recording_sid: str) -> Response | tuple[Response, int]:
    """A voice comment's audio (MP3)

    Streamed from Twilio with the account's credentials: recordings are never linked publicly.
    Range requests pass through (206), so players can seek.
    """
    if recordings.find(principal(), recording_sid) is None:
        return error_response(404, "not_found", f"no recording {recording_sid}")
    try:
        return recording_response(recording_sid, request.headers.get("Range"))
    except RecordingUnavailable as exc:
        return error_response(502, exc.code, exc.message)


@bp.post("/calls/<call_sid>/survey")
@api_auth.login_required
@api_spec.validate(
    resp=statuses(
        ok=(TransferOut, "Twilio took the redirect"),
        success=202,
        HTTP_404="Twilio has no such call",
        HTTP_409="the caller has hung up",
        HTTP_502="Twilio could not be reached, or refused the redirect",
    ),
    tags=[CALLS],
)
def send_call_to_survey(call_sid: str, json: TransferRequest) -> tuple[Response, int]:
    """Send a live call into the survey (a CTI or Flex button)

    Redirects the caller's leg with Twilio's REST API; the survey URL comes from PUBLIC_BASE_URL.
    """
    transfer = transfers.send_to_survey(
        call_sid, agent=json.agent, queue=json.queue, flow_id=json.flow, language=json.lang, chain=json.chain
    )
    return jsonify(
        call_sid=transfer.call_sid, survey_url=transfer.survey_url, twilio_status=transfer.twilio_status
    ), 202


@bp.post("/calls/<call_sid>/self-rating")
@api_auth.login_required
@api_spec.validate(
    resp=statuses(
        ok=(SelfRatingOut, "stored"),
        success=201,
        HTTP_404="not a call this key's agent took",
        HTTP_409="this agent has already rated the call",
    ),
    tags=[CALLS],
)
def rate_call(call_sid: str, json: SelfRatingRequest) -> tuple[Response, int]:
    """The agent's blind rating of a call they took (a CTI or softphone, with an agent's key)

    How the agent thinks the caller felt, right after the call and before they can see the
    caller's verdict; a rating after SELF_RATING_WINDOW_MINUTES is stored and marked late.
    """
    who = principal()
    if who.agent_id is None:
        return error_response(404, "not_found", "this key rates for no agent; make one with --agent"), 404
    given = self_ratings.rate(who.agent_id, call_sid, json.rating, json.resolved, source="api")
    return jsonify(
        call_sid=call_sid,
        agent=given.agent.ref,
        rating=given.rating,
        resolved=given.resolved,
        rated_at=given.rated_at.isoformat(),
        late=given.late,
        blind=given.blind,
    ), 201


@bp.post("/surveys")
@api_auth.login_required
@api_spec.validate(
    resp=statuses(
        ok=(SurveyCallOut, "the outbound survey call, written before anything is queued"),
        success=202,
        HTTP_409="the number may not be surveyed now, or its sender (TWILIO_CALLER_ID, ...) is unset",
    ),
    tags=[CALLS],
)
def request_survey_call(json: SurveyCallRequest) -> tuple[Response, int]:
    """Call (or text) a caller for the survey they missed

    The survey is a row from the start (see GET /api/surveys/{id}); a job places the call, or
    sends the first text with `"channel": "sms"`, after the caller's quiet hours when `time_zone`
    is given. By SMS the caller answers by text (POST /sms/incoming).
    """
    wanted = outbound.OutboundRequest(
        to=json.to,
        original_call_sid=json.call_sid,
        agent=json.agent,
        queue=json.queue,
        flow_id=json.flow,
        language=json.lang,
        time_zone=json.time_zone,
        channel=json.channel,
    )
    return jsonify(outbound_json(outbound.request_call(wanted))), 202


@bp.get(f"/surveys/<{ID}:outbound_id>")
@api_auth.login_required
@api_spec.validate(
    resp=statuses(ok=(SurveyCallOut, "the outbound survey call"), HTTP_404="no such outbound survey"),
    tags=[CALLS],
)
def get_survey_call(outbound_id: int) -> Response:
    """An outbound survey call: scheduled, placing, placed, failed or refused"""
    row = outbound.get(outbound_id)
    if row is None:
        return error_response(404, "not_found", f"no outbound survey {outbound_id}")
    return jsonify(outbound_json(row))


@bp.errorhandler(DomainError)
def refused(exc: DomainError) -> Response:
    """What a service refused, and why, in the API's error shape."""
    for kind, status, code in DOMAIN_STATUSES:
        if isinstance(exc, kind):
            return error_response(status, code, exc.message)
    return error_response(400, "bad_request", exc.message)  # pragma: no cover - every kind is listed


# --- exports and reports


def _export_filter(query: ExportQuery) -> ResponseFilter:
    return filters.parse({name: value for name, value in query.model_dump().items() if value is not None})


def _download(lines: Iterator[str], mimetype: str, extension: str) -> Response:
    return Response(
        stream_with_context(lines),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="responses.{extension}"'},
    )


@bp.get("/exports/responses.csv")
@api_auth.login_required
@api_spec.validate(resp=statuses(ok=(None, "CSV, one row per response")), tags=[EXPORTS])
def export_responses_csv(query: ExportQuery) -> Response:
    """The responses matching a filter, as CSV (streamed)

    One row per response: ids, agent, team, queue, flow and version, language, channel,
    disposition, start and end, one `step:<key>` column per step of the flow, the scores and the
    caller's words. Text that a spreadsheet would run as a formula starts with an apostrophe.
    """
    return _download(exports.responses_csv(principal(), _export_filter(query)), "text/csv", "csv")


@bp.get("/exports/responses.jsonl")
@api_auth.login_required
@api_spec.validate(resp=statuses(ok=(None, "JSON lines, one object per response")), tags=[EXPORTS])
def export_responses_jsonl(query: ExportQuery) -> Response:
    """The responses matching a filter, as JSON lines (streamed); the CSV's columns as keys"""
    return _download(
        exports.responses_jsonl(principal(), _export_filter(query)), "application/x-ndjson", "jsonl"
    )


@bp.get("/reports/dashboard")
@api_auth.login_required
@api_spec.validate(resp=statuses(ok=(DashboardReport, "the period against the one before")), tags=[REPORTS])
def report_dashboard(query: ReportQuery) -> Response:
    """The team dashboard's numbers, for BI tools

    Per team and queue and per agent, over the period and the one of the same length before it;
    scoped by the key's role (a supervisor's key: their teams).
    """
    return jsonify(reports.dashboard_report(principal(), query.period, query.start, query.end, query.team))
