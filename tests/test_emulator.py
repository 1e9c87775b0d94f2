"""The local Media Intelligence emulator, exercised over real sockets with aiohttp."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import signal
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from yarl import URL

from tests.cli import thumbsweep
from worker.emulator.app import Emulator
from worker.emulator.config import EmulatorConfig
from worker.emulator.faults import Fault, RequestInfo
from worker.emulator.state import EmulatorStats

ACCESS = "test-access-key"
SECRET = "test-secret-key"
WS = "my-workspace"
CONNECTION_ERRORS = (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)


def signature(secret: str, method: str, raw_path: str, stamp: int, key: str) -> str:
    """API Gateway v2 signature, computed independently of the code under test."""
    message = f"{method} {raw_path}\n{stamp}\n{key}".encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def signed(
    method: str,
    raw_path: str,
    *,
    stamp: int | None = None,
    key: str = ACCESS,
    secret: str = SECRET,
) -> dict[str, str]:
    """The three signing headers for a request."""
    stamp = int(time.time() * 1000) if stamp is None else stamp
    return {
        "x-ncp-apigw-timestamp": str(stamp),
        "x-ncp-iam-access-key": key,
        "x-ncp-apigw-signature-v2": signature(secret, method, raw_path, stamp, key),
    }


def thumbs_path(workspace: str, person_id: int | str, *, remove: bool = False) -> str:
    """The raw (percent-encoded) path of the remove endpoint."""
    path = f"/api/v1/workspaces/{quote(workspace, safe='')}/persons/{person_id}/person-thumbnail"
    return path + "/remove" if remove else path


class Reply:
    """Status, headers and body of one response."""

    def __init__(self, status: int, headers: dict[str, str], text: str) -> None:
        self.status, self.headers, self.text = status, headers, text

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.text)


async def send(
    session: aiohttp.ClientSession,
    emulator: Emulator,
    method: str,
    raw_path: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
) -> Reply:
    """Send a signed request exactly to raw_path (no re-encoding by the client)."""
    url = URL(emulator.base_url + raw_path, encoded=True)
    data = None if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json", **signed(method, raw_path)}
    all_headers.update(headers or {})
    async with session.request(method, url, data=data, headers=all_headers) as resp:
        return Reply(resp.status, dict(resp.headers), await resp.text())


async def remove(
    session: aiohttp.ClientSession,
    emulator: Emulator,
    person_id: int,
    ids: list[int],
    *,
    method: str = "DELETE",
    workspace: str = WS,
) -> Reply:
    """Ask the emulator to remove thumbnails, with DELETE or POST .../remove."""
    path = thumbs_path(workspace, person_id, remove=method == "POST")
    return await send(session, emulator, method, path, {"thumbnailIds": ids})


def listed_ids(reply: Reply) -> list[int]:
    """The thumbnail ids in a success body."""
    body = reply.json()
    assert body["code"] == "0"
    assert body["message"] == "success"
    return [t["id"] for t in body["result"]["thumbnailList"]]


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """A running emulator on a free port with the test credentials."""
    async with Emulator(EmulatorConfig(access_key=ACCESS, secret_key=SECRET)) as emu:
        yield emu


class ConnectionCounter:
    """Counts the TCP connections an aiohttp client opens and the pooled ones it reuses."""

    def __init__(self) -> None:
        self.created = 0
        self.reused = 0

    async def _on_create(self, *_: object) -> None:
        self.created += 1

    async def _on_reuse(self, *_: object) -> None:
        self.reused += 1

    def trace_config(self) -> aiohttp.TraceConfig:
        """A TraceConfig that feeds this counter."""
        trace = aiohttp.TraceConfig()
        trace.on_connection_create_end.append(self._on_create)
        trace.on_connection_reuseconn.append(self._on_reuse)
        return trace


@pytest.fixture
async def counted() -> AsyncIterator[tuple[aiohttp.ClientSession, ConnectionCounter]]:
    """A client session whose new and reused connections are counted."""
    counter = ConnectionCounter()
    async with aiohttp.ClientSession(trace_configs=[counter.trace_config()]) as client:
        yield client, counter


def test_test_signer_matches_published_vector() -> None:
    """The tests' own signer reproduces the documented DELETE test vector."""
    path = "/api/v1/workspaces/my-workspace/persons/1001/person-thumbnail"
    got = signature("SECRETEXAMPLE", "DELETE", path, 1700000000000, "AKIAEXAMPLE")
    assert got == "hh0DKMM7vdRXNj+dpU9bAAwalTd8NXXu4UW+oxcaky0="


