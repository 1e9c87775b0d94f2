"""One signed attempt to remove one batch of thumbnails, turned into an Outcome.

The HTTP exchange is the only place aiohttp is touched; everything it can raise or answer is
translated here into an `Outcome`, so retry and pipeline logic never see library errors (whose
messages embed full URLs). Replies are distrusted: no redirect is followed, at most 1 MiB of a
body is read, and any status, bytes or header text gives an Outcome with a clean message.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple
from urllib.parse import quote, urlsplit

import aiohttp
from yarl import URL

from worker import __version__
from worker.api.redaction import clean_message
from worker.api.signing import Signer
from worker.input.batching import PersonBatch

log = logging.getLogger("thumbsweep")

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
# The largest response body read. A real answer lists at most ~100 thumbnails (a few tens of
# KiB); anything bigger is not believed, and a body that never ends must not fill the memory.
MAX_BODY_BYTES = 1 << 20
# The longest wait a Retry-After can ask for here; callers cap it far lower (--retry-after-max).
# It keeps absurd values (400 digits, the year 9999) finite for every later sum.
MAX_RETRY_AFTER = 365 * 86400.0
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


def _decode(body: bytes) -> Any:
    """The JSON payload, or None when the body is not (readable) JSON."""
    if not body:
        return None
    try:
        return _decode_json(body.decode().removeprefix("\ufeff"))
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: deep nesting
        return None


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
        return Outcome(
            True, 200, "0", "" if message is None else clean_message(message),
            remaining_ids=remaining, primary_id=primary, latency=latency,
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
        """One attempt, signed afresh now; never raises for any reply or transport trouble.

        Only cancellation leaves it. Redirects are not followed (the target would receive the
        access key and a valid signature), and at most MAX_BODY_BYTES of the body are read.
        """
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
                "DELETE", url, data=body, headers=headers, timeout=self._timeout,
                allow_redirects=False,
            ) as response:  # fmt: skip
                payload = await _read_capped(response)
                latency = time.perf_counter() - started
                if payload is None:
                    response.close()  # the rest is never read: drop the connection
                    return _too_large(response.status, latency)
                return interpret(
                    response.status, payload, response.headers.get("Retry-After"), latency,
                    location=response.headers.get("Location"),
                )  # fmt: skip
        except (TimeoutError, aiohttp.ClientError) as exc:
            message = describe_transport_error(exc, self._timeout_s)
            retryable = True
        except Exception as exc:  # any reply must end as an outcome of its batch
            # Only the type: an exception's text may quote a URL with a presigned query.
            message = f"could not handle the reply ({type(exc).__name__})"
            retryable = False
            log.warning("person %s/%s: %s", batch.workspace, batch.person_id, message)
        return Outcome(
            deleted=False,
            message=message,
            retryable=retryable,
            latency=time.perf_counter() - started,
        )


async def _read_capped(response: aiohttp.ClientResponse) -> bytes | None:
    """The body, or None once it proves longer than MAX_BODY_BYTES (declared or streamed)."""
    declared = response.content_length
    if declared is not None:
        if declared > MAX_BODY_BYTES:
            return None
        if "Content-Encoding" not in response.headers:
            # The usual reply: its length is known and small, and nothing unpacks it larger.
            return await response.read()
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_BODY_BYTES:
        chunk = await response.content.read(MAX_BODY_BYTES + 1 - size)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
    return None


def _too_large(status: int, latency: float) -> Outcome:
    """A reply whose body exceeds the cap: not believed, whatever its status; retryable."""
    message = f"HTTP {status} with a response body larger than 1 MiB (not read)"
    return Outcome(False, status, message=message, retryable=True, latency=latency)


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
