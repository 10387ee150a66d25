"""A response's conversation state, read in one query and written in one statement.

The answer webhook is the hottest path in the server (every key a caller presses), so it works
on this small state with Core statements instead of ORM objects and their unit of work. On
PostgreSQL the answer a turn took and the state it leads to are written by one statement (the
INSERT in a CTE of the UPDATE): atomic by itself, so the webhook needs no BEGIN and COMMIT
around it (ivr.db.autocommit_until_begin).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, func, select, update
from sqlalchemy.dialects import postgresql

from ivr.extensions import db
from ivr.models import Answer, AnswerStatus, Disposition, LanguageSource, SurveyResponse, utcnow
from ivr.ops.metrics import RESPONSES_ENDED, count_after_commit
from ivr.services.conversation import records
from ivr.services.conversation.answer_values import answer_value

_responses = cast(Table, SurveyResponse.__table__)
_answers = cast(Table, Answer.__table__)

_LOAD = (
    select(
        _responses.c.id,
        _responses.c.flow_version_id,
        _responses.c.language,
        _responses.c.language_source,
        _responses.c.disposition,
        _responses.c.current_step,
        _responses.c.ended_at,
        _responses.c.survey_call_sid,
        _answers.c.step_key,
        _answers.c.status,
        _answers.c.value,
        _answers.c.number,
    )
    .select_from(_responses.outerjoin(_answers, _answers.c.response_id == _responses.c.id))
    .where(_responses.c.id == bindparam("response_id"))
)

_SAVE = (
    update(_responses)
    .where(_responses.c.id == bindparam("response_id"))
    .values(
        language=bindparam("language"),
        language_source=bindparam("language_source"),
        disposition=bindparam("disposition"),
        current_step=bindparam("current_step"),
        ended_at=bindparam("ended_at"),
    )
)


@dataclass
class SurveyState:
    id: int
    flow_version_id: int
    language: str
    disposition: Disposition
    current_step: str | None
    # Step key -> the answer as conditions see it (None: skipped).
    values: dict[str, Any] = field(default_factory=dict)
    ended_at: datetime | None = None
    changed: bool = False
    language_source: LanguageSource = LanguageSource.default
    # The leg the survey runs on: a step webhook from any other call is refused.
    survey_call_sid: str = ""
    # Set by finish() on the transition to a final disposition; save_state counts it.
    newly_final: bool = False
    # The answer this turn took (records.insert_answer's arguments), written by save_state.
    pending_answer: dict[str, Any] | None = None

    @property
    def answered(self) -> bool:
        return any(value is not None for value in self.values.values())

    @property
    def language_known(self) -> bool:
        """Passed by the IVR or chosen in the menu: a language menu is not asked."""
        return self.language_source is not LanguageSource.default

    def choose_language(self, language: str) -> None:
        self.language, self.language_source = language, LanguageSource.menu
        self.changed = True

    def asking(self, step_key: str) -> None:
        if self.current_step != step_key:
            self.current_step = step_key
            self.changed = True

    def finish(self, disposition: Disposition) -> None:
        # Counted once, when the response first becomes final (a late answer finishes it again).
        self.newly_final = self.newly_final or not self.disposition.is_final
        self.disposition = disposition
        self.ended_at = utcnow()
        self.current_step = None
        self.changed = True


def load_state(response_id: int) -> SurveyState | None:
    rows = db.session.execute(_LOAD, {"response_id": response_id}).all()
    if not rows:
        return None
    first = rows[0]
    state = SurveyState(
        first.id,
        first.flow_version_id,
        first.language,
        first.disposition,
        first.current_step,
        ended_at=first.ended_at,
        language_source=first.language_source,
        survey_call_sid=first.survey_call_sid,
    )
    for row in rows:
        if row.step_key is not None:
            state.values[row.step_key] = answer_value(row.status, row.value, row.number)
    return state


def take_answer(state: SurveyState, answer: dict[str, Any]) -> None:
    """Keep the answer this turn took (records.insert_answer's keyword arguments) until
    save_state writes it with the state it leads to."""
    state.pending_answer = answer
    state.values[answer["step_key"]] = answer_value(answer["status"], answer["value"], answer["number"])


def save_state(state: SurveyState) -> None:
    """Write the answer taken and the state (when it changed), in the caller's transaction; on
    PostgreSQL in one statement."""
    answer, state.pending_answer = state.pending_answer, None
    if answer is not None and state.changed and db.session.get_bind().dialect.name == "postgresql":
        row = {**_answer_row(answer), **_state_row(state)}
        stored = db.session.execute(_answer_and_state(), row).scalar()
        records.answer_stored(answer["response_id"], answer["step_key"], bool(stored))
        _saved(state)
        return
    if answer is not None:
        records.insert_answer(**answer)
    if state.changed:
        db.session.execute(_SAVE, _state_row(state))
        _saved(state)


def _state_row(state: SurveyState) -> dict[str, Any]:
    return {
        "response_id": state.id,
        "language": state.language,
        "language_source": state.language_source,
        "disposition": state.disposition,
        "current_step": state.current_step,
        "ended_at": state.ended_at,
    }


def _answer_row(answer: dict[str, Any]) -> dict[str, Any]:
    return {f"answer_{column}": value for column, value in records.answer_row(**answer).items()}


def _saved(state: SurveyState) -> None:
    state.changed = False
    if state.newly_final:
        count_after_commit(RESPONSES_ENDED.labels(state.disposition.value), db.session())
        state.newly_final = False


@functools.cache
def _answer_and_state() -> Update:
    """WITH answer AS (INSERT ... ON CONFLICT DO NOTHING RETURNING id) UPDATE the response ...
    RETURNING whether the answer was new; PostgreSQL only (SQLite has no INSERT in a CTE)."""
    columns = list(records.answer_row(0, "", AnswerStatus.answered, None, None))
    answer = (
        postgresql.insert(_answers)
        .values({column: bindparam(f"answer_{column}", type_=_answers.c[column].type) for column in columns})
        .on_conflict_do_nothing(index_elements=["response_id", "step_key"])
        .returning(_answers.c.id)
        .cte("answer")
    )
    new = select(func.count()).select_from(answer).scalar_subquery()
    return _SAVE.add_cte(answer).returning(new)
