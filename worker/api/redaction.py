"""Keep credentials out of text, and make any text safe for a ledger or a log line.

Presigned URL query strings and URLs in library errors lose their query. Text from the wire may
be anything (megabytes, lone surrogates, NUL, line separators), so it is cut to a bounded
length first and every step after that is linear in what is left.
"""

from __future__ import annotations

import re

# A URL runs from its scheme to the first character that cannot be in one. The pattern has a
# single greedy class and no alternative ending, so a failed or successful match never
# backtracks: scanning is linear, however many URLs (with or without a query) the text holds.
_URL = re.compile(r"https?://[^\s\"'<>]*", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")
MAX_MESSAGE_CHARS = 300
# Text kept before redacting: enough for a message of MAX_MESSAGE_CHARS after whitespace runs
# fold, and small enough that nothing after the cut can cost noticeable CPU.
_SCAN_FACTOR = 4


def _redact_url(match: re.Match[str]) -> str:
    """The URL up to its query (or fragment), then `?<redacted>` if anything followed."""
    url = match.group()
    # A '#' may precede a '?' ("…/p#frag?X-Amz-Signature=…"): cut at whichever comes first.
    cut = min((i for i in (url.find("?"), url.find("#")) if i >= 0), default=-1)
    return url if cut < 0 else url[:cut] + "?<redacted>"


def redact(text: str) -> str:
    """Replace every URL's query string (and fragment) with `?<redacted>`, so presigned URLs
    lose their keys; linear in the length of `text`."""
    if "://" not in text:
        return text
    return _URL.sub(_redact_url, text)


def _escape(char: str) -> str:
    """A visible escape for a character that cannot be shown as itself (NUL, a surrogate…)."""
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def clean_message(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """A one-line, printable, redacted, length-capped message fit for a ledger or a log line.

    Whitespace runs (including line and paragraph separators) fold to one space; any other
    character that is not printable (NUL, controls, lone surrogates, format characters) is
    shown as an escape such as `\\x00` or `\\ud800`, so the result always encodes as UTF-8.
    """
    if len(text) <= limit and "://" not in text and text.isprintable() and "  " not in text:
        return text.strip()  # the common case ("success"): nothing to redact, fold or escape
    # Cut before redacting: a query cut short is still a query (the URL pattern runs to the
    # end of the text), so a presigned URL straddling the cut keeps no part of its query.
    text = _WHITESPACE.sub(" ", redact(text[: _SCAN_FACTOR * limit])).strip()
    if not text.isprintable():
        text = "".join(char if char.isprintable() else _escape(char) for char in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
