"""Small database helpers shared by the services."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from sqlalchemy import Executable, Table, bindparam, event, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, SessionTransaction

from ivr.extensions import db
from ivr.models import Base

log = logging.getLogger(__name__)
T = TypeVar("T")


def retry_on_disconnect(work: Callable[..., T], *args: Any) -> T:
    """Run a service call, once more if the database connection turned out to be dead.

    The pool does not ping before every checkout (a round trip on every webhook); instead a
    connection cut by a database restart or failover shows up here, the pool discards it, and
    the call runs again on a fresh one. Only safe for idempotent services, which the webhook
    services are (unique keys and ON CONFLICT DO NOTHING).
    """
    try:
        return work(*args)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        log.warning("database connection was lost; retrying %s once", getattr(work, "__name__", work))
        db.session.rollback()
        return work(*args)


def insert_ignore(model: type[Base], values: dict[str, Any], unique: list[str]) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: the new row's id, or None if it existed.

    Twilio retries webhooks and two deliveries can race: the unique constraint decides, in one
    round trip and without a savepoint. Works on PostgreSQL and SQLite (3.35+).
    """
    dialect = db.session.get_bind().dialect.name
    statement = _insert_ignore(model, tuple(values), tuple(unique), dialect)
    new_id: int | None = db.session.execute(statement, values).scalar()
    return new_id


@functools.lru_cache(maxsize=256)
def _insert_ignore(
    model: type[Base], columns: tuple[str, ...], unique: tuple[str, ...], dialect: str
) -> Executable:
    """The statement for these columns, built once: the webhooks run the same few inserts all
    day, and building one (and its cache key) per call cost more than sending it. A Core
    statement on the table, with bound parameters, skips the ORM's bulk-insert layer."""
    table = cast(Table, model.__table__)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(table)
        .values({column: bindparam(column, type_=table.c[column].type) for column in columns})
        .on_conflict_do_nothing(index_elements=list(unique))
        .returning(table.c.id)
    )


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


_AUTOCOMMIT = "ivr.db.autocommit"


def autocommit_until_begin() -> None:
    """On PostgreSQL, a session that has not begun runs its statements without BEGIN and COMMIT
    until begin(): a webhook that reads, then writes one statement (atomic by itself), saves
    two round trips of three. Several writes that must commit together call begin() first.
    On SQLite, or in a session already at work, nothing changes."""
    session = db.session()
    if session.in_transaction() or session.get_bind().dialect.name != "postgresql":
        return
    try:
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    except Exception:  # a connection left in a transaction (by a connect hook, say): as usual then
        log.debug("could not switch the connection to autocommit", exc_info=True)
        session.rollback()
        return
    session.info[_AUTOCOMMIT] = True


def begin() -> None:
    """Open the transaction autocommit_until_begin() left out (nothing to do otherwise): the writes that
    follow commit together, or not at all, at the session's commit."""
    session = db.session()
    if session.info.pop(_AUTOCOMMIT, False):
        session.execute(text("BEGIN"))


@event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the connection (and its autocommit) goes back to the pool
        session.info.pop(_AUTOCOMMIT, None)


def end_session(commit: bool) -> None:
    """End the unit of work: commit (or roll back), then give the connection back to the pool.

    Services commit their own work, so the commit here only closes a transaction a last read left
    open; after a failure it is a rollback. Either way no connection stays "idle in transaction".
    """
    try:
        if commit:
            db.session.commit()
        else:
            db.session.rollback()
    except Exception:  # the database itself may be what failed; remove() still gives the connection back
        log.warning("could not %s the session", "commit" if commit else "roll back", exc_info=True)
    finally:
        db.session.remove()
