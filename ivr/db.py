"""Small database helpers shared by the services."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError

from ivr.extensions import db

T = TypeVar("T")


def insert_or_get(make: Callable[[], T], find: Callable[[], T | None]) -> tuple[T, bool]:
    """Insert a row unless a concurrent or earlier request already did; (row, created).

    Twilio retries webhooks, and two deliveries can race: the unique constraint decides, inside
    a savepoint so the surrounding transaction survives the loser's IntegrityError.
    """
    existing = find()
    if existing is not None:
        return existing, False
    try:
        with db.session.begin_nested():
            row = make()
            db.session.add(row)
        return row, True
    except IntegrityError:
        found = find()
        if found is None:
            raise
        return found, False
