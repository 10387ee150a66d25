"""Who may be surveyed: the do-not-survey list (opt-outs and admin entries) and "once in N days".

Numbers are matched through their keyed hash (ivr.services.consent.privacy); the list never stores a
number itself, so an export can be shared without leaking who is on it.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TextIO, cast

from sqlalchemy import Table, bindparam, exists, or_, select

from ivr.db import insert_ignore
from ivr.extensions import db
from ivr.flows import CompiledFlow
from ivr.models import Call, Disposition, DoNotSurvey, FlowVersion, ListSource, SurveyResponse, utcnow
from ivr.services.consent.privacy import mask, number_hash

log = logging.getLogger(__name__)

# Dispositions that mean the caller was asked; "once in N days" counts only these.
ASKED = (Disposition.in_progress, Disposition.completed, Disposition.partial, Disposition.breakoff)
EXPORT_FIELDS = ["number_hash", "masked", "source", "note", "added_at"]


_list = cast(Table, DoNotSurvey.__table__)
_calls = cast(Table, Call.__table__)
_responses = cast(Table, SurveyResponse.__table__)
_versions = cast(Table, FlowVersion.__table__)
# Both rules in one round trip, built once: every survey start asks it.
_EXCLUSION = select(
    exists().where(_list.c.number_hash == bindparam("caller")).label("listed"),
    exists()
    .where(
        _responses.c.call_id == _calls.c.id,
        _versions.c.id == _responses.c.flow_version_id,
        _calls.c.from_hash == bindparam("caller"),
        _calls.c.id != bindparam("this_call"),
        _versions.c.flow_key == bindparam("flow_key"),
        _responses.c.started_at >= bindparam("since", type_=_responses.c.started_at.type),
        # Equalities, not IN: an IN of values is rendered again on every execution (about a
        # millisecond here); these are bound once.
        or_(*(_responses.c.disposition == disposition for disposition in ASKED)),
    )
    .label("asked"),
)


def is_listed(from_hash: str) -> bool:
    return bool(db.session.scalar(select(exists().where(DoNotSurvey.number_hash == from_hash))))


def exclusion(from_hash: str, flow: CompiledFlow, this_call_id: int | None = None) -> str | None:
    """Why this caller must not be asked this flow now, or None when they may be."""
    days = flow.flow.suppress_days
    # With no "once in N days", ask about a time to come: nothing started then.
    since = utcnow() - timedelta(days=days) if days > 0 else utcnow() + timedelta(days=1)
    listed, asked = db.session.execute(
        _EXCLUSION, {"caller": from_hash, "this_call": this_call_id or 0, "flow_key": flow.id, "since": since}
    ).one()
    if listed:
        return "the number is on the do-not-survey list"
    if asked:
        return f"surveyed with {flow.id} in the last {days} days"
    return None


def add_hash(from_hash: str, source: ListSource, masked: str | None = None, note: str | None = None) -> bool:
    """Add to the list in the caller's transaction; False when it was already there."""
    values = {"number_hash": from_hash, "masked": masked, "source": source, "note": note}
    return insert_ignore(DoNotSurvey, values, ["number_hash"]) is not None


def add_number(number: str, note: str | None = None) -> bool:
    added = add_hash(number_hash(number), ListSource.admin, mask(number), note)
    db.session.commit()
    return added


def remove_number(number: str) -> bool:
    row = db.session.scalar(select(DoNotSurvey).filter_by(number_hash=number_hash(number)))
    if row is not None:
        db.session.delete(row)
    db.session.commit()
    return row is not None


@dataclass
class Imported:
    added: int = 0
    already: int = 0
    rejected: list[str] | None = None


def import_csv(lines: Iterable[str]) -> Imported:
    """Rows with a `number` column (or an exported file's `number_hash`), or bare numbers, one per
    line. All or nothing: one transaction."""
    result = Imported(rejected=[])
    rows = list(csv.reader(lines))
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    named = "number" in header or "number_hash" in header
    for index, row in enumerate(rows[1:] if named else rows, start=2 if named else 1):
        record = dict(zip(header, row, strict=False)) if named else {"number": row[0] if row else ""}
        number = (record.get("number") or "").strip()
        given_hash = (record.get("number_hash") or "").strip().lower()
        note = (record.get("note") or "").strip() or None
        if number and sum(ch.isdigit() for ch in number) >= 5:
            added = add_hash(number_hash(number), ListSource.admin, mask(number), note)
        elif len(given_hash) == 64 and all(ch in "0123456789abcdef" for ch in given_hash):
            added = add_hash(given_hash, ListSource.admin, record.get("masked") or None, note)
        else:
            result.rejected.append(f"line {index}: {','.join(row)!r} is neither a number nor a hash")  # type: ignore[union-attr]
            continue
        if added:
            result.added += 1
        else:
            result.already += 1
    db.session.commit()
    return result


def export_csv(out: TextIO) -> int:
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    count = 0
    for row in entries():
        writer.writerow(
            {
                "number_hash": row.number_hash,
                "masked": row.masked or "",
                "source": row.source.value,
                "note": row.note or "",
                "added_at": row.added_at.isoformat(),
            }
        )
        count += 1
    return count


def entries() -> Iterator[DoNotSurvey]:
    yield from db.session.scalars(select(DoNotSurvey).order_by(DoNotSurvey.id))
