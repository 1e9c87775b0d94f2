"""Reading the API's replies: status, body and headers of one response become an `Outcome`.

Replies are distrusted: any status, bytes or header text gives an Outcome with a clean
message (redacted, one line, bounded), and nothing here raises.
"""

from __future__ import annotations

import json
import time
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import msgspec

from worker.api.outcome import Outcome
from worker.api.redaction import clean_message

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
AUTH_STATUSES = frozenset({401, 403})
# The longest wait a Retry-After can ask for here; callers cap it far lower (--retry-after-max).
# It keeps absurd values (400 digits, the year 9999) finite for every later sum.
MAX_RETRY_AFTER = 365 * 86400.0
# The API answers in UTF-8 JSON (RFC 8259). msgspec reads a reply in a quarter of the time
# `json` takes (a good share of a request's CPU against a fast API) and gives the same values
# whenever it accepts the text; what it refuses and `json` reads (a byte-order mark, NaN, 1e400,
# lone surrogate escapes) goes to `json`, which decides, as before.
_decode_fast = msgspec.json.Decoder().decode
_decode_json = json.JSONDecoder().decode


def interpret(
    status: int,
    body: bytes,
    retry_after: str | None,
    latency: float = 0.0,
    *,
    location: str | None = None,
) -> Outcome:
    """Classify one HTTP response: deleted, retryable, an authentication failure, or final.

    Never raises, whatever the status, body or header text; the message is always clean
    (one printable, redacted line of bounded length). A 3xx (redirects are not followed) is
    a final failure that names only the host `location` points to.
    """
    payload = _decode(body)
    is_dict = type(payload) is dict
    if status == 200 and is_dict and payload.get("code") == "0" and "error" not in payload:
        # The usual success, taken without the general path's checks (same result).
        remaining, primary = _thumbnails(payload)
        message = _text(payload.get("message"))
        # Positional, in field order (keywords cost more, once per request): deleted, status,
        # code, message, retryable, auth_failure, retry_after, remaining, primary, sent, latency.
        return Outcome(
            True, 200, "0", "" if message is None else clean_message(message), False, False, None,
            remaining, primary, True, latency,
        )  # fmt: skip
    code, message = _error_fields(payload)
    if code is not None:
        code = clean_message(code)
    if payload is None and body:
        snippet = body[:200].decode("utf-8", "replace")
        message = f"non-JSON response: {snippet}"
    if status == 200 and code == "0":
        remaining, primary = _thumbnails(payload)
        return Outcome(
            deleted=True, http_status=status, code=code, message=clean_message(message or ""),
            remaining_ids=remaining, primary_id=primary, latency=latency,
        )  # fmt: skip
    if 300 <= status < 400:
        message = _redirect_message(status, location)
    elif message is None:
        message = f"HTTP {status} with an empty body" if not body else f"HTTP {status}"
    return Outcome(
        deleted=False,
        http_status=status,
        code=code,
        message=clean_message(message),
        retryable=status in RETRYABLE_STATUSES,
        auth_failure=status in AUTH_STATUSES,
        retry_after=parse_retry_after(retry_after) if status in RETRYABLE_STATUSES else None,
        latency=latency,
    )


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP-date (RFC 9110).

    Only ASCII digits count as delay-seconds (`str.isdigit` also accepts '²' or '٣', which
    `float` refuses); anything that is neither is ignored (None). The result is finite, at
    most MAX_RETRY_AFTER.
    """
    if value is None:
        return None
    value = value.strip(" \t")
    if value.isascii() and value.isdigit():
        # a long digit string is huge, and float() would make it inf; no need to convert it
        return MAX_RETRY_AFTER if len(value) > 10 else min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            return None
        wait = when.timestamp() - (time.time() if now is None else now)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return min(max(0.0, wait), MAX_RETRY_AFTER)


def _decode(body: bytes) -> Any:
    """The JSON payload, or None when the body is not (readable) JSON."""
    if not body:
        return None
    try:
        return _decode_fast(body)
    except (msgspec.DecodeError, RecursionError):  # a ValidationError is a DecodeError too
        pass
    try:
        return _decode_json(body.decode().removeprefix("\ufeff"))
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: deep nesting
        return None


def _text(value: Any) -> str | None:
    """A code or message given as text or a number; any other JSON type counts as absent.

    Never `str()` of a list or an object: the text could be huge or nested past the recursion
    limit, and it would not be a message anyway.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _error_fields(payload: Any) -> tuple[str | None, str | None]:
    """(code, message) from either documented error shape, or (None, None)."""
    if not isinstance(payload, dict):
        return None, None
    gateway = payload.get("error")
    if isinstance(gateway, dict):
        parts = [_text(gateway.get(key)) for key in ("message", "details")]
        return _text(gateway.get("errorCode")), (" - ".join(p for p in parts if p) or None)
    return _text(payload.get("code")), _text(payload.get("message"))


def _thumbnails(payload: Any) -> tuple[tuple[int, ...] | None, int | None]:
    """The ids still on the person and its primary id; never the presigned URLs."""
    result = payload.get("result") if isinstance(payload, dict) else None
    listing = result.get("thumbnailList") if isinstance(result, dict) else None
    if not isinstance(listing, list):
        return None, None
    remaining: list[int] = []
    primary: int | None = None
    for item in listing:
        if not isinstance(item, dict):
            continue
        thumbnail_id = item.get("id")
        if isinstance(thumbnail_id, int) and not isinstance(thumbnail_id, bool):
            remaining.append(thumbnail_id)
            if item.get("isPrimaryThumbnail") is True:
                primary = thumbnail_id
    return tuple(remaining), primary


def _redirect_message(status: int, location: str | None) -> str:
    """What a redirect pointed at: its host (and port) only, never the path or query (a
    Location may carry a presigned query) nor any user:password part."""
    if not location:
        return f"redirected (HTTP {status}) without a Location; redirects are not followed"
    try:
        parts = urlsplit(location.strip())
        host, port = parts.hostname, parts.port
    except ValueError:  # e.g. an unclosed IPv6 bracket or a port that is not a number
        host, port = None, None
        parts = None
    if host is not None:
        where = host if port is None else f"{host}:{port}"
    elif parts is not None and not parts.netloc:
        where = "a path on the API host"
    else:
        where = "an unreadable address"
    return f"redirected (HTTP {status}) to {where}; redirects are not followed"
