"""A local HTTP endpoint that behaves like the Media Intelligence "remove person thumbnails" API.

It listens on a real socket (aiohttp.web), checks API Gateway v2 signatures against the raw
path as sent on the wire, keeps persons and their thumbnails in memory, and can add latency and
inject faults either at random rates or deterministically through a fault plan (`FaultPlan`,
`Fault` and `RequestInfo`, defined in `worker.emulator_faults` and re-exported here): gateway
errors, proxy pages, dropped or closed connections, a success that keeps the requested ids,
arbitrary raw replies (odd Retry-After values, odd messages, deeply nested JSON), redirects,
huge and endless bodies. Like a gateway quota it can also rate-limit signed requests with a
token bucket (429, errorCode 420, no Retry-After), and it can close idle keep-alive connections
after a timeout. Counters are kept on `Emulator.stats` and mostly served on
`GET /_emulator/stats` (unsigned); what only tests need (per-id counts, the signatures seen)
stays in-process. `thumbsweep emulate` runs it through `emulate_main`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import math
import os
import random
import secrets
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from itertools import count
from typing import Any
from urllib.parse import quote

from aiohttp import web

from worker.emulator.faults import (
    REPLY_KINDS,
    Dropped,
    Fault,
    FaultPlan,
    RequestInfo,
    drop,
    faulted,
    gateway_error,
    service_error,
)
from worker.errors import ConfigError

__all__ = [
    "DROPPED", "Emulator", "EmulatorConfig", "EmulatorStats", "Fault", "FaultPlan",
    "RequestInfo", "emulate_main", "gateway_error", "service_error",
]  # fmt: skip

API_PREFIX = "/api/v1/workspaces/{workspace}/persons/{person_id}"
STATS_PATH = "/_emulator/stats"
MAX_SKEW_MS = 300_000  # the gateway rejects timestamps 5 minutes or more away from its clock
# The real code for "a person must keep a thumbnail" is undocumented; this one is our choice.
LAST_THUMBNAIL_CODE = "10010"
PERSON_NOT_FOUND_CODE = "10404"  # also undocumented; our choice
DROPPED = "dropped"  # key in `EmulatorStats.by_status` for connections closed without a response

_RATE_LIMITED = ("420", "Rate Limited")  # the gateway's 429 when a key's rate is exceeded
SIGNATURE_HEADER = "x-ncp-apigw-signature-v2"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ApiHandler = Callable[[web.Request, int], Awaitable[web.StreamResponse]]  # gets the request index


@dataclass
class EmulatorConfig:
    """Credentials, listening address, latency and random fault rates of one emulator."""

    access_key: str = field(
        default_factory=lambda: os.environ.get("THUMBSWEEP_ACCESS_KEY", "demo-access-key")
    )
    secret_key: str = field(
        default_factory=lambda: os.environ.get("THUMBSWEEP_SECRET_KEY", "demo-secret-key"),
        repr=False,
    )
    host: str = "127.0.0.1"
    port: int = 0
    latency_ms: float = 0.0
    fault_429_rate: float = 0.0
    fault_5xx_rate: float = 0.0  # answered as 503 Endpoint Error
    drop_rate: float = 0.0  # half dropped before the delete is applied, half after
    fault_keep_rate: float = 0.0  # answered 200 code "0" with the requested ids still listed
    retry_after: str | None = None  # Retry-After value sent with random 429s, if any
    seed: int | None = None
    rate_limit: float = 0.0  # signed API requests per second (token bucket); 0: no limit
    rate_burst: float | None = None  # bucket capacity; None: max(1, rate_limit / 10)
    keepalive_timeout: float | None = None  # idle keep-alive seconds; None: aiohttp's default

    def __post_init__(self) -> None:
        rates = (self.fault_429_rate, self.fault_5xx_rate, self.drop_rate, self.fault_keep_rate)
        if any(not 0.0 <= rate <= 1.0 for rate in rates) or sum(rates) > 1.0:
            raise ValueError("fault rates must each be within 0..1 and add up to at most 1")
        if not self.latency_ms >= 0:
            raise ValueError("latency must not be negative")
        if not (math.isfinite(self.rate_limit) and self.rate_limit >= 0):
            raise ValueError("the rate limit must be a finite number of requests/s, 0 for none")
        if self.rate_burst is not None and not (
            math.isfinite(self.rate_burst) and self.rate_burst >= 1
        ):
            raise ValueError("the rate burst must be a finite number of at least 1")
        if self.keepalive_timeout is not None and not (
            math.isfinite(self.keepalive_timeout) and self.keepalive_timeout >= 0
        ):
            raise ValueError("the keep-alive timeout must be a finite number of seconds")

    @property
    def bucket_capacity(self) -> float:
        """Tokens the rate-limit bucket holds when full (the largest burst let through)."""
        if self.rate_burst is not None:
            return self.rate_burst
        return max(1.0, self.rate_limit / 10)


_IN_PROCESS = {"in_process": True}  # field metadata: not served on /_emulator/stats


@dataclass
class EmulatorStats:
    """Counters; the in-process ones (`per_person`, `per_id`, clock bookkeeping) are not
    served on /_emulator/stats, all others are, plus `mean_in_flight`.

    `in_flight` is tracked over time through `request_started` / `request_ended`, which take
    the event loop's monotonic clock, giving `mean_in_flight`.
    """

    total_requests: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    per_person: Counter[tuple[str, int]] = field(default_factory=Counter, metadata=_IN_PROCESS)
    # (workspace, person_id, thumbnail_id) -> remove requests asking for it (as per_person counts)
    per_id: Counter[tuple[str, int, int]] = field(default_factory=Counter, metadata=_IN_PROCESS)
    signature_failures: int = 0
    rate_limited: int = 0  # 429s of the token bucket; also counted in by_status["429"]
    deletes_applied: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    in_flight_integral: float = field(default=0.0, metadata=_IN_PROCESS)  # request-seconds
    first_start: float | None = field(default=None, metadata=_IN_PROCESS)  # loop clock
    last_end: float | None = field(default=None, metadata=_IN_PROCESS)  # loop clock
    last_change: float | None = field(default=None, metadata=_IN_PROCESS)  # loop clock

    def request_started(self, now: float) -> None:
        """One more request in flight from `now` on."""
        self._advance(now)
        if self.first_start is None:
            self.first_start = now
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def request_ended(self, now: float) -> None:
        """One request fewer in flight from `now` on."""
        self._advance(now)
        self.in_flight -= 1
        self.last_end = now

    def _advance(self, now: float) -> None:
        """Add the time since the last change, weighted by the requests in flight during it."""
        if self.last_change is not None:
            self.in_flight_integral += self.in_flight * (now - self.last_change)
        self.last_change = now

    @property
    def mean_in_flight(self) -> float:
        """Requests in flight averaged over the time from the first start to the last end.

        Exact once nothing is in flight; 0.0 before any request has ended.
        """
        if self.first_start is None or self.last_end is None:
            return 0.0
        span = self.last_end - self.first_start
        return self.in_flight_integral / span if span > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        """The JSON form served on the stats endpoint."""
        # not dataclasses.asdict: it rebuilds a Counter from (key, value) pairs, counting the pairs
        served = {
            f.name: getattr(self, f.name) for f in fields(self) if not f.metadata.get("in_process")
        }
        served["mean_in_flight"] = self.mean_in_flight
        return served


@dataclass
class Person:
    """A person's thumbnail ids in order, and which of them is primary."""

    thumbnails: list[int]
    primary: int


