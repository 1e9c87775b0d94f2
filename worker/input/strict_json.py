"""Strict JSON parsing for the input: a repeated key, a huge number or deep nesting is an error.

Shared by the JSON Lines reader (one object per line) and by `thumbnail_ids` cells that hold
a JSON array, so both refuse the same things with the same short reasons.
"""

from __future__ import annotations

import json
from typing import Any

from worker.input.display import show


class JsonError(Exception):
    """JSON text that cannot be used; the message is a short reason, without the text."""


class _DuplicateKeyError(ValueError):
    """A JSON object names the same key twice."""


def loads(text: str) -> Any:
    """Parse JSON text; every failure becomes a `JsonError` with a short reason."""
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise JsonError(f"{exc.msg} (column {exc.colno})") from None
    except _DuplicateKeyError as exc:
        raise JsonError(str(exc)) from None
    except ValueError:  # an integer literal with thousands of digits
        raise JsonError("number too long") from None
    except RecursionError:
        raise JsonError("nested too deeply") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Build a JSON object, refusing repeated keys instead of silently keeping the last."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(f"duplicate key {show(key)}")
        result[key] = value
    return result


def json_type(value: object) -> str:
    """The JSON name of a parsed value's type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
