"""The emulator's aiohttp application: its routes and handlers, and `Emulator`, which holds the
persons, counts every request and listens on a real socket.

A signed route runs the gateway's part first (the signature check, then the rate limit), then
the configured latency, then the service: parse the request, let the fault plan (or the random
fault rates) pick a fault, and apply the removal unless the fault says otherwise. Counters are
kept on `Emulator.stats` and mostly served on `GET /_emulator/stats` (unsigned); what only tests
need (per-id counts, the signatures seen) stays in-process.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from email.utils import formatdate
from itertools import count
from typing import Any

from aiohttp import web

from worker.emulator.config import EmulatorConfig
from worker.emulator.faults import (
    REPLY_KINDS,
    Dropped,
    Fault,
    FaultPlan,
    RequestInfo,
    drop,
    faulted,
    random_fault,
)
from worker.emulator.gateway import SIGNATURE_HEADER, TokenBucket, signature_problem
from worker.emulator.responses import (
    gateway_error,
    invalid_request,
    last_thumbnail_kept,
    person_not_found,
    rate_limited,
    thumbnail_list,
)
from worker.emulator.state import DROPPED, EmulatorStats, Person, new_person, read_state

__all__ = ["API_PREFIX", "STATS_PATH", "Emulator"]

API_PREFIX = "/api/v1/workspaces/{workspace}/persons/{person_id}"
STATS_PATH = "/_emulator/stats"

# One line per request at `thumbsweep emulate -v`: method, path (never the query or a header,
# so no signature), status and latency.
request_log = logging.getLogger("thumbsweep.emulator")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ApiHandler = Callable[[web.Request, int], Awaitable[web.StreamResponse]]  # gets the request index


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
        # With state (--state, or `has_state` set by a test after add_person), only known
        # persons exist, as with the API; without it, persons are created on first sight.
        self.has_state = self.config.state is not None
        self.persons: dict[tuple[str, int], Person] = (
            read_state(self.config.state) if self.config.state is not None else {}
        )
        # every x-ncp-apigw-signature-v2 value received, valid or not (in-process only)
        self.seen_signatures: list[str] = []
        self._rng = random.Random(self.config.seed)
        self._bucket = TokenBucket(self.config.rate_limit, self.config.bucket_capacity)
        self._primary_ids = count(9_000_000_000_000_000_000)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def add_person(
        self, workspace: str, person_id: int, ids: Iterable[int], primary: int | None = None
    ) -> None:
        """Seed a person with thumbnails; `primary` defaults to the first id."""
        self.persons[workspace, person_id] = new_person(ids, primary)

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
            started = loop.time()
            stats.request_started(started)
            try:
                denied = self._authenticate(request) if signed else None
                if signed and denied is None and not self._bucket.take(loop.time()):
                    stats.rate_limited += 1
                    response: web.StreamResponse = rate_limited()
                else:
                    if self.config.latency_ms:
                        await asyncio.sleep(self.config.latency_ms / 1000)
                    response = denied if denied is not None else await handler(request, index)
            finally:
                stats.request_ended(loop.time())
            dropped = isinstance(response, Dropped)
            if self.config.clock_offset and not dropped:
                # The gateway's clock, as its Date header shows it (what a client corrects by).
                now = time.time() + self.config.clock_offset
                response.headers["Date"] = formatdate(now, usegmt=True)
            shown_status = DROPPED if dropped else str(response.status)
            stats.by_status[shown_status] += 1
            if signed and not dropped:
                stats.count_answer(started, response.status == 429)
            request_log.info(
                "%s %s %s %.1f ms", request.method, request.path, shown_status,
                (loop.time() - started) * 1000,
            )  # fmt: skip
            return response

        return wrapper

    def _authenticate(self, request: web.Request) -> web.Response | None:
        """None if the v2 signature is valid, else the gateway's 401."""
        problem = signature_problem(self.config, request.method, request.raw_path, request.headers)
        if problem is None:
            return None
        self.stats.signature_failures += 1
        return gateway_error(401, problem)

    def _pick_fault(self, info: RequestInfo) -> Fault | None:
        """The fault plan's fault for this request, else one drawn at the configured rates."""
        if self.fault_plan is not None and (fault := self.fault_plan(info)) is not None:
            return fault
        return random_fault(self._rng, self.config)

    async def _person_request(
        self, request: web.Request, index: int
    ) -> tuple[RequestInfo, Fault | None] | web.Response:
        """Parse the path (and body), count the person and ids, and choose a fault."""
        raw_pid = request.match_info["person_id"]
        if not (raw_pid.isascii() and raw_pid.isdigit()):
            return invalid_request()
        workspace, person_id = request.match_info["workspace"], int(raw_pid)
        ids: tuple[int, ...] = ()
        if request.method != "GET":
            body_ids = _parse_ids(await request.read())
            if body_ids is None:
                return invalid_request()
            ids = body_ids
            if (
                workspace,
                person_id,
            ) not in self.persons and not self.has_state:  # first sight: add an unasked primary
                primary = next(self._primary_ids)
                self.persons[workspace, person_id] = Person([*dict.fromkeys(ids), primary], primary)
        seen = self.stats.per_person[workspace, person_id]
        self.stats.per_person[workspace, person_id] += 1
        self.stats.per_id.update((workspace, person_id, tid) for tid in ids)
        if request.method != "GET" and (workspace, person_id) not in self.persons:
            return person_not_found()  # with state, as the API: only known persons exist
        info = RequestInfo(request.method, workspace, person_id, ids, index, seen)
        fault = self._pick_fault(info)
        if fault is not None and fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
            fault = None
        return info, fault

    async def _remove(self, request: web.Request, index: int) -> web.StreamResponse:
        """The remove endpoint (DELETE or POST .../remove): apply it, or the fault it drew."""
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
        """Remove the requested ids unless none would remain; the person's list, or the 400."""
        person = self.persons[info.workspace, info.person_id]
        removed = person.remove(info.ids)
        if removed is None:
            return last_thumbnail_kept()
        self.stats.deletes_applied += removed
        return thumbnail_list(info.workspace, info.person_id, person)

    async def _get_person(self, request: web.Request, index: int) -> web.StreamResponse:
        """The person endpoint (GET): the person's thumbnail list, or the fault it drew.

        Without state the emulator cannot say truthfully whether a person exists (it makes
        them up on first sight), so it answers the gateway's 404, which a preflight reads as
        "cannot check"; answered before the fault plan, the look-up leaves faults and per-person
        counts to the removals.
        """
        if not self.has_state:
            return gateway_error(404, "the emulator holds no state: start it with --state FILE")
        checked = await self._person_request(request, index)
        if isinstance(checked, web.Response):
            return checked
        info, fault = checked
        if fault is not None and fault.kind not in ("close", "keep_ids"):
            return await faulted(request, fault)  # "drop_after" drops: nothing to apply
        person = self.persons.get((info.workspace, info.person_id))
        if person is None:
            response = person_not_found()
        else:
            response = thumbnail_list(info.workspace, info.person_id, person)
        if fault is not None and fault.kind == "close":
            response.force_close()
        return response

    async def _not_found(self, request: web.Request, index: int) -> web.StreamResponse:
        """Any other route: the gateway's 404."""
        return gateway_error(404, f"no route for {request.method} {request.path}")

    async def _stats(self, request: web.Request) -> web.StreamResponse:
        """The counters served on the (unsigned) stats route."""
        self.seen_signatures.extend(request.headers.getall(SIGNATURE_HEADER, []))
        return web.json_response(self.stats.as_json())
