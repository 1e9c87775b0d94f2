"""The emulator's faults: what a fault plan may ask for, how each is served, and the faults
drawn at random from the configured rates.

A fault plan (`FaultPlan`) sees each authenticated, well-formed API request (`RequestInfo`) and
may answer it with a `Fault`: an error status in a documented or proxy shape, a dropped or
closed connection, extra delay, a success that keeps the requested ids, an arbitrary raw reply,
a redirect, a huge body, or a body that never ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Literal

from aiohttp import web

from worker.emulator.config import EmulatorConfig
from worker.emulator.responses import GATEWAY_ERRORS, gateway_error, proxy_page

__all__ = [
    "REPLY_KINDS", "Dropped", "Fault", "FaultKind", "FaultPlan", "RequestInfo", "drop",
    "faulted", "random_fault",
]  # fmt: skip

_CHUNK = b" " * 65536  # padding streamed by "huge_body" and "endless_body" (JSON whitespace)

FaultKind = Literal[
    "status", "drop_before", "drop_after", "delay", "close",
    "keep_ids", "raw", "redirect", "huge_body", "endless_body",
]  # fmt: skip


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour; which fields matter depends on `kind`:

    - "status": an error `status` in the gateway, service or proxy ("text") `shape`;
    - "drop_before" / "drop_after": close the connection without a response, before or after
      the removal is applied;
    - "delay": wait `seconds`, then answer normally;
    - "close": answer normally (a removal is applied), then close the connection, so a
      client's pooled keep-alive connection is gone for its next request;
    - "keep_ids": answer 200 code "0" with the person's list, having removed only the first
      `applied` requested ids (0: none), so the list still holds the others;
    - "raw": answer `status` with exactly `body` (nothing applied);
    - "redirect": answer `status` (e.g. 307) with `Location: location` (nothing applied);
    - "huge_body": stream `size` bytes with `status`: `body`, then spaces (nothing applied);
    - "endless_body": stream `body`, then spaces every `seconds`, until the client goes away.

    `retry_after` and `headers` are sent as given with any reply the fault makes.
    """

    kind: FaultKind
    status: int = 503
    retry_after: str | None = None  # Retry-After header value, sent as given
    shape: Literal["gateway", "service", "text"] | None = None  # None: what the status implies
    seconds: float = 0.0  # "delay": the wait; "endless_body": the pause between chunks
    applied: int = 0  # "keep_ids": how many of the requested ids are removed
    body: bytes = b""  # "raw": the body; "huge_body" / "endless_body": how the body starts
    headers: tuple[tuple[str, str], ...] = ()  # extra response headers, sent as given
    location: str = ""  # "redirect": the Location header
    size: int = 0  # "huge_body": the body's length in bytes

    @property
    def reply_headers(self) -> dict[str, str]:
        """The headers this fault adds to its reply."""
        headers = dict(self.headers)
        if self.retry_after is not None:
            headers["Retry-After"] = self.retry_after
        return headers


@dataclass(frozen=True)
class RequestInfo:
    """What a fault plan sees of an authenticated, well-formed API request."""

    method: str
    workspace: str
    person_id: int
    ids: tuple[int, ...]  # empty for GET
    request_index: int  # API requests received before this one (== stats.total_requests - 1)
    person_request_index: int  # earlier requests for this person (as in stats.per_person)


FaultPlan = Callable[[RequestInfo], Fault | None]

# Kinds that answer without touching the data (all but the drops after, "close" and "keep_ids").
REPLY_KINDS = frozenset({"status", "drop_before", "raw", "redirect", "huge_body", "endless_body"})


class Dropped(web.Response):
    """Returned after the transport is closed; aiohttp's write then fails quietly."""


def drop(request: web.Request) -> web.Response:
    """Close the connection so the client gets no response at all.

    Raising from the handler would make aiohttp log a traceback and try a 500; instead we close
    the transport and return a response: writing it fails with a ConnectionError, which
    aiohttp treats as a client disconnect (logged at debug level only).
    """
    if request.transport is not None:
        request.transport.close()
    return Dropped(status=599)


def _status_reply(fault: Fault) -> web.Response:
    """An error status in the shape the fault asks for (or its status implies)."""
    headers = fault.reply_headers
    shape = fault.shape or ("text" if fault.status == 502 else "gateway")
    if shape == "gateway" and fault.status in GATEWAY_ERRORS:
        return gateway_error(fault.status, "injected fault", headers)
    if shape == "text":
        return proxy_page(fault.status, headers)
    body = {"code": str(fault.status), "message": HTTPStatus(fault.status).phrase + "."}
    return web.json_response(body, status=fault.status, headers=headers)


async def _streamed(request: web.Request, fault: Fault) -> web.StreamResponse:
    """A chunked body: `size` bytes for "huge_body", or without end for "endless_body"."""
    response = web.StreamResponse(status=fault.status, headers=fault.reply_headers)
    response.content_type = "application/json"
    endless = fault.kind == "endless_body"
    # A client that goes away mid-body is the expected end of an endless one.
    with contextlib.suppress(ConnectionError):
        await response.prepare(request)
        left = fault.size
        start = fault.body if endless else fault.body[:left]
        await response.write(start)
        left -= len(start)
        while endless or left > 0:
            chunk = _CHUNK if endless else _CHUNK[:left]
            await response.write(chunk)
            left -= len(chunk)
            if endless and fault.seconds:
                await asyncio.sleep(fault.seconds)
        await response.write_eof()
    return response


async def faulted(request: web.Request, fault: Fault) -> web.StreamResponse:
    """The reply (or dropped connection) for a fault of one of the `REPLY_KINDS`."""
    if fault.kind == "status":
        return _status_reply(fault)
    if fault.kind == "raw":
        return web.Response(status=fault.status, body=fault.body, headers=fault.reply_headers)
    if fault.kind == "redirect":
        headers = {**fault.reply_headers, "Location": fault.location}
        return web.Response(status=fault.status, headers=headers)
    if fault.kind in ("huge_body", "endless_body"):
        return await _streamed(request, fault)
    return drop(request)


def random_fault(rng: random.Random, config: EmulatorConfig) -> Fault | None:
    """A fault drawn with the configured rates (one roll, so they add up), or None."""
    roll = rng.random()
    if roll < config.drop_rate:
        # half before the removal is applied, half after: with a second roll
        return Fault("drop_before" if rng.random() < 0.5 else "drop_after")
    if roll < config.drop_rate + config.fault_429_rate:
        return Fault("status", 429, retry_after=config.retry_after)
    if roll < config.drop_rate + config.fault_429_rate + config.fault_5xx_rate:
        return Fault("status", 503)
    keep_below = (
        config.drop_rate + config.fault_429_rate + config.fault_5xx_rate + config.fault_keep_rate
    )
    if roll < keep_below:
        return Fault("keep_ids")
    return None
