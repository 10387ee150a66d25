"""The response explorer: filters, a page of results (keyset paging), a response's page, and the
current filter as CSV or JSON lines (streamed)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask import Response, abort, render_template, request, stream_with_context
from sqlalchemy import select

from ivr.extensions import db
from ivr.models import Agent, Disposition, FlowVersion, Sentiment, utcnow
from ivr.services import policy
from ivr.services.consent.privacy import mask
from ivr.services.errors import Invalid
from ivr.services.insight import dashboard, explorer, exports, filters, responses
from ivr.services.insight.filters import ResponseFilter
from ivr.web import bp
from ivr.web.sessions import principal


def _filter() -> tuple[ResponseFilter, dict[str, str]]:
    """The filter from the query string; a bad value is reported next to its field and the
    default filter used instead."""
    try:
        return filters.parse(request.args), {}
    except Invalid as refused:
        name = refused.fields[0] if refused.fields else "start"
        return filters.parse({}), {name: refused.message.split(": ", 1)[-1]}


def _shown(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S.%f").rstrip("0").rstrip(".")


def _agents_query() -> Any:
    return select(Agent.id, Agent.display_name, Agent.ref).order_by(Agent.ref)


@bp.get("/responses", endpoint="responses")
def responses_page() -> str:
    who = principal()
    assert who is not None
    f, errors = _filter()
    try:
        after = explorer.parse_cursor(request.args.get("after"))
    except Invalid as refused:
        after, errors["after"] = None, refused.message
    page = explorer.find(who, f, after)
    flows = list(db.session.scalars(select(FlowVersion.flow_key).distinct().order_by(FlowVersion.flow_key)))
    return render_template(
        "responses.html",
        f=f,
        errors=errors,
        page=page,
        first_page=after is None,
        start=_shown(f.start),
        end=_shown(f.end),
        teams=dashboard.team_choices(who),
        agents=[
            (agent_id, name or ref)
            for agent_id, name, ref in db.session.execute(policy.scope_agents(who, _agents_query()))
        ],
        flows=flows,
        dispositions=[d.value for d in Disposition],
        sentiments=[s.value for s in Sentiment],
        args=f.args(),
    )


@bp.get("/responses/<int:response_id>")
def response(response_id: int) -> str:
    who = principal()
    assert who is not None
    found = responses.get_response(who, response_id)
    if found is None:
        abort(404)  # someone else's response is as missing as one that never was
    words = explorer.verbatims([found.id]).get(found.id)
    return render_template(
        "response.html",
        r=found,
        verbatim=words,
        caller=mask(found.call.from_number),
        task_link=found.callback_task is not None and policy.may_use(who, "web.task"),
    )


def _download(lines: Iterator[str], mimetype: str, extension: str) -> Response:
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    return Response(
        stream_with_context(lines),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="responses-{stamp}.{extension}"'},
    )


@bp.get("/responses.csv", endpoint="responses_csv")
def responses_csv() -> Response:
    who = principal()
    assert who is not None
    f, errors = _filter()
    if errors:
        abort(400)
    return _download(exports.responses_csv(who, f), "text/csv", "csv")


@bp.get("/responses.jsonl", endpoint="responses_jsonl")
def responses_jsonl() -> Response:
    who = principal()
    assert who is not None
    f, errors = _filter()
    if errors:
        abort(400)
    return _download(exports.responses_jsonl(who, f), "application/x-ndjson", "jsonl")
