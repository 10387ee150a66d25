"""Small database helpers shared by the services."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from ivr.extensions import db
from ivr.models import Base


def insert_ignore(model: type[Base], values: dict[str, Any], unique: list[str]) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: the new row's id, or None if it existed.

    Twilio retries webhooks and two deliveries can race: the unique constraint decides, in one
    round trip and without a savepoint. Works on PostgreSQL and SQLite (3.35+).
    """
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=unique)
        .returning(model.id)  # type: ignore[attr-defined]
    )
    new_id: int | None = db.session.scalar(statement)
    return new_id


def upsert_id(model: type[Base], values: dict[str, Any], unique: list[str]) -> tuple[int, bool]:
    """The id of the row with these unique values, inserting it if needed; (id, created)."""
    new_id = insert_ignore(model, values, unique)
    if new_id is not None:
        return new_id, True
    existing = db.session.scalar(
        select(model.id).filter_by(**{column: values[column] for column in unique})  # type: ignore[attr-defined]
    )
    if existing is None:  # pragma: no cover - only if the row vanished between the two statements
        raise LookupError(f"{model.__name__} with {unique} vanished during an upsert")
    return existing, False