async def test_valid_signature_accepted(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    """A correctly signed DELETE gets 200 and the base URL is a real 127.0.0.1 port."""
    assert emulator.base_url.startswith("http://127.0.0.1:")
    emulator.add_person(WS, 1, [10, 11])
    reply = await remove(session, emulator, 1, [11])
    assert reply.status == 200
    assert listed_ids(reply) == [10]


@pytest.mark.parametrize(
    ("header", "value", "details"),
    [
        ("x-ncp-apigw-signature-v2", "AAAA", "signature"),
        ("x-ncp-iam-access-key", "someone-else", "access key"),
        ("x-ncp-apigw-timestamp", -300_000, "timestamp"),
        ("x-ncp-apigw-timestamp", +360_000, "timestamp"),
        ("x-ncp-apigw-timestamp", "17e11", "timestamp"),
    ],
)
async def test_bad_credentials_rejected(
    emulator: Emulator,
    session: aiohttp.ClientSession,
    header: str,
    value: str | int,
    details: str,
) -> None:
    """Bad signature, unknown key or a clock 5+ minutes off give the gateway's 401, code 200."""
    if isinstance(value, int):  # a clock offset in ms, applied at the last moment
        value = str(int(time.time() * 1000) + value)
    headers = {header: value}
    emulator.add_person(WS, 1, [10, 11])
    path = thumbs_path(WS, 1)
    reply = await send(session, emulator, "DELETE", path, {"thumbnailIds": [11]}, headers=headers)
    assert reply.status == 401
    error = reply.json()["error"]
    assert error["errorCode"] == "200"
    assert error["message"] == "Authentication Failed"
    assert details in error["details"]
    assert SECRET not in reply.text
    assert emulator.thumbnail_ids(WS, 1) == [10, 11]
    assert emulator.stats.signature_failures == 1


async def test_missing_headers_rejected(emulator: Emulator) -> None:
    """A request without signing headers is refused with 401 and says what is missing."""
    async with (
        aiohttp.ClientSession() as client,
        client.get(emulator.base_url + "/api/v1/workspaces/w/persons/1") as resp,
    ):
        assert resp.status == 401
        assert "missing" in (await resp.json())["error"]["details"]


async def test_percent_encoded_workspace(
    emulator: Emulator, session: aiohttp.ClientSession
) -> None:
    """A workspace like "team a/ü" is signed on the raw encoded path and stored decoded."""
    workspace = "team a/ü"
    reply = await remove(session, emulator, 7, [1, 2], workspace=workspace)
    assert reply.status == 200
    assert len(emulator.thumbnail_ids(workspace, 7)) == 1
    assert "/emulator/team%20a%2F%C3%BC/7/" in reply.json()["result"]["thumbnailList"][0]["url"]
    decoded = f"/api/v1/workspaces/{workspace}/persons/7/person-thumbnail"
    raw = thumbs_path(workspace, 7)
    wrong = signed("DELETE", decoded)
    denied = await send(session, emulator, "DELETE", raw, {"thumbnailIds": [1]}, headers=wrong)
    assert denied.status == 401


async def test_first_sight_creates_person_with_primary(
    emulator: Emulator, session: aiohttp.ClientSession
) -> None:
    """An unknown person is created holding the ids plus an unasked primary that survives."""
    reply = await remove(session, emulator, 42, [100, 101, 102])
    assert reply.status == 200
    (kept,) = reply.json()["result"]["thumbnailList"]
    assert kept["id"] >= 9_000_000_000_000_000_000
    assert kept["isPrimaryThumbnail"] is True
    assert "X-Amz-Signature=" in kept["url"]
    assert emulator.stats.deletes_applied == 3


async def test_unknown_ids_ignored(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    """Ids the person does not hold are ignored and the call still succeeds."""
    emulator.add_person(WS, 5, [1, 2, 3], primary=3)
    reply = await remove(session, emulator, 5, [2, 999])
    assert reply.status == 200
    assert listed_ids(reply) == [1, 3]
    flags = [t["isPrimaryThumbnail"] for t in reply.json()["result"]["thumbnailList"]]
    assert flags == [False, True]
    assert emulator.stats.deletes_applied == 1


async def test_last_thumbnail_refused(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    """Removing every thumbnail is refused with 400 and nothing is removed."""
    emulator.add_person(WS, 5, [1, 2])
    reply = await remove(session, emulator, 5, [1, 2, 3])
    assert reply.status == 400
    assert reply.json()["code"] == "10010"
    assert "at least one thumbnail" in reply.json()["message"]
    assert emulator.thumbnail_ids(WS, 5) == [1, 2]
    assert emulator.stats.deletes_applied == 0


async def test_post_remove_variant(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    """POST .../person-thumbnail/remove has the same semantics as DELETE."""
    emulator.add_person(WS, 8, [1, 2, 3])
    reply = await remove(session, emulator, 8, [1], method="POST")
    assert reply.status == 200
    assert listed_ids(reply) == [2, 3]


async def test_get_person(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    """With state, GET returns a known person's thumbnails and a service 404 for an unknown one."""
    emulator.add_person(WS, 9, [4, 5], primary=5)
    emulator.has_state = True
    reply = await send(session, emulator, "GET", f"/api/v1/workspaces/{WS}/persons/9")
    assert reply.status == 200
    assert listed_ids(reply) == [4, 5]
    missing = await send(session, emulator, "GET", f"/api/v1/workspaces/{WS}/persons/10")
    assert missing.status == 404
    assert set(missing.json()) == {"code", "message"}


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        [1, 2],
        {},
        {"thumbnailIds": []},
        {"thumbnailIds": "1"},
        {"thumbnailIds": [0]},
        {"thumbnailIds": [-4]},
        {"thumbnailIds": ["1"]},
        {"thumbnailIds": [True]},
        {"thumbnailIds": [1.5]},
    ],
)
async def test_bad_body_rejected(
    emulator: Emulator, session: aiohttp.ClientSession, body: Any
) -> None:
    """A body that is not {"thumbnailIds": [positive ints]} gets 400 code 10001."""
    reply = await send(session, emulator, "DELETE", thumbs_path(WS, 1), body)
    assert reply.status == 400
    assert reply.json() == {"code": "10001", "message": "Invalid Request."}
    assert emulator.persons == {}


async def test_non_integer_person_id_rejected(
    emulator: Emulator, session: aiohttp.ClientSession
) -> None:
    """A person id that is not an integer gets 400 code 10001."""
    reply = await send(session, emulator, "DELETE", thumbs_path(WS, "abc"), {"thumbnailIds": [1]})
    assert reply.status == 400
    assert reply.json()["code"] == "10001"


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (Fault("status", 429, retry_after="7"), "410"),
        (Fault("status", 500), "900"),
        (Fault("status", 503), "500"),
        (Fault("status", 504), "510"),
    ],
)
async def test_gateway_status_faults(
    emulator: Emulator, session: aiohttp.ClientSession, fault: Fault, code: str
) -> None:
    """Injected 429/500/503/504 come in the gateway shape and leave the data alone."""
    emulator.add_person(WS, 3, [1, 2])
    emulator.fault_plan = lambda info: fault
    reply = await remove(session, emulator, 3, [1])
    assert reply.status == fault.status
    assert reply.json()["error"]["errorCode"] == code
    assert reply.headers.get("Retry-After") == fault.retry_after
    assert emulator.thumbnail_ids(WS, 3) == [1, 2]


async def test_service_shaped_500(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    """A 500 can also be injected in the service shape {"code", "message"}."""
    emulator.fault_plan = lambda info: Fault("status", 500, shape="service")
    reply = await remove(session, emulator, 3, [1])
    assert reply.status == 500
    assert set(reply.json()) == {"code", "message"}


async def test_502_is_not_json(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    """An injected 502 carries an HTML page, as a proxy would, not JSON."""
    emulator.fault_plan = lambda info: Fault("status", 502)
    reply = await remove(session, emulator, 3, [1])
    assert reply.status == 502
    assert reply.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError, match="Expecting value"):
        reply.json()


async def test_delay_fault(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    """A delay fault answers normally, only later."""
    emulator.fault_plan = lambda info: Fault("delay", seconds=0.2)
    started = time.monotonic()
    reply = await remove(session, emulator, 3, [1])
    assert reply.status == 200
    assert time.monotonic() - started >= 0.2


async def test_drop_before_keeps_data(
    emulator: Emulator, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """drop_before closes the connection without a response and without removing anything."""
    caplog.set_level(logging.DEBUG, logger="aiohttp")
    emulator.add_person(WS, 4, [1, 2, 3])
    emulator.fault_plan = lambda info: Fault("drop_before")
    with pytest.raises(CONNECTION_ERRORS):
        await remove(session, emulator, 4, [1], method="POST")
    assert emulator.thumbnail_ids(WS, 4) == [1, 2, 3]
    assert emulator.stats.by_status == {"dropped": 1}
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_drop_after_applies_delete(
    emulator: Emulator, session: aiohttp.ClientSession
) -> None:
    """drop_after removes the thumbnails, then closes the connection without a response."""
    emulator.add_person(WS, 4, [1, 2, 3])
    emulator.fault_plan = lambda info: Fault("drop_after")
    with pytest.raises(CONNECTION_ERRORS):
        await remove(session, emulator, 4, [1, 2])
    assert emulator.thumbnail_ids(WS, 4) == [3]
    assert emulator.stats.deletes_applied == 2


async def test_aiohttp_resends_dropped_delete_once(
    emulator: Emulator, session: aiohttp.ClientSession
) -> None:
    """aiohttp silently resends an idempotent DELETE once after a drop; POST it does not."""
    emulator.add_person(WS, 4, [1, 2, 3])
    seen: list[RequestInfo] = []

    def drop_first(info: RequestInfo) -> Fault | None:
        seen.append(info)
        return Fault("drop_before") if info.person_request_index == 0 else None

    emulator.fault_plan = drop_first
    reply = await remove(session, emulator, 4, [1])
    assert reply.status == 200
    assert [(i.request_index, i.person_request_index) for i in seen] == [(0, 0), (1, 1)]
    assert seen[0].method == "DELETE"
    assert seen[0].ids == (1,)
    assert emulator.stats.by_status == {"dropped": 1, "200": 1}
    assert emulator.stats.per_person[WS, 4] == 2


async def _outcomes(seed: int, count: int) -> list[str]:
    """Outcomes of `count` POST removals against an emulator with random faults."""
    config = EmulatorConfig(
        access_key=ACCESS,
        secret_key=SECRET,
        fault_429_rate=0.25,
        fault_5xx_rate=0.25,
        drop_rate=0.25,
        retry_after="1",
        seed=seed,
    )
    outcomes: list[str] = []
    async with Emulator(config) as emu, aiohttp.ClientSession() as client:
        for person_id in range(count):
            try:
                reply = await remove(client, emu, person_id, [1], method="POST")
            except CONNECTION_ERRORS:
                applied = 1 not in emu.thumbnail_ids(WS, person_id)
                outcomes.append("drop_after" if applied else "drop_before")
            else:
                outcomes.append(str(reply.status))
        assert emu.stats.by_status["dropped"] == outcomes.count("drop_before") + outcomes.count(
            "drop_after"
        )
    return outcomes


async def test_random_faults_follow_seed() -> None:
    """Random faults hit at roughly the given rates and repeat exactly with the same seed."""
    first = await _outcomes(seed=1234, count=60)
    assert first == await _outcomes(seed=1234, count=60)
    assert {"200", "429", "503", "drop_before", "drop_after"} <= set(first)
    assert 5 <= first.count("200") <= 30


async def test_counters_and_max_in_flight(session: aiohttp.ClientSession) -> None:
    """Concurrent requests with latency are all in flight at once and counted by status."""
    config = EmulatorConfig(access_key=ACCESS, secret_key=SECRET, latency_ms=150)
    async with Emulator(config) as emu:
        replies = await asyncio.gather(*(remove(session, emu, pid, [1]) for pid in range(6)))
        assert {r.status for r in replies} == {200}
        assert emu.stats.max_in_flight == 6
        assert emu.stats.in_flight == 0
        assert emu.stats.total_requests == 6
        assert emu.stats.by_status == {"200": 6}
        assert emu.stats.per_person[WS, 0] == 1
        assert emu.stats.deletes_applied == 6


async def test_stats_endpoint(emulator: Emulator, session: aiohttp.ClientSession) -> None:
    """GET /_emulator/stats needs no signature and reports the served counters as JSON."""
    await remove(session, emulator, 1, [5])
    await send(
        session,
        emulator,
        "DELETE",
        thumbs_path(WS, 1),
        {"thumbnailIds": [5]},
        headers={"x-ncp-apigw-signature-v2": "bad"},
    )
    async with session.get(emulator.base_url + "/_emulator/stats") as resp:
        assert resp.status == 200
        stats = await resp.json()
    mean = stats.pop("mean_in_flight")
    assert stats == {
        "total_requests": 2,
        "by_status": {"200": 1, "401": 1},
        "signature_failures": 1,
        "rate_limited": 0,
        "deletes_applied": 1,
        "in_flight": 0,
        "max_in_flight": 1,
        "per_second": [[2, 0]],  # answers to signed routes in each second: [not 429, 429]
    }
    assert mean == emulator.stats.mean_in_flight
    assert 0 < mean <= 1  # one at a time, with a gap between them


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/nothing/here"), ("PUT", thumbs_path(WS, 1)), ("PATCH", "/api/v1/workspaces")],
)
async def test_unknown_route_is_gateway_404(
    emulator: Emulator, session: aiohttp.ClientSession, method: str, path: str
) -> None:
    """Any other method or path gets the gateway's 404 shape, errorCode 300."""
    reply = await send(session, emulator, method, path)
    assert reply.status == 404
    error = reply.json()["error"]
    assert (error["errorCode"], error["message"]) == ("300", "Not Found Exception")
    assert emulator.stats.by_status == {"404": 1}


async def start_cli_emulator(*args: str) -> tuple[asyncio.subprocess.Process, int]:
    """Run `thumbsweep emulate` in a subprocess with `args`; return it and the port it announced."""
    proc = await thumbsweep.start(
        "emulate", "--port", "0", "--access-key", ACCESS, *args,
        env={"THUMBSWEEP_SECRET_KEY": "env-secret-xyz"},
    )  # fmt: skip
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), timeout=10)).decode()
    prefix = "thumbsweep emulator listening on http://127.0.0.1:"
    assert line.startswith(prefix)
    port = int(line.removeprefix(prefix))
    assert port > 0
    return proc, port


