"""Reading the answer to a person look-up (`GET .../persons/{id}`), leniently.

The answer's shape is inferred, not documented (NCP-NOTES.md), so anything but a readable
thumbnail list or the service's own 404 means "cannot check", never an error of the run.
Nothing here raises, and no presigned URL is kept.
"""

from __future__ import annotations

import json
from typing import Any, Literal, NamedTuple

from worker.api.redaction import clean_message
from worker.api.replies import RETRYABLE_STATUSES, parse_retry_after

LookupState = Literal["found", "missing", "unknown"]


class PersonLookup(NamedTuple):
    """What one look-up learned: the person's ids (found), that it does not exist (missing),
    or nothing usable (unknown: `problem` says why; `retryable` if another attempt may help)."""

    state: LookupState
    thumbnail_ids: tuple[int, ...] = ()
    primary_id: int | None = None
    problem: str = ""
    retryable: bool = False
    retry_after: float | None = None
    http_status: int | None = None


def unknown(problem: str, *, retryable: bool = False, status: int | None = None) -> PersonLookup:
    """A look-up that tells nothing, and why (a clean, redacted line)."""
    return PersonLookup(
        "unknown", problem=clean_message(problem), retryable=retryable, http_status=status
    )


def read_person(status: int, body: bytes, retry_after: str | None = None) -> PersonLookup:
    """Classify one look-up answer: found (with ids), missing (the service's 404), or unknown."""
    payload = _decode(body)
    if not isinstance(payload, dict):
        what = "an empty body" if not body else "a body that is not JSON"
        return _failed(status, f"HTTP {status} with {what}", retry_after)
    gateway = payload.get("error")
    if gateway is not None:
        fields = gateway if isinstance(gateway, dict) else {}
        words = [_text(fields.get(key)) for key in ("message", "details")]
        said = " - ".join(word for word in words if word)
        problem = f"HTTP {status}, gateway error {_text(fields.get('errorCode')) or '?'}"
        return _failed(status, f"{problem}: {said}" if said else problem, retry_after)
    code, message = _text(payload.get("code")), _text(payload.get("message"))
    if status == 404 and code is not None and message is not None:
        return PersonLookup("missing", http_status=status)  # the service says: no such person
    if status != 200 or code != "0":
        return _failed(status, f"HTTP {status}, code {code or '?'}: {message or ''}", retry_after)
    result = payload.get("result")
    listing = result.get("thumbnailList") if isinstance(result, dict) else None
    if not isinstance(listing, list):
        return unknown("the answer holds no readable thumbnailList", status=status)
    ids: list[int] = []
    primary: int | None = None
    for item in listing:
        thumbnail_id = _id(item.get("id")) if isinstance(item, dict) else None
        if thumbnail_id is None:
            continue
        ids.append(thumbnail_id)
        if item.get("isPrimaryThumbnail") is True:
            primary = thumbnail_id
    if listing and not ids:
        return unknown("no thumbnail in the answer has a readable id", status=status)
    return PersonLookup("found", tuple(ids), primary, http_status=status)


def _failed(status: int, problem: str, retry_after: str | None) -> PersonLookup:
    retryable = status in RETRYABLE_STATUSES
    wait = parse_retry_after(retry_after) if retryable else None
    return unknown(problem, retryable=retryable, status=status)._replace(retry_after=wait)


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body.decode().removeprefix("\ufeff")) if body else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def _text(value: Any) -> str | None:
    """A code or message given as text or a number, else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _id(value: Any) -> int | None:
    """A thumbnail id given as a JSON integer or a string of digits (lenient), else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None