def _invalid_request() -> web.Response:
    return service_error(400, "10001", "Invalid Request.")


def _parse_ids(raw: bytes) -> tuple[int, ...] | None:
    """The thumbnailIds of a body, or None unless they are a non-empty list of positive ints."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except ValueError:  # includes UnicodeDecodeError and JSONDecodeError
        return None
    ids = body.get("thumbnailIds") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not ids:
        return None
    if not all(type(i) is int and i > 0 for i in ids):
        return None
    return tuple(ids)


class Emulator:
    """In-memory persons plus the aiohttp application that serves them."""

    def __init__(
        self, config: EmulatorConfig | None = None, fault_plan: FaultPlan | None = None
    ) -> None:
        self.config = config or EmulatorConfig()
        self.fault_plan = fault_plan
        self.stats = EmulatorStats()
        self.persons: dict[tuple[str, int], Person] = {}
        # every x-ncp-apigw-signature-v2 value received, valid or not (in-process only)
        self.seen_signatures: list[str] = []
        self._rng = random.Random(self.config.seed)
        self._tokens = self.config.bucket_capacity
        self._tokens_at: float | None = None  # loop clock of the last refill
        self._primary_ids = count(9_000_000_000_000_000_000)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def add_person(
        self, workspace: str, person_id: int, ids: Iterable[int], primary: int | None = None
    ) -> None:
        """Seed a person with thumbnails; `primary` defaults to the first id."""
        thumbnails = list(ids)
        if not thumbnails:
            raise ValueError("a person needs at least one thumbnail")
        chosen = thumbnails[0] if primary is None else primary
        if chosen not in thumbnails:
            raise ValueError("the primary thumbnail must be one of the ids")
        self.persons[workspace, person_id] = Person(thumbnails, chosen)

    def thumbnail_ids(self, workspace: str, person_id: int) -> list[int]:
        """The ids a person holds now (empty if the person is unknown)."""
        person = self.persons.get((workspace, person_id))
        return list(person.thumbnails) if person else []

    def make_app(self) -> web.Application:
        """The aiohttp application: API routes, the stats route, and a gateway-shaped 404."""
        app = web.Application()
        app.router.add_get(STATS_PATH, self._stats)
        thumbs = API_PREFIX + "/person-thumbnail"
        app.router.add_route("DELETE", thumbs, self._observed(self._remove, signed=True))
        app.router.add_post(thumbs + "/remove", self._observed(self._remove, signed=True))
        get_person = self._observed(self._get_person, signed=True)
        app.router.add_get(API_PREFIX, get_person, allow_head=False)
        app.router.add_route("*", "/{tail:.*}", self._observed(self._not_found, signed=False))
        return app

    async def start(self) -> str:
        """Listen on the configured host and port (0: a free one); return the base URL."""
        server_options: dict[str, Any] = {}
        if self.config.keepalive_timeout is not None:
            server_options["keepalive_timeout"] = self.config.keepalive_timeout
        runner = web.AppRunner(
            self.make_app(), access_log=None, shutdown_timeout=1.0, **server_options
        )
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, self.config.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        port = runner.addresses[0][1]
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        self.base_url = f"http://{host}:{port}"
        return self.base_url

    async def stop(self) -> None:
        """Stop listening and close open connections."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _observed(self, handler: ApiHandler, *, signed: bool) -> Handler:
        """Wrap a handler: number and count it, track requests in flight, add latency.

        For a `signed` route the gateway's part comes first: the signature check, then the
        rate limit, whose 429 is answered at once (no latency, nothing applied).
        """

        async def wrapper(request: web.Request) -> web.StreamResponse:
            stats = self.stats
            loop = asyncio.get_running_loop()
            index = stats.total_requests
            stats.total_requests += 1
            self.seen_signatures.extend(request.headers.getall(SIGNATURE_HEADER, []))
            stats.request_started(loop.time())
            try:
                denied = self._authenticate(request) if signed else None
                if signed and denied is None and not self._take_token(loop.time()):
                    stats.rate_limited += 1
                    response: web.StreamResponse = _rate_limited()
                else:
                    if self.config.latency_ms:
                        await asyncio.sleep(self.config.latency_ms / 1000)
                    response = denied if denied is not None else await handler(request, index)
            finally:
                stats.request_ended(loop.time())
            dropped = isinstance(response, Dropped)
            stats.by_status[DROPPED if dropped else str(response.status)] += 1
            return response

        return wrapper

    def _take_token(self, now: float) -> bool:
        """Take one token from the rate-limit bucket; False when it is empty."""
        rate = self.config.rate_limit
        if not rate:
            return True
        if self._tokens_at is not None:
            refill = (now - self._tokens_at) * rate
            self._tokens = min(self.config.bucket_capacity, self._tokens + refill)
        self._tokens_at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def _authenticate(self, request: web.Request) -> web.Response | None:
        """None if the v2 signature is valid, else the gateway's 401."""
        stamp = request.headers.get("x-ncp-apigw-timestamp")
        key = request.headers.get("x-ncp-iam-access-key")
        given = request.headers.get("x-ncp-apigw-signature-v2")
        problem = None
        if stamp is None or key is None or given is None:
            problem = "missing signature header(s)"
        elif not (stamp.isascii() and stamp.isdigit()):
            problem = "timestamp is not milliseconds since the epoch"
        elif abs(time.time() * 1000 - int(stamp)) >= MAX_SKEW_MS:
            problem = "timestamp is 5 minutes or more away from the gateway clock"
        elif not hmac.compare_digest(key.encode(), self.config.access_key.encode()):
            problem = "unknown access key"
        else:
            message = f"{request.method} {request.raw_path}\n{stamp}\n{key}"
            digest = hmac.new(self.config.secret_key.encode(), message.encode(), hashlib.sha256)
            expected = base64.b64encode(digest.digest()).decode()
            if not hmac.compare_digest(given.encode(), expected.encode()):
                problem = "signature does not match"
        if problem is None:
            return None
        self.stats.signature_failures += 1
        return gateway_error(401, problem)

    def _pick_fault(self, info: RequestInfo) -> Fault | None:
        if self.fault_plan is not None and (fault := self.fault_plan(info)) is not None:
            return fault
        cfg = self.config
        roll = self._rng.random()
        if roll < cfg.drop_rate:
            return Fault("drop_before" if self._rng.random() < 0.5 else "drop_after")
        if roll < cfg.drop_rate + cfg.fault_429_rate:
            return Fault("status", 429, retry_after=cfg.retry_after)
        if roll < cfg.drop_rate + cfg.fault_429_rate + cfg.fault_5xx_rate:
            return Fault("status", 503)
        if roll < cfg.drop_rate + cfg.fault_429_rate + cfg.fault_5xx_rate + cfg.fault_keep_rate:
            return Fault("keep_ids")
        return None

    async def _person_request(
        self, request: web.Request, index: int
    ) -> tuple[RequestInfo, Fault | None] | web.Response:
        """Parse the path (and body), count the person and ids, and choose a fault."""
        raw_pid = request.match_info["person_id"]
        if not (raw_pid.isascii() and raw_pid.isdigit()):
            return _invalid_request()
        workspace, person_id = request.match_info["workspace"], int(raw_pid)
        ids: tuple[int, ...] = ()
        if request.method != "GET":
            body_ids = _parse_ids(await request.read())
            if body_ids is None:
                return _invalid_request()
            ids = body_ids
            if (workspace, person_id) not in self.persons:  # first sight: add an unasked primary
                primary = next(self._primary_ids)
                self.persons[workspace, person_id] = Person([*dict.fromkeys(ids), primary], primary)
        seen = self.stats.per_person[workspace, person_id]
        self.stats.per_person[workspace, person_id] += 1
        self.stats.per_id.update((workspace, person_id, tid) for tid in ids)
        info = RequestInfo(request.method, workspace, person_id, ids, index, seen)
        fault = self._pick_fault(info)
        if fault is not None and fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
            fault = None
        return info, fault

    async def _remove(self, request: web.Request, index: int) -> web.StreamResponse:
        checked = await self._person_request(request, index)
        if isinstance(checked, web.Response):
            return checked
        info, fault = checked
        if fault is not None and fault.kind in REPLY_KINDS:
            return await faulted(request, fault)
        if fault is not None and fault.kind == "keep_ids":
            info = replace(info, ids=info.ids[: max(0, fault.applied)])
        response = self._apply_removal(info)
        if fault is None or fault.kind == "keep_ids":
            return response
        if fault.kind == "close":
            response.force_close()
            return response
        return drop(request)

    def _apply_removal(self, info: RequestInfo) -> web.Response:
        person = self.persons[info.workspace, info.person_id]
        doomed = set(info.ids)
        kept = [i for i in person.thumbnails if i not in doomed]
        if not kept:
            message = "A person must keep at least one thumbnail; the request was not applied."
            return service_error(400, LAST_THUMBNAIL_CODE, message)
        self.stats.deletes_applied += len(person.thumbnails) - len(kept)
        person.thumbnails = kept
        if person.primary not in kept:  # undocumented upstream; we promote the first remaining
            person.primary = kept[0]
        return self._person_response(info.workspace, info.person_id, person)

    async def _get_person(self, request: web.Request, index: int) -> web.StreamResponse:
        checked = await self._person_request(request, index)
        if isinstance(checked, web.Response):
            return checked
        info, fault = checked
        if fault is not None and fault.kind not in ("close", "keep_ids"):
            return await faulted(request, fault)  # "drop_after" drops: nothing to apply
        person = self.persons.get((info.workspace, info.person_id))
        if person is None:
            response = service_error(404, PERSON_NOT_FOUND_CODE, "Person not found.")
        else:
            response = self._person_response(info.workspace, info.person_id, person)
        if fault is not None and fault.kind == "close":
            response.force_close()
        return response

    async def _not_found(self, request: web.Request, index: int) -> web.StreamResponse:
        return gateway_error(404, f"no route for {request.method} {request.path}")

    async def _stats(self, request: web.Request) -> web.StreamResponse:
        self.seen_signatures.extend(request.headers.getall(SIGNATURE_HEADER, []))
        return web.json_response(self.stats.as_json())

    def _person_response(self, workspace: str, person_id: int, person: Person) -> web.Response:
        base = f"https://kr.object.ncloudstorage.com/emulator/{quote(workspace, safe='')}"
        thumbnails = [
            {
                "id": tid,
                "url": f"{base}/{person_id}/{tid}.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                f"&X-Amz-Expires=300&X-Amz-Signature={secrets.token_hex(32)}",
                "isPrimaryThumbnail": tid == person.primary,
            }
            for tid in person.thumbnails
        ]
        result = {"thumbnailList": thumbnails}
        return web.json_response({"code": "0", "message": "success", "result": result})


