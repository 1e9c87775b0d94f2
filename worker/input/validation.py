"""What a record becomes: a `Job` when its values are valid, else an `InvalidRow` saying why.

Both readers (CSV strings, JSON values) hand the known fields of a record here, so the rules
for workspaces and ids are written once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from worker.input.display import show
from worker.input.fields import PERSON_ID, THUMBNAIL_ID, THUMBNAIL_IDS, WORKSPACE
from worker.input.strict_json import JsonError, json_type, loads

MAX_ID = 2**63 - 1
"""Largest person or thumbnail id (a signed 64-bit integer)."""

MAX_ID_DIGITS = len(str(MAX_ID))
"""Digits of MAX_ID: an id spelled with fewer digits is always in range."""

_DIGITS = re.compile(r"[0-9]+")
_ID_SEPARATORS = re.compile(r"[;|,\s]+")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class Job(NamedTuple):
    """One valid request: delete these thumbnails of one person in one workspace."""

    workspace: str
    person_id: int
    thumbnail_ids: tuple[int, ...]
    line: int


@dataclass(frozen=True, slots=True)
class InvalidRow:
    """A record that cannot become a job, and the reason in a short human sentence."""

    line: int
    error: str


class _RowError(Exception):
    """A record cannot become a job; the message becomes the InvalidRow's error."""


def job_from(line: int, values: dict[str, Any]) -> Job | InvalidRow:
    """Validate the known fields of one record (CSV strings or JSON values)."""
    try:
        workspace = _workspace(values.get(WORKSPACE))
        person_id = _person_id(values.get(PERSON_ID))
        ids = _thumbnail_ids(values.get(THUMBNAIL_ID), values.get(THUMBNAIL_IDS))
    except _RowError as exc:
        return InvalidRow(line, str(exc))
    return Job(workspace, person_id, ids, line)


def _workspace(value: object) -> str:
    """A non-empty workspace name, stripped."""
    if value is not None and not isinstance(value, str):
        raise _RowError(f"workspace must be a string, found {json_type(value)}")
    workspace = (value or "").strip()
    if not workspace:
        raise _RowError("workspace is missing or empty")
    # JSON can spell a lone surrogate ("\ud800"), which is not text: it has no UTF-8 form, so
    # it cannot go into a URL (or a ledger line) as it is. show() escapes it in the message.
    if not workspace.isascii() and _LONE_SURROGATE.search(workspace) is not None:
        raise _RowError(
            f"workspace {show(workspace)} is not valid Unicode text (it holds a lone surrogate)"
        )
    return workspace


def _person_id(value: object) -> int:
    """A person id: an integer from 0 to 2**63-1."""
    if _is_absent(value):
        raise _RowError("person_id is missing or empty")
    number = _as_int(value)
    if number is None or not 0 <= number <= MAX_ID:
        raise _RowError(f"person_id {show(value)} is not a non-negative 64-bit integer")
    return number


def _thumbnail_ids(single: object, many: object) -> tuple[int, ...]:
    """The ids of the `thumbnail_id` value followed by those of `thumbnail_ids`."""
    ids: list[int] = []
    if not _is_absent(single):
        ids.append(_thumbnail_id(single))
    if not _is_absent(many):
        ids.extend(_thumbnail_id(item) for item in _id_items(many))
    if not ids:
        raise _RowError("no thumbnail ids")
    return tuple(ids)


def _id_items(value: object) -> list[object]:
    """Split a `thumbnail_ids` value: a list, a JSON array text, or separated ids."""
    if isinstance(value, list):
        return list(value)
    if not isinstance(value, str):
        return [value]
    text = value.strip()
    if not text.startswith("["):
        return [item for item in _ID_SEPARATORS.split(text) if item]
    try:
        parsed = loads(text)
    except JsonError:
        raise _RowError(f"thumbnail ids {show(text)} are not a valid JSON array") from None
    if not isinstance(parsed, list):
        raise _RowError(f"thumbnail ids {show(text)} are not a valid JSON array")
    return list(parsed)


def _thumbnail_id(value: object) -> int:
    """A thumbnail id: an integer from 1 to 2**63-1."""
    number = _as_int(value)
    if number is None or not 1 <= number <= MAX_ID:
        raise _RowError(f"thumbnail id {show(value)} is not a positive 64-bit integer")
    return number


def _is_absent(value: object) -> bool:
    """JSON null and blank strings (empty CSV cells) count as no value."""
    return value is None or (isinstance(value, str) and not value.strip())


def _as_int(value: object) -> int | None:
    """A JSON integer or a string of ASCII digits (spaces around allowed) as an int."""
    if type(value) is str and len(value) < MAX_ID_DIGITS and value.isascii() and value.isdigit():
        return int(value)  # the common case: a plain CSV cell of digits
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if _DIGITS.fullmatch(text) and len(text.lstrip("0")) <= MAX_ID_DIGITS:
            return int(text.lstrip("0") or "0")  # int() refuses > 4300 digits, even zeros
    return None