async def stop_cli_emulator(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM the subprocess and check it exits 0 without output."""
    proc.send_signal(signal.SIGTERM)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=10)
    assert proc.returncode == 0
    assert out == b""
    assert err == b""


async def test_blocking_server_prints_line_and_stops_on_sigterm() -> None:
    """`thumbsweep emulate` prints one listening line with the real port and exits 0 on SIGTERM."""
    proc, port = await start_cli_emulator()
    path = "/api/v1/workspaces/w/persons/1"
    headers = signed("GET", path, secret="env-secret-xyz")
    async with (
        aiohttp.ClientSession() as client,
        client.get(f"http://127.0.0.1:{port}{path}", headers=headers) as resp,
    ):
        assert resp.status == 404  # authenticated, person unknown
    await stop_cli_emulator(proc)


# --- rate limit ----------------------------------------------------------------------


def rate_limited_config(rate: float, burst: float | None = None) -> EmulatorConfig:
    """Test credentials with a token-bucket rate limit."""
    return EmulatorConfig(access_key=ACCESS, secret_key=SECRET, rate_limit=rate, rate_burst=burst)


def test_rate_burst_defaults_and_validation() -> None:
    """The bucket holds max(1, rate/10) tokens by default; bad limits are refused."""
    assert rate_limited_config(100).bucket_capacity == 10
    assert rate_limited_config(5).bucket_capacity == 1
    assert rate_limited_config(5, 3).bucket_capacity == 3
    for bad in ({"rate_limit": -1.0}, {"rate_limit": float("nan")}, {"rate_burst": 0.5}):
        with pytest.raises(ValueError, match="rate"):
            EmulatorConfig(**bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="keep-alive"):
        EmulatorConfig(keepalive_timeout=-1.0)


async def test_rate_limit_burst_then_429(session: aiohttp.ClientSession) -> None:
    """A burst gets ~rate*t+burst 200s, the rest 420-coded 429s with nothing applied."""
    rate, burst, sent = 10.0, 5.0, 30
    async with Emulator(rate_limited_config(rate, burst)) as emu:
        started = asyncio.get_running_loop().time()
        replies = await asyncio.gather(*(remove(session, emu, pid, [1]) for pid in range(sent)))
        elapsed = asyncio.get_running_loop().time() - started
        ok = [pid for pid, r in enumerate(replies) if r.status == 200]
        limited = [r for r in replies if r.status == 429]
        assert len(ok) + len(limited) == sent
        assert burst <= len(ok) <= burst + rate * elapsed + 1
        for reply in limited:
            assert reply.json() == {
                "error": {
                    "errorCode": "420",
                    "message": "Rate Limited",
                    "details": "request rate limit exceeded",
                }
            }
            assert "Retry-After" not in reply.headers
        stats = emu.stats
        assert stats.rate_limited == len(limited) == stats.by_status["429"]
        assert stats.by_status["200"] == len(ok)
        assert stats.total_requests == sent
        assert stats.deletes_applied == len(ok)
        assert sorted(pid for _, pid in emu.persons) == ok
        assert sorted(pid for _, pid in stats.per_person) == ok
        assert sorted(pid for _, pid, _ in stats.per_id) == ok


async def test_rate_limit_refills_over_time(session: aiohttp.ClientSession) -> None:
    """After the bucket is drained, waiting t seconds lets about rate*t requests through."""
    rate = 5.0
    async with Emulator(rate_limited_config(rate, 1)) as emu:
        assert (await remove(session, emu, 1, [1])).status == 200
        assert (await remove(session, emu, 2, [1])).status == 429
        await asyncio.sleep(0.6)  # 3 tokens' worth, but the bucket holds only 1
        started = asyncio.get_running_loop().time()
        statuses = [(await remove(session, emu, 3 + i, [1])).status for i in range(4)]
        elapsed = asyncio.get_running_loop().time() - started
        assert statuses[0] == 200
        assert statuses.count(200) <= 1 + rate * elapsed + 1
        assert 429 in statuses or elapsed * rate >= 2


async def test_rate_limit_spares_unauthenticated_requests(session: aiohttp.ClientSession) -> None:
    """Badly signed requests get 401 without taking a token; the bucket limits signed ones."""
    async with Emulator(rate_limited_config(0.01, 1)) as emu:
        bad = {"x-ncp-apigw-signature-v2": "bad"}
        for _ in range(3):
            path = thumbs_path(WS, 1)
            reply = await send(session, emu, "DELETE", path, {"thumbnailIds": [1]}, headers=bad)
            assert reply.status == 401
        assert (await remove(session, emu, 1, [1])).status == 200
        reply = await send(session, emu, "GET", f"/api/v1/workspaces/{WS}/persons/1")
        assert reply.status == 429
        assert reply.json()["error"]["errorCode"] == "420"
        assert emu.stats.by_status == {"401": 3, "200": 1, "429": 1}
        assert emu.stats.rate_limited == 1


async def test_rate_limited_request_skips_latency(session: aiohttp.ClientSession) -> None:
    """A 429 of the rate limit is answered at once, before the configured latency."""
    config = EmulatorConfig(
        access_key=ACCESS, secret_key=SECRET, latency_ms=300, rate_limit=0.01, rate_burst=1
    )
    async with Emulator(config) as emu:
        assert (await remove(session, emu, 1, [1])).status == 200
        started = time.monotonic()
        assert (await remove(session, emu, 2, [1])).status == 429
        assert time.monotonic() - started < 0.25


# --- connections -----------------------------------------------------------------------


async def test_close_fault_applies_and_forces_new_connection(
    emulator: Emulator, counted: tuple[aiohttp.ClientSession, ConnectionCounter]
) -> None:
    """A "close" fault applies the delete and answers 200, then the client must reconnect."""
    client, connections = counted
    emulator.add_person(WS, 4, [1, 2, 3])
    emulator.fault_plan = lambda info: Fault("close") if info.request_index == 0 else None
    reply = await remove(client, emulator, 4, [1])
    assert reply.status == 200
    assert reply.headers.get("Connection") == "close"
    assert listed_ids(reply) == [2, 3]
    assert emulator.stats.deletes_applied == 1
    assert (await remove(client, emulator, 4, [2])).status == 200
    assert (await remove(client, emulator, 4, [5])).status == 200
    assert (connections.created, connections.reused) == (2, 1)  # new after close, then pooled
    assert emulator.thumbnail_ids(WS, 4) == [3]
    assert emulator.stats.by_status == {"200": 3}


async def test_close_fault_on_get(
    emulator: Emulator, counted: tuple[aiohttp.ClientSession, ConnectionCounter]
) -> None:
    """A "close" fault on GET still returns the person, then closes the connection."""
    client, connections = counted
    emulator.add_person(WS, 9, [4, 5])
    emulator.has_state = True
    emulator.fault_plan = lambda info: Fault("close")
    path = f"/api/v1/workspaces/{WS}/persons/9"
    for _ in range(2):
        reply = await send(client, emulator, "GET", path)
        assert listed_ids(reply) == [4, 5]
    assert (connections.created, connections.reused) == (2, 0)


async def test_connection_pooled_without_close_fault(
    emulator: Emulator, counted: tuple[aiohttp.ClientSession, ConnectionCounter]
) -> None:
    """Without faults the client reuses its one pooled connection, even after an idle pause."""
    client, connections = counted
    for person_id in range(3):
        assert (await remove(client, emulator, person_id, [1])).status == 200
        await asyncio.sleep(0.15)
    assert (connections.created, connections.reused) == (1, 2)


async def test_keepalive_timeout_closes_idle_connections(
    counted: tuple[aiohttp.ClientSession, ConnectionCounter],
) -> None:
    """The server closes idle connections after keepalive_timeout; the client reconnects."""
    client, connections = counted
    config = EmulatorConfig(access_key=ACCESS, secret_key=SECRET, keepalive_timeout=0.1)
    async with Emulator(config) as emu:
        assert (await remove(client, emu, 1, [1])).status == 200
        assert (await remove(client, emu, 2, [1])).status == 200
        assert (connections.created, connections.reused) == (1, 1)
        await asyncio.sleep(0.35)
        assert (await remove(client, emu, 3, [1])).status == 200
        assert (connections.created, connections.reused) == (2, 1)
        assert emu.stats.by_status == {"200": 3}


# --- in-process records ------------------------------------------------------------------


async def test_seen_signatures_and_per_id(
    emulator: Emulator, session: aiohttp.ClientSession
) -> None:
    """seen_signatures records every signature, per_id each id's requests; neither is served."""
    await remove(session, emulator, 1, [1, 2])
    await remove(session, emulator, 1, [2, 3], method="POST")
    await remove(session, emulator, 2, [2], workspace="other")
    bad = {"x-ncp-apigw-signature-v2": "not-a-signature"}
    await send(session, emulator, "DELETE", thumbs_path(WS, 1), {"thumbnailIds": [9]}, headers=bad)
    await send(session, emulator, "GET", "/no/such/route")
    assert len(emulator.seen_signatures) == 5
    assert emulator.seen_signatures[3] == "not-a-signature"
    for valid in emulator.seen_signatures[:3] + emulator.seen_signatures[4:]:
        assert len(base64.b64decode(valid, validate=True)) == 32
    assert emulator.stats.per_id == {
        (WS, 1, 1): 1,
        (WS, 1, 2): 2,
        (WS, 1, 3): 1,
        ("other", 2, 2): 1,
    }
    async with session.get(emulator.base_url + "/_emulator/stats") as resp:
        served = await resp.text()
    assert "per_id" not in served
    assert "seen_signatures" not in served
    assert not any(sig in served for sig in emulator.seen_signatures)


async def test_per_id_counts_requests_repeated_after_drop(
    emulator: Emulator, session: aiohttp.ClientSession
) -> None:
    """An id whose request was dropped and sent again (aiohttp resends DELETE) counts twice."""
    emulator.add_person(WS, 4, [1, 2, 3])
    emulator.fault_plan = lambda info: Fault("drop_after") if info.request_index == 0 else None
    assert (await remove(session, emulator, 4, [1, 2])).status == 200
    assert emulator.stats.per_id == {(WS, 4, 1): 2, (WS, 4, 2): 2}


# --- requests in flight over time ----------------------------------------------------------


def test_mean_in_flight_integral() -> None:
    """mean_in_flight is the time integral of in_flight over first start..last end."""
    stats = EmulatorStats()
    assert stats.mean_in_flight == 0.0
    stats.request_started(10.0)
    stats.request_started(11.0)
    stats.request_ended(13.0)
    stats.request_ended(14.0)
    assert stats.in_flight_integral == pytest.approx(1 + 2 * 2 + 1)
    assert stats.mean_in_flight == pytest.approx(6 / 4)
    assert stats.max_in_flight == 2
    assert stats.in_flight == 0


async def test_mean_in_flight_matches_concurrency(
    counted: tuple[aiohttp.ClientSession, ConnectionCounter],
) -> None:
    """Concurrent requests with latency average about `concurrency` in flight; it is served."""
    client, _ = counted
    config = EmulatorConfig(access_key=ACCESS, secret_key=SECRET, latency_ms=200)
    concurrency = 5
    async with Emulator(config) as emu:
        for round_ in range(2):
            ids = range(round_ * concurrency, (round_ + 1) * concurrency)
            replies = await asyncio.gather(*(remove(client, emu, pid, [1]) for pid in ids))
            assert {r.status for r in replies} == {200}
        assert concurrency - 1.5 <= emu.stats.mean_in_flight <= concurrency
        async with client.get(emu.base_url + "/_emulator/stats") as resp:
            served = await resp.json()
        assert served["mean_in_flight"] == emu.stats.mean_in_flight
        assert served["max_in_flight"] == concurrency


async def test_cli_rate_limit_and_keepalive_flags() -> None:
    """--rate-limit, --rate-burst and --keepalive-timeout reach the emulator's behaviour."""
    proc, port = await start_cli_emulator(
        "--rate-limit", "0.01", "--rate-burst", "2", "--keepalive-timeout", "0.1"
    )
    path = "/api/v1/workspaces/w/persons/1"
    connections = ConnectionCounter()
    statuses: list[int] = []
    async with aiohttp.ClientSession(trace_configs=[connections.trace_config()]) as client:
        for pause in (0.0, 0.3, 0.0):
            await asyncio.sleep(pause)
            headers = signed("GET", path, secret="env-secret-xyz")
            async with client.get(f"http://127.0.0.1:{port}{path}", headers=headers) as resp:
                statuses.append(resp.status)
    await stop_cli_emulator(proc)
    assert statuses == [404, 404, 429]  # two tokens, then the bucket is empty
    assert (connections.created, connections.reused) == (2, 1)  # idle pause: server closed it
