"""The explorer's filter as a file: CSV for spreadsheets, JSON lines for programs, both produced
a line at a time from one streamed query (explorer.export_values), so a response sent is a response forgotten.

A spreadsheet runs a cell that starts with = + - @ (or a tab or carriage return before one) as a
formula; a caller's words must never do that, so such a text cell gets a leading apostrophe
(OWASP's advice for CSV injection). Numbers are written as numbers and left alone.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from ivr.services.insight import explorer
from ivr.services.insight.filters import ResponseFilter
from ivr.services.policy import Principal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula, made inert."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return neutralise(value)


def csv_lines(columns: list[str], records: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The header, then one CSV line per record."""
    return csv_rows(columns, ([record[column] for column in columns] for record in records))


def csv_rows(columns: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    """The header, then one CSV line per row of values (in the columns' order). One writer over
    one small buffer, emptied after each line."""
    buffer = io.StringIO()
    writerow = csv.writer(buffer).writerow
    getvalue, seek, truncate = buffer.getvalue, buffer.seek, buffer.truncate
    writerow(columns)
    yield getvalue()
    formula = frozenset(FORMULA_STARTS)  # one character each
    for values in rows:
        seek(0)
        truncate()
        # _cell() inlined: a call per cell is most of the time a row takes.
        writerow(
            [
                ""
                if value is None
                else ("'" + value if value[:1] in formula else value)
                if type(value) is str
                else ("yes" if value else "no")
                if type(value) is bool
                else value
                for value in values
            ]
        )
        yield getvalue()


def jsonl_lines(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    for record in records:
        yield json.dumps(record, ensure_ascii=False) + "\n"


def responses_csv(principal: Principal, f: ResponseFilter) -> Iterator[str]:
    steps = explorer.step_keys(f)
    return csv_rows(explorer.export_columns(steps), explorer.export_values(principal, f, steps))


def responses_jsonl(principal: Principal, f: ResponseFilter) -> Iterator[str]:
    return jsonl_lines(explorer.export_rows(principal, f, explorer.step_keys(f)))
