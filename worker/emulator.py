"""A local HTTP endpoint that behaves like the Media Intelligence "remove person thumbnails" API.

It listens on a real socket (aiohttp.web), checks API Gateway v2 signatures against the raw
path as sent on the wire, keeps persons and their thumbnails in memory, and can add latency and
inject faults (gateway errors, proxy pages, dropped connections) either at random rates or
deterministically through a test hook. Counters are kept on `Emulator.stats` and served on
`GET /_emulator/stats` (unsigned). `thumbsweep emulate` runs it through `emulate_main`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import random
import secrets
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, fields
from http import HTTPStatus
from itertools import count
from typing import Any, Literal
from urllib.parse import quote

from aiohttp import web

from worker.errors import ConfigError

API_PREFIX = "/api/v1/workspaces/{workspace}/persons/{person_id}"
STATS_PATH = "/_emulator/stats"
MAX_SKEW_MS = 300_000  # the gateway rejects timestamps 5 minutes or more away from its clock
# The real code for "a person must keep a thumbnail" is undocumented; this one is our choice.
LAST_THUMBNAIL_CODE = "10010"
PERSON_NOT_FOUND_CODE = "10404"  # also undocumented; our choice
DROPPED = "dropped"  # key in `EmulatorStats.by_status` for connections closed without a response

_GATEWAY_ERRORS = {
    401: ("200", "Authentication Failed"),
    404: ("300", "Not Found Exception"),
    429: ("410", "Throttle Limited"),
    500: ("900", "Unexpected Error"),
    503: ("500", "Endpoint Error"),
    504: ("510", "Endpoint Timeout"),
}
_PROXY_PAGE = (
    "<html>\r\n<head><title>{status} Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>{status} Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
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
    retry_after: str | None = None  # Retry-After value sent with random 429s, if any
    seed: int | None = None

    def __post_init__(self) -> None:
        rates = (self.fault_429_rate, self.fault_5xx_rate, self.drop_rate)
        if any(not 0.0 <= rate <= 1.0 for rate in rates) or sum(rates) > 1.0:
            raise ValueError("fault rates must each be within 0..1 and add up to at most 1")
        if self.latency_ms < 0:
            raise ValueError("latency must not be negative")


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour: an error status, a dropped connection, or extra delay."""

    kind: Literal["status", "drop_before", "drop_after", "delay"]
    status: int = 503
    retry_after: str | None = None  # Retry-After header value, sent as given
    shape: Literal["gateway", "service", "text"] | None = None  # None: what the status implies
    seconds: float = 0.0  # for "delay"


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


@dataclass
class EmulatorStats:
    """Counters; everything but `per_person` is also served on /_emulator/stats."""

    total_requests: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    per_person: Counter[tuple[str, int]] = field(default_factory=Counter)
    signature_failures: int = 0
    deletes_applied: int = 0
    in_flight: int = 0
    max_in_flight: int = 0

    def as_json(self) -> dict[str, Any]:
        """The JSON form served on the stats endpoint."""
        # not dataclasses.asdict: it rebuilds a Counter from (key, value) pairs, counting the pairs
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "per_person"}


@dataclass
class Person:
    """A person's thumbnail ids in order, and which of them is primary."""

    thumbnails: list[int]
    primary: int


def gateway_error(status: int, details: str, headers: dict[str, str] | None = None) -> web.Response:
    """An API Gateway error body: {"error": {"errorCode", "message", "details"}}."""
    code, message = _GATEWAY_ERRORS[status]
    body = {"error": {"errorCode": code, "message": message, "details": details}}
    return web.json_response(body, status=status, headers=headers)


