"""The local Media Intelligence emulator, exercised over real sockets with aiohttp."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from yarl import URL

from worker.emulator import Emulator, EmulatorConfig, Fault, RequestInfo

ACCESS = "test-access-key"
SECRET = "test-secret-key"
WS = "my-workspace"
ROOT = Path(__file__).resolve().parents[1]
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


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp client session."""
    async with aiohttp.ClientSession() as client:
        yield client


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
    """GET returns a known person's thumbnails and a service 404 for an unknown one."""
    emulator.add_person(WS, 9, [4, 5], primary=5)
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
    """GET /_emulator/stats needs no signature and reports the counters as JSON."""
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
    assert stats == {
        "total_requests": 2,
        "by_status": {"200": 1, "401": 1},
        "signature_failures": 1,
        "deletes_applied": 1,
        "in_flight": 0,
        "max_in_flight": 1,
    }


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


async def test_blocking_server_prints_line_and_stops_on_sigterm() -> None:
    """emulate_main prints one listening line with the real port and exits 0 on SIGTERM."""
    script = (
        "import argparse, sys\n"
        "from worker.emulator import add_emulator_arguments, emulate_main\n"
        "parser = argparse.ArgumentParser()\n"
        "add_emulator_arguments(parser)\n"
        "sys.exit(emulate_main(parser.parse_args(sys.argv[1:])))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "THUMBSWEEP_SECRET_KEY": "env-secret-xyz"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        "--port",
        "0",
        "--access-key",
        ACCESS,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), timeout=10)).decode()
    prefix = "thumbsweep emulator listening on http://127.0.0.1:"
    assert line.startswith(prefix)
    port = int(line.removeprefix(prefix))
    assert port > 0
    path = "/api/v1/workspaces/w/persons/1"
    headers = signed("GET", path, secret="env-secret-xyz")
    async with (
        aiohttp.ClientSession() as client,
        client.get(f"http://127.0.0.1:{port}{path}", headers=headers) as resp,
    ):
        assert resp.status == 404  # authenticated, person unknown
    proc.send_signal(signal.SIGTERM)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=10)
    assert proc.returncode == 0
    assert out == b""
    assert err == b""
