"""Responses as an analyst reads them (the explorer grows here)."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ivr.extensions import db
from ivr.models import SurveyResponse
from ivr.services import policy
from ivr.web import bp
from ivr.web.sessions import principal


@bp.get("/responses")
def responses() -> str:
    who = principal()
    assert who is not None
    query = (
        select(SurveyResponse)
        .options(selectinload(SurveyResponse.score), selectinload(SurveyResponse.agent))
        .order_by(SurveyResponse.id.desc())
        .limit(50)
    )
    rows = list(db.session.scalars(policy.scope_responses(who, query)))
    return render_template("responses.html", rows=rows)