def service_error(status: int, code: str, message: str) -> web.Response:
    """A Media Intelligence error body: {"code", "message"}."""
    return web.json_response({"code": code, "message": message}, status=status)


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
        self._rng = random.Random(self.config.seed)
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
        app.router.add_route("DELETE", thumbs, self._observed(self._remove))
        app.router.add_post(thumbs + "/remove", self._observed(self._remove))
        app.router.add_get(API_PREFIX, self._observed(self._get_person), allow_head=False)
        app.router.add_route("*", "/{tail:.*}", self._observed(self._not_found))
        return app

    async def start(self) -> str:
        """Listen on the configured host and port (0: a free one); return the base URL."""
        runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=1.0)
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

    def _observed(self, handler: ApiHandler) -> Handler:
        """Wrap an API handler: number and count it, track requests in flight, add latency."""

        async def wrapper(request: web.Request) -> web.StreamResponse:
            stats = self.stats
            index = stats.total_requests
            stats.total_requests += 1
            stats.in_flight += 1
            stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
            try:
                if self.config.latency_ms:
                    await asyncio.sleep(self.config.latency_ms / 1000)
                response = await handler(request, index)
            finally:
                stats.in_flight -= 1
            dropped = isinstance(response, _Dropped)
            stats.by_status[DROPPED if dropped else str(response.status)] += 1
            return response

        return wrapper

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
        return None

    async def _person_request(
        self, request: web.Request, index: int
    ) -> tuple[RequestInfo, Fault | None] | web.Response:
        """Authenticate, parse the path, count the person, and choose a fault."""
        if (denied := self._authenticate(request)) is not None:
            return denied
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
        if fault is not None and fault.kind != "drop_after":
            return _faulted(request, fault)
        response = self._apply_removal(info)
        return _drop(request) if fault is not None else response

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
        if fault is not None:
            return _faulted(request, fault)
        person = self.persons.get((info.workspace, info.person_id))
        if person is None:
            return service_error(404, PERSON_NOT_FOUND_CODE, "Person not found.")
        return self._person_response(info.workspace, info.person_id, person)

    async def _not_found(self, request: web.Request, index: int) -> web.StreamResponse:
        return gateway_error(404, f"no route for {request.method} {request.path}")

    async def _stats(self, request: web.Request) -> web.StreamResponse:
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


class _Dropped(web.Response):
    """Returned after the transport is closed; aiohttp's write then fails quietly."""


def _drop(request: web.Request) -> web.Response:
    """Close the connection so the client gets no response at all.

    Raising from the handler would make aiohttp log a traceback and try a 500; instead we close
    the transport and return a response: writing it fails with a ConnectionError, which
    aiohttp treats as a client disconnect (logged at debug level only).
    """
    if request.transport is not None:
        request.transport.close()
    return _Dropped(status=599)


def _faulted(request: web.Request, fault: Fault) -> web.Response:
    """The response (or dropped connection) for a fault that is not "drop_after"."""
    if fault.kind != "status":
        return _drop(request)
    headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
    shape = fault.shape or ("text" if fault.status == 502 else "gateway")
    if shape == "gateway" and fault.status in _GATEWAY_ERRORS:
        return gateway_error(fault.status, "injected fault", headers)
    if shape == "text":
        page = _PROXY_PAGE.format(status=fault.status)
        return web.Response(
            status=fault.status, text=page, content_type="text/html", headers=headers
        )
    body = {"code": str(fault.status), "message": HTTPStatus(fault.status).phrase + "."}
    return web.json_response(body, status=fault.status, headers=headers)


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


def add_emulator_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `thumbsweep emulate`."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    parser.add_argument("--access-key", help="default: $THUMBSWEEP_ACCESS_KEY or demo-access-key")
    parser.add_argument("--secret-key", help="default: $THUMBSWEEP_SECRET_KEY or demo-secret-key")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every request")
    parser.add_argument("--fault-429-rate", type=float, default=0.0, help="share answered 429")
    parser.add_argument("--fault-5xx-rate", type=float, default=0.0, help="share answered 503")
    parser.add_argument("--drop-rate", type=float, default=0.0, help="share of dropped connections")
    parser.add_argument("--retry-after", help="Retry-After value sent with 429s")
    parser.add_argument("--seed", type=int, help="seed for the random faults")


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