def _rate_limited() -> web.Response:
    """The gateway's 429 for a key over its rate: errorCode 420, and no Retry-After."""
    code, message = _RATE_LIMITED
    details = "request rate limit exceeded"
    body = {"error": {"errorCode": code, "message": message, "details": details}}
    return web.json_response(body, status=429)


async def serve_forever(config: EmulatorConfig) -> None:
    """Serve until SIGINT or SIGTERM, after printing the one "listening" line."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with Emulator(config) as emulator:
            print(f"thumbsweep emulator listening on {emulator.base_url}", flush=True)
            await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def run_emulator(config: EmulatorConfig) -> int:
    """Blocking form of `serve_forever`; returns the exit code (0 after a signal)."""
    with contextlib.suppress(KeyboardInterrupt):  # a Ctrl-C before the handlers are installed
        asyncio.run(serve_forever(config))
    return 0


_CONFIG_FIELDS = {f.name for f in fields(EmulatorConfig)}


def emulate_main(args: argparse.Namespace) -> int:
    """Run the emulator from parsed `add_emulator_arguments` options."""
    options = {name: value for name, value in vars(args).items() if name in _CONFIG_FIELDS}
    try:  # a key left out (None) falls back to the environment or the demo key
        config = EmulatorConfig(**{k: v for k, v in options.items() if v is not None})
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    try:
        return run_emulator(config)
    except OSError as exc:
        raise ConfigError(f"cannot listen: {exc.strerror or exc}") from None
