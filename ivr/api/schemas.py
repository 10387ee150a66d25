"""The API's shapes as pydantic models: what requests may send and what answers hold.

They validate query strings (a bad one is a 400 in the error shape) and are the source of the
OpenAPI description at /api/openapi.json; under test, every answer is checked against them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ivr.models import (
    AnswerStatus,
    Channel,
    Direction,
    Disposition,
    FeedbackKind,
    LanguageSource,
    NotificationStatus,
    Sentiment,
    SurveyChannel,
    TaskStatus,
    TextStatus,
    TranscriptStatus,
)

# Ids are PostgreSQL integers: anything past this is refused rather than sent to the database.
MAX_ID = 2_147_483_647
MAX_PAGE = 200

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Timestamp = Annotated[str, Field(description="ISO 8601, UTC", json_schema_extra={"format": "date-time"})]
# Filters are compared with stored text; NUL never is (and PostgreSQL refuses it).
Text = Annotated[str, Field(max_length=256, pattern=r"^[^\x00]*$")]


class Error(BaseModel):
    """Every error: a stable code and a sentence for people."""

    error: str = Field(description="a stable code, e.g. not_found, bad_request, unauthorized")
    message: str


# --- query strings


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Page(Query):
    limit: int = Field(50, ge=1, description=f"at most {MAX_PAGE} are returned, whatever is asked")

    @property
    def capped_limit(self) -> int:
        return min(self.limit, MAX_PAGE)


class ResponsesQuery(Page):
    call_sid: Text | None = Field(None, description="the original call's or the survey leg's CallSid")
    agent: Text | None = Field(None, description="the credited agent's reference")
    before_id: Id | None = Field(None, description="page back: only responses with a smaller id")
    channel: SurveyChannel | None = Field(None, description="only surveys by voice, or only by SMS")


class CallbackTasksQuery(Page):
    status: TaskStatus | None = None
    agent: Text | None = None
    overdue: bool = Field(False, description="only open tasks past their deadline")


class FeedbackQuery(Page):
    before_id: Id | None = None


# --- answers


class Answer(BaseModel):
    step: str
    status: AnswerStatus
    raw_input: str | None
    value: int | str | None
    no_input_count: int
    no_match_count: int
    speech_result: str | None
    speech_confidence: float | None
    answered_at: Timestamp | None


class RecordingOut(BaseModel):
    step: str
    recording_sid: str
    duration_seconds: int | None
    status: str | None
    audio_url: str | None = Field(
        description="this API's URL for the audio (needs the API key); null for a comment typed by SMS"
    )
    transcript_status: TranscriptStatus
    transcript: str | None
    sentiment: float | None
    sentiment_label: Sentiment | None


class TextOut(BaseModel):
    direction: Direction
    kind: str = Field(
        description="ours: invitation, question, closing, help, stopped; theirs: answer, unclear, keyword"
    )
    step: str | None
    status: TextStatus = Field(description="ours: pending, queued, sent, delivered, undelivered, failed")
    error_code: str | None = Field(description="Twilio's ErrorCode for a text that failed")
    message_sid: str | None
    at: Timestamp | None


class FlowRef(BaseModel):
    id: str
    version: int


class ScoreOut(BaseModel):
    csat: int | None
    nps: int | None
    nps_category: str | None
    resolved: bool | None
    csat_top_box: bool | None
    csat_bottom_box: bool | None
    ces: int | None
    sentiment: float | None
    sentiment_label: Sentiment | None
    extreme_low: bool
    extreme_low_rule: str | None
    extreme_high: bool
    scored_at: Timestamp | None


class FeedbackOut(BaseModel):
    id: int
    kind: FeedbackKind
    response_id: int
    csat: int | None
    nps: int | None
    ces: int | None
    resolved: bool | None
    verbatim: str | None
    created_at: Timestamp | None
    delivered_at: Timestamp | None
    response_url: str


class TaskSummary(BaseModel):
    id: int
    status: TaskStatus
    escalation_level: int
    due_at: Timestamp | None
    at_risk: bool
    url: str


class SurveyResponseOut(BaseModel):
    id: int
    call_sid: str
    survey_call_sid: str
    caller: str | None = Field(description="masked: +•••••••4321")
    agent: str | None
    agent_chain: list[str]
    queue: str | None
    flow: FlowRef
    language: str
    language_source: LanguageSource
    channel: SurveyChannel
    disposition: Disposition
    started_at: Timestamp | None
    ended_at: Timestamp | None
    answers: list[Answer]
    recordings: list[RecordingOut]
    score: ScoreOut | None
    feedback_item: FeedbackOut | None
    callback_task: TaskSummary | None
    texts: list[TextOut] = Field(description="by SMS: each text sent and received, and its delivery")


class ResponsesPage(BaseModel):
    responses: list[SurveyResponseOut]
    next_before_id: int | None = Field(description="pass as before_id for the next page; null at the end")


class TaskOut(TaskSummary):
    response_id: int
    response_url: str
    agent: str | None
    team: str | None
    assignee: str | None
    caller_number: str | None = Field(description="in full: the supervisor calls this number back")
    claimed_by: str | None = Field(description="the e-mail of the user who claimed it")
    claimed_at: Timestamp | None
    escalated_at: Timestamp | None
    closed_by: str | None = Field(description="the e-mail of the user who closed it")
    closed_at: Timestamp | None
    outcome: str | None
    root_cause: str | None
    notes: str | None
    created_at: Timestamp | None


class TaskList(BaseModel):
    callback_tasks: list[TaskOut]


class TaskEvent(BaseModel):
    action: str
    by: str | None
    detail: str | None
    at: Timestamp | None


class NotificationOut(BaseModel):
    event: str
    channel: Channel
    recipient: str
    status: NotificationStatus
    attempts: int
    last_error: str | None
    sent_at: Timestamp | None


class TaskDetail(TaskOut):
    call_sid: str
    queue: str | None
    language: str
    agent_chain: list[str]
    answers: list[Answer]
    verbatim: str | None
    history: list[TaskEvent]
    notifications: list[NotificationOut]


class AgentFeedback(BaseModel):
    agent: str
    feedback: list[FeedbackOut]
    next_before_id: int | None


# --- call control: sending callers to the survey

Ref = Annotated[str, Field(max_length=255, pattern=r"^[^\x00]*$")]
QueueName = Annotated[str, Field(max_length=128, pattern=r"^[^\x00]*$")]
Short = Annotated[str, Field(max_length=64, pattern=r"^[^\x00]*$")]


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TransferRequest(Body):
    agent: Ref | None = Field(None, description="the agent who finished the call")
    queue: QueueName | None = None
    flow: Short | None = Field(None, description="a flow id; default: the server's default flow")
    lang: Short | None = Field(None, description="the caller's language, e.g. en or es")
    chain: list[Ref] = Field(default_factory=list, description="the agents before `agent`, first first")


class SelfRatingRequest(Body):
    rating: int = Field(ge=1, le=5, description="how the agent thinks the caller felt, 1-5")
    resolved: bool | None = Field(None, description="whether the agent thinks the issue was resolved")


class SelfRatingOut(BaseModel):
    call_sid: str
    agent: str
    rating: int
    resolved: bool | None
    rated_at: datetime
    late: bool = Field(description="given after SELF_RATING_WINDOW_MINUTES: kept, left out of the gap")
    blind: bool = Field(description="given before the agent could see the caller's verdict")


class TransferOut(BaseModel):
    call_sid: str
    survey_url: str = Field(description="where Twilio now fetches the caller's instructions")
    twilio_status: str | None


class SurveyCallRequest(Body):
    to: Short = Field(description="the caller's number, E.164 (e.g. +15557654321)")
    call_sid: Short | None = Field(None, description="the original call's CallSid (CA + 32 hex)")
    agent: Ref | None = None
    queue: QueueName | None = None
    flow: Short | None = None
    lang: Short | None = None
    time_zone: Short | None = Field(None, description="the caller's IANA time zone, for quiet hours")
    channel: SurveyChannel = Field(
        SurveyChannel.voice,
        description="voice: call them; sms: text them the survey (TWILIO_SMS_SURVEY_FROM)",
    )


class SurveyCallOut(BaseModel):
    id: int
    url: str
    channel: SurveyChannel
    response_id: int | None = Field(description="by SMS: the survey response its invitation started")
    state: str = Field(
        description="scheduled, placing, placed (by SMS: the invitation handed to Twilio), failed or refused"
    )
    to: str | None = Field(description="masked")
    call_sid: str | None = Field(description="Twilio's SID of the call placed")
    original_call_sid: str | None
    agent: str | None
    queue: str | None
    flow: str
    lang: str | None
    time_zone: str | None
    scheduled_for: Timestamp
    attempts: int
    last_error: str | None
    placed_at: Timestamp | None
    created_at: Timestamp


# --- exports and reports


class ExportQuery(Query):
    """The explorer's filter (every field optional; the period defaults to the last 30 days)."""

    start: Text | None = Field(None, description="from (UTC): a date or an ISO 8601 time; included")
    end: Text | None = Field(
        None, description="to (UTC): a date (that whole day included) or a time (excluded)"
    )
    team: Text | None = Field(None, description="a team id, or ~ for agents without a team")
    agent: Text | None = Field(None, description="an agent id")
    queue: Text | None = None
    flow: Text | None = Field(None, description="a flow id")
    flow_version: Text | None = Field(None, description="a flow version id")
    language: Text | None = None
    disposition: Text | None = None
    extreme: Text | None = Field(None, description="low or high")
    sentiment: Text | None = None
    csat: Text | None = None
    nps: Text | None = Field(None, description="promoter, passive or detractor")
    resolved: Text | None = Field(None, description="yes or no")
    task: Text | None = Field(None, description="any, open, overdue or closed")
    words: Text | None = Field(None, description="words in the caller's comment or spoken answers")


