"""The emulator's hostile-reply faults, seen by a plain aiohttp client over real sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.test_emulator import (
    ACCESS,
    SECRET,
    WS,
    Reply,
    listed_ids,
    remove,
    signed,
    start_cli_emulator,
    stop_cli_emulator,
    thumbs_path,
)
from worker.emulator.app import Emulator
from worker.emulator.config import EmulatorConfig
from worker.emulator.faults import Fault


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """A running emulator with the credentials the test_emulator helpers sign with."""
    async with Emulator(EmulatorConfig(access_key=ACCESS, secret_key=SECRET)) as emu:
        yield emu


async def test_keep_ids_answers_success_but_removes_nothing(
    emulator: Emulator, session: aiohttp.ClientSession
) -> None:
    """ "keep_ids" answers 200 code "0" whose list still holds every requested id."""
    emulator.add_person(WS, 3, [1, 2, 3])
    emulator.fault_plan = lambda info: Fault("keep_ids")
    reply = await remove(session, emulator, 3, [2, 3])
    assert reply.status == 200
    assert listed_ids(reply) == [1, 2, 3]
    assert emulator.thumbnail_ids(WS, 3) == [1, 2, 3]
    assert emulator.stats.deletes_applied == 0


async def test_keep_ids_can_apply_some_of_the_ids(
    emulator: Emulator, session: aiohttp.ClientSession
) -> None:
    """With `applied=1` only the first requested id goes; the answer lists the others."""
    emulator.add_person(WS, 3, [1, 2, 3, 4])
    emulator.fault_plan = lambda info: Fault("keep_ids", applied=1)
    reply = await remove(session, emulator, 3, [2, 3, 4])
    assert listed_ids(reply) == [1, 3, 4]
    assert emulator.thumbnail_ids(WS, 3) == [1, 3, 4]
    assert emulator.stats.deletes_applied == 1


async def test_random_keep_rate_keeps_ids() -> None:
    """`fault_keep_rate=1` makes every removal a success that applied nothing."""
    config = EmulatorConfig(access_key=ACCESS, secret_key=SECRET, fault_keep_rate=1.0)
    async with Emulator(config) as emulator, aiohttp.ClientSession() as session:
        emulator.add_person(WS, 3, [1, 2])
        reply = await remove(session, emulator, 3, [2])
        assert listed_ids(reply) == [1, 2]


async def test_cli_fault_keep_rate_flag(session: aiohttp.ClientSession) -> None:
    """`thumbsweep emulate --fault-keep-rate 1` answers success while keeping the ids."""
    proc, port = await start_cli_emulator("--fault-keep-rate", "1")
    path = thumbs_path(WS, 5)
    headers = signed("DELETE", path, secret="env-secret-xyz")
    async with session.delete(
        f"http://127.0.0.1:{port}{path}", json={"thumbnailIds": [7]}, headers=headers
    ) as response:
        reply = Reply(response.status, dict(response.headers), await response.text())
    await stop_cli_emulator(proc)
    assert 7 in listed_ids(reply)


async def test_raw_fault_sends_body_and_headers_as_given(
    emulator: Emulator, session: aiohttp.ClientSession
) -> None:
    """ "raw" answers any status with the exact bytes and headers given, applying nothing."""
    body = b'{"code": "1", "message": "\\ud800"}' + b"[" * 1000
    headers = (("Retry-After", "\u00b2"), ("X-Odd", "yes"))
    emulator.add_person(WS, 3, [1, 2])
    emulator.fault_plan = lambda info: Fault("raw", status=429, body=body, headers=headers)
    path = thumbs_path(WS, 3)
    async with session.delete(
        emulator.base_url + path, json={"thumbnailIds": [2]}, headers=signed("DELETE", path)
    ) as response:
        assert response.status == 429
        assert await response.read() == body
        assert response.headers["Retry-After"] == "\u00b2"
        assert response.headers["X-Odd"] == "yes"
    assert emulator.thumbnail_ids(WS, 3) == [1, 2]


async def test_redirect_fault_answers_status_and_location(
    emulator: Emulator, session: aiohttp.ClientSession
) -> None:
    """ "redirect" answers the given 3xx with the Location, and applies nothing."""
    emulator.add_person(WS, 3, [1, 2])
    emulator.fault_plan = lambda info: Fault("redirect", status=307, location="http://x.test/p?q")
    path = thumbs_path(WS, 3)
    async with session.delete(
        emulator.base_url + path,
        json={"thumbnailIds": [2]},
        headers=signed("DELETE", path),
        allow_redirects=False,
    ) as response:
        assert response.status == 307
        assert response.headers["Location"] == "http://x.test/p?q"
    assert emulator.thumbnail_ids(WS, 3) == [1, 2]


async def test_huge_body_fault_streams_exactly_size_bytes(
    emulator: Emulator, session: aiohttp.ClientSession
) -> None:
    """ "huge_body" streams `size` bytes: the given start, then padding."""
    emulator.fault_plan = lambda info: Fault("huge_body", status=200, body=b"{}", size=3 << 20)
    path = thumbs_path(WS, 3)
    async with session.delete(
        emulator.base_url + path, json={"thumbnailIds": [2]}, headers=signed("DELETE", path)
    ) as response:
        body = await response.read()
    assert len(body) == 3 << 20
    assert body.startswith(b"{}")
    assert body.strip() == b"{}"


async def test_endless_body_fault_streams_until_the_client_leaves(
    emulator: Emulator, session: aiohttp.ClientSession
) -> None:
    """ "endless_body" keeps sending; the request ends (and counts) once the client goes."""
    emulator.fault_plan = lambda info: Fault("endless_body", status=200, seconds=0.001)
    path = thumbs_path(WS, 3)
    async with session.delete(
        emulator.base_url + path, json={"thumbnailIds": [2]}, headers=signed("DELETE", path)
    ) as response:
        received = 0
        while received < 4 << 20:
            received += len(await response.content.readany())
        response.close()
    async with asyncio.timeout(5):
        # the emulator offers no event for a request's end; poll its counter briefly
        while emulator.stats.in_flight:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    assert emulator.stats.by_status["200"] == 1
