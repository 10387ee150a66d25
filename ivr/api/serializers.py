"""Plain-dict views of responses for the JSON API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import url_for

from ivr.models import CallbackTask, FeedbackItem, Notification, OutboundSurvey, Role, SurveyResponse, as_utc
from ivr.services import policy
from ivr.services.consent.privacy import mask
from ivr.services.links import response_link, task_link
from ivr.services.policy import Principal


def _time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return as_utc(value).isoformat()


def _answers(response: SurveyResponse) -> list[dict[str, Any]]:
    return [
        {
            "step": answer.step_key,
            "status": answer.status.value,
            "raw_input": answer.raw_input,
            "value": answer.number if answer.number is not None else answer.value,
            "no_input_count": answer.no_input_count,
            "no_match_count": answer.no_match_count,
            "speech_result": answer.speech_result,
            "speech_confidence": answer.speech_confidence,
            "answered_at": _time(answer.answered_at),
        }
        for answer in response.answers
    ]


def _recordings(response: SurveyResponse) -> list[dict[str, Any]]:
    return [
        {
            "step": recording.step_key,
            "recording_sid": recording.recording_sid,
            "duration_seconds": recording.duration_seconds,
            "status": recording.status,
            # Streamed by this API with the account's credentials; Twilio's URL is never shown.
            "audio_url": url_for("api.recording_audio", recording_sid=recording.recording_sid)
            if recording.media_url
            else None,
            "transcript_status": recording.transcript_status.value,
            "transcript": recording.transcript,
            "sentiment": recording.sentiment,
            "sentiment_label": recording.sentiment_label.value if recording.sentiment_label else None,
        }
        for recording in response.recordings
    ]


def _texts(response: SurveyResponse) -> list[dict[str, Any]]:
    return [
        {
            "direction": text.direction.value,
            "kind": text.kind,
            "step": text.step_key,
            "status": text.status.value,
            "error_code": text.error_code,
            "message_sid": text.message_sid,
            "at": _time(text.created_at),
        }
        for text in response.texts
    ]


def _agent_chain(response: SurveyResponse) -> list[str]:
    return [leg.agent.ref for leg in response.call.legs]


def response_json(response: SurveyResponse, viewer: Principal) -> dict[str, Any]:
    score = response.score
    return {
        "id": response.id,
        "call_sid": response.call.call_sid,
        "survey_call_sid": response.survey_call_sid,
        # Masked: the full number is on the callback task, for the supervisor who calls back;
        # agents see no number at all.
        "caller": None if viewer.has_only(Role.agent) else mask(response.call.from_number),
        "agent": response.agent.ref if response.agent else None,
        "agent_chain": _agent_chain(response),
        "queue": response.queue,
        "flow": {"id": response.flow_version.flow_key, "version": response.flow_version.version},
        "language": response.language,
        "language_source": response.language_source.value,
        "channel": response.channel.value,
        "disposition": response.disposition.value,
        "started_at": _time(response.started_at),
        "ended_at": _time(response.ended_at),
        "answers": _answers(response),
        "recordings": _recordings(response),
        "texts": _texts(response),
        "score": None
        if score is None
        else {
            "csat": score.csat,
            "nps": score.nps,
            "nps_category": score.nps_category,
            "resolved": score.resolved,
            "csat_top_box": score.csat_top_box,
            "csat_bottom_box": score.csat_bottom_box,
            "ces": score.ces,
            "sentiment": score.sentiment,
            "sentiment_label": score.sentiment_label.value if score.sentiment_label else None,
            "extreme_low": score.extreme_low,
            "extreme_low_rule": score.extreme_low_rule,
            "extreme_high": score.extreme_high,
            "scored_at": _time(score.scored_at),
        },
        "feedback_item": None if response.feedback_item is None else feedback_json(response.feedback_item),
        "callback_task": None
        if response.callback_task is None or viewer.has_only(Role.agent)
        else task_summary_json(response.callback_task),
    }


def feedback_json(item: FeedbackItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.kind.value,
        "response_id": item.response_id,
        "csat": item.csat,
        "nps": item.nps,
        "ces": item.ces,
        "resolved": item.resolved,
        "verbatim": item.verbatim,
        "created_at": _time(item.created_at),
        "delivered_at": _time(item.delivered_at),
        "response_url": response_link(item.response_id),
    }


def task_summary_json(task: CallbackTask) -> dict[str, Any]:
    return {
        "id": task.id,
        "status": task.status.value,
        "escalation_level": task.escalation_level,
        "due_at": _time(task.due_at),
        "at_risk": task.at_risk,
        "url": task_link(task.id),
    }


def task_json(task: CallbackTask, viewer: Principal) -> dict[str, Any]:
    return {
        **task_summary_json(task),
        "response_id": task.response_id,
        "response_url": response_link(task.response_id),
        "agent": task.agent.ref if task.agent else None,
        "team": task.team.name if task.team else None,
        "assignee": task.assignee.name if task.assignee else None,
        "caller_number": task.caller_number
        if policy.shows_full_number_on_task(viewer)
        else mask(task.caller_number),
        "claimed_by": task.claimed_by.email if task.claimed_by else None,
        "claimed_at": _time(task.claimed_at),
        "escalated_at": _time(task.escalated_at),
        "closed_by": task.closed_by.email if task.closed_by else None,
        "closed_at": _time(task.closed_at),
        "outcome": task.outcome,
        "root_cause": task.root_cause,
        "notes": task.notes,
        "created_at": _time(task.created_at),
    }


def task_detail_json(
    task: CallbackTask, notifications: list[Notification], viewer: Principal
) -> dict[str, Any]:
    """One task with what the supervisor needs to call back: answers, verbatim, chain, history."""
    response = task.response
    item = response.feedback_item
    return {
        **task_json(task, viewer),
        "call_sid": response.call.call_sid,
        "queue": response.queue,
        "language": response.language,
        "agent_chain": _agent_chain(response),
        "answers": _answers(response),
        "verbatim": item.verbatim if item else None,
        "history": [
            {
                "action": event.action,
                "by": event.actor.email if event.actor else None,
                "detail": event.detail,
                "at": _time(event.at),
            }
            for event in task.events
        ],
        "notifications": [
            {
                "event": note.event,
                "channel": note.channel.value,
                "recipient": note.recipient,
                "status": note.status.value,
                "attempts": note.attempts,
                "last_error": note.last_error,
                "sent_at": _time(note.sent_at),
            }
            for note in notifications
        ],
    }


def outbound_json(row: OutboundSurvey) -> dict[str, Any]:
    return {
        "id": row.id,
        "url": url_for("api.get_survey_call", outbound_id=row.id),
        "channel": row.channel.value,
        "response_id": row.response_id,
        "state": row.state.value,
        "to": mask(row.to_number),
        "call_sid": row.call_sid,
        "original_call_sid": row.original_call_sid,
        "agent": row.agent_ref,
        "queue": row.queue,
        "flow": row.flow_key,
        "lang": row.language,
        "time_zone": row.time_zone,
        "scheduled_for": _time(row.call_at),
        "attempts": row.attempts,
        "last_error": row.last_error,
        "placed_at": _time(row.placed_at),
        "created_at": _time(row.created_at),
    }