class ReportQuery(Query):
    period: Text = Field("30", description="today, 7, 30, 90 or custom (with start and end)")
    start: Text | None = Field(None, description="a custom period's first day (UTC)")
    end: Text | None = Field(None, description="a custom period's last day (UTC, included)")
    team: Text | None = Field(None, description="a team id the key may see; default: all it may see")


class Interval95(BaseModel):
    low: float
    high: float


class ReportNumbers(BaseModel):
    responses: int
    csat: dict[str, int] = Field(description="answers per CSAT point")
    bottom_box: float | None
    top_box: float | None
    nps: float | None
    promoters: int
    passives: int
    detractors: int
    resolution_rate: float | None
    effort: float | None
    extreme_lows: int


class ReportSlice(BaseModel):
    name: str
    current: ReportNumbers
    previous: ReportNumbers
    offered: int
    answered: int
    response_rate: float | None
    tasks_open: int
    tasks_overdue: int
    tasks_closed: int
    median_close_seconds: float | None


class ReportAgent(BaseModel):
    agent_id: int
    name: str
    team: str | None
    rank: int | None = Field(description="None: fewer than 10 CSAT answers, not ranked")
    current: ReportNumbers
    previous: ReportNumbers
    top_box_interval: Interval95 | None
    bottom_box_interval: Interval95 | None


class ReportRecoveryRow(BaseModel):
    label: str
    followed_up: int = Field(
        description="callback tasks closed in the period whose caller was sent a follow-up"
    )
    answered: int = Field(description="... who answered it")
    recovered: int = Field(description="... and are now satisfied (CSAT 4-5)")
    rate: float | None = Field(description="recovered / answered")


class ReportRecovery(BaseModel):
    total: ReportRecoveryRow
    by_team: list[ReportRecoveryRow]
    by_supervisor: list[ReportRecoveryRow]
    by_root_cause: list[ReportRecoveryRow]
    by_outcome: list[ReportRecoveryRow]


class DashboardReport(BaseModel):
    start: Timestamp
    end: Timestamp
    previous_start: Timestamp
    total: ReportSlice
    teams: list[ReportSlice]
    queues: list[ReportSlice]
    agents: list[ReportAgent]
    recovery: ReportRecovery
