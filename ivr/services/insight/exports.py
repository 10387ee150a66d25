"""The explorer's filter as a file: CSV for spreadsheets, JSON lines for programs, both produced
a line at a time from explorer.export_rows, so a response sent is a response forgotten.

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
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: list[Any]) -> str:
        writer.writerow(values)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield line(columns)
    for record in records:
        yield line([_cell(record[column]) for column in columns])


def jsonl_lines(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    for record in records:
        yield json.dumps(record, ensure_ascii=False) + "\n"


def responses_csv(principal: Principal, f: ResponseFilter) -> Iterator[str]:
    steps = explorer.step_keys(f)
    return csv_lines(explorer.export_columns(steps), explorer.export_rows(principal, f, steps))


def responses_jsonl(principal: Principal, f: ResponseFilter) -> Iterator[str]:
    return jsonl_lines(explorer.export_rows(principal, f, explorer.step_keys(f)))
