"""One signed attempt to remove one batch of thumbnails, turned into an Outcome.

The HTTP exchange is the only place aiohttp is touched; everything it can raise or answer is
translated here into an `Outcome`, so retry and pipeline logic never see library errors (whose
messages embed full URLs).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple
from urllib.parse import quote

import aiohttp
from yarl import URL

from worker import __version__
from worker.batching import PersonBatch
from worker.redaction import clean_message
from worker.signing import Signer

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
AUTH_STATUSES = frozenset({401, 403})
_JSON_HEADERS = {"Content-Type": "application/json"}
# The API answers in UTF-8 JSON (RFC 8259; a stray byte-order mark is tolerated, as
# json.loads would); one decoder serves every response.
_decode_json = json.JSONDecoder().decode


class Outcome(NamedTuple):
    """The result of one attempt (a named tuple: immutable, and cheap to build per request)."""

    deleted: bool
    http_status: int | None = None
    code: str | None = None
    message: str = ""
    retryable: bool = False
    auth_failure: bool = False
    retry_after: float | None = None
    remaining_ids: tuple[int, ...] | None = None
    primary_id: int | None = None
    sent: bool = True
    latency: float = 0.0


def persons_path(prefix: str, workspace: str) -> str:
    """The path up to a person's id, with the workspace percent-encoded once; the request path
    (as it goes on the wire, and is signed) is this, the person id, and `/person-thumbnail`."""
    return f"{prefix}/api/v1/workspaces/{quote(workspace, safe='')}/persons/"


def encode_body(thumbnail_ids: tuple[int, ...]) -> bytes:
    """The JSON request body, encoded once per batch and reused by every attempt."""
    return b'{"thumbnailIds":[' + ",".join(map(str, thumbnail_ids)).encode() + b"]}"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP-date (RFC 9110)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _error_fields(payload: Any) -> tuple[str | None, str | None]:
    """(code, message) from either documented error shape, or (None, None)."""
    if not isinstance(payload, dict):
        return None, None
    gateway = payload.get("error")
    if isinstance(gateway, dict):
        code = gateway.get("errorCode")
        parts = [str(gateway[key]) for key in ("message", "details") if gateway.get(key)]
        return (None if code is None else str(code)), (" - ".join(parts) or None)
    code = payload.get("code")
    message = payload.get("message")
    return (None if code is None else str(code)), (None if message is None else str(message))


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


def interpret(status: int, body: bytes, retry_after: str | None, latency: float = 0.0) -> Outcome:
    """Classify one HTTP response: deleted, retryable, an authentication failure, or final."""
    try:
        payload: Any = _decode_json(body.decode().removeprefix("\ufeff")) if body else None
    except (ValueError, UnicodeDecodeError):
        payload = None
    is_dict = type(payload) is dict
    if status == 200 and is_dict and payload.get("code") == "0" and "error" not in payload:
        # The usual success, taken without the general path's checks (same result).
        remaining, primary = _thumbnails(payload)
        message = payload.get("message")
        return Outcome(
            True, 200, "0", "" if message is None else clean_message(str(message)),
            remaining_ids=remaining, primary_id=primary, latency=latency,
        )  # fmt: skip
    code, message = _error_fields(payload)
    if payload is None and body:
        snippet = body[:200].decode("utf-8", "replace")
        message = f"non-JSON response: {snippet}"
    if status == 200 and code == "0":
        remaining, primary = _thumbnails(payload)
        return Outcome(
            deleted=True, http_status=status, code=code, message=clean_message(message or ""),
            remaining_ids=remaining, primary_id=primary, latency=latency,
        )  # fmt: skip
    if message is None:
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


def describe_transport_error(exc: BaseException, timeout: float) -> str:
    """A message for a failed exchange that names the failure but never a URL."""
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:g} s"
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror or type(exc.os_error).__name__
        return f"cannot connect to the API host ({reason})"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection without a response"
    if isinstance(exc, aiohttp.ClientOSError):
        return f"connection error ({exc.strerror or type(exc).__name__})"
    return f"connection error ({type(exc).__name__})"


class ThumbnailApi:
    """Sends remove-thumbnail requests over one shared aiohttp session."""

    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, signer: Signer, timeout: float
    ) -> None:
        base = URL(base_url)
        self._session = session
        self._origin = base.origin()
        self._prefix = base.raw_path.rstrip("/")
        self._persons_paths: dict[str, str] = {}  # workspace -> its encoded path, built once
        self._signer = signer
        self._timeout_s = timeout
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def remove(self, batch: PersonBatch, body: bytes) -> Outcome:
        """One attempt, signed afresh now; never raises for network or HTTP trouble."""
        persons = self._persons_paths.get(batch.workspace)
        if persons is None:
            persons = self._persons_paths[batch.workspace] = persons_path(
                self._prefix, batch.workspace
            )
        path = f"{persons}{batch.person_id}/person-thumbnail"
        headers = self._signer.headers("DELETE", path)
        headers.update(_JSON_HEADERS)
        url = self._origin.with_path(path, encoded=True)
        started = time.perf_counter()
        try:
            async with self._session.request(
                "DELETE", url, data=body, headers=headers, timeout=self._timeout
            ) as response:
                payload = await response.read()
                return interpret(
                    response.status, payload, response.headers.get("Retry-After"),
                    time.perf_counter() - started,
                )  # fmt: skip
        except (TimeoutError, aiohttp.ClientError) as exc:
            return Outcome(
                deleted=False,
                message=describe_transport_error(exc, self._timeout_s),
                retryable=True,
                latency=time.perf_counter() - started,
            )


@contextlib.asynccontextmanager
async def open_session(concurrency: int) -> AsyncIterator[aiohttp.ClientSession]:
    """The one aiohttp session of a run, with a connection pool of `concurrency`."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(
        connector=connector, headers={"User-Agent": f"thumbsweep/{__version__}"}
    ) as session:
        # aiohttp silently resends an idempotent request once when a pooled connection breaks.
        # Every request must be an attempt that the retry policy counts, backs off and budgets
        # (and that the ledger's `attempts` reports), so that hidden resend is switched off, as
        # aiohttp's own test client does.
        session._retry_connection = False
        yield session
