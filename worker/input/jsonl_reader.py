"""The JSON Lines reader: one JSON object per line, each becoming a job or an invalid row."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from worker.input.fields import RepeatedFieldError, known_fields
from worker.input.strict_json import JsonError, json_type, loads
from worker.input.validation import InvalidRow, Job, job_from

# JSON's own whitespace (RFC 8259): a line of only these is blank, whatever else str.strip eats.
_JSON_WHITESPACE = " \t\r\n"


def read_jsonl(lines: Iterable[str]) -> Iterator[Job | InvalidRow]:
    """Jobs and invalid rows of JSON Lines text; blank lines are skipped."""
    for line, text in enumerate(lines, start=1):
        if text.strip(_JSON_WHITESPACE):
            yield _json_row(line, text)


def _json_row(line: int, text: str) -> Job | InvalidRow:
    """Turn one JSON line into a job or an invalid row."""
    try:
        value = loads(text)
    except JsonError as exc:
        return InvalidRow(line, f"invalid JSON: {exc}")
    if not isinstance(value, dict):
        return InvalidRow(line, f"expected a JSON object, found {json_type(value)}")
    try:
        values = known_fields(value.items())
    except RepeatedFieldError as repeated:
        return InvalidRow(line, f"key {repeated.field} appears more than once")
    return job_from(line, values)
