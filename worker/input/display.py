"""How offending input values appear in messages: short, quoted, and never the whole value."""

from __future__ import annotations

import json

_SHOWN_CHARS = 40


def show(value: object) -> str:
    """A short rendering of an offending value for an error message."""
    if isinstance(value, str):
        return repr(truncate(value, _SHOWN_CHARS))
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int | float):
        return truncate(repr(value), _SHOWN_CHARS)
    if isinstance(value, list):
        return "[...]"
    return "{...}"


def truncate(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, marked with "..." when cut."""
    return text if len(text) <= limit else text[:limit] + "..."
