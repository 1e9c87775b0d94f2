"""Keep credentials out of text: presigned URL query strings and URLs in library errors."""

from __future__ import annotations

import re

_URL_QUERY = re.compile(r"(?P<base>https?://[^\s?#\"'<>]+)\?[^\s\"'<>]*", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")
MAX_MESSAGE_CHARS = 300


def redact(text: str) -> str:
    """Replace every URL query string with `?<redacted>`, so presigned URLs lose their keys."""
    return _URL_QUERY.sub(r"\g<base>?<redacted>", text)


def clean_message(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """A one-line, redacted, length-capped message fit for a ledger or a log line."""
    if len(text) <= limit and "://" not in text and text.isprintable() and "  " not in text:
        return text.strip()  # the common case ("success"): nothing to redact or fold
    text = _WHITESPACE.sub(" ", redact(text)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
