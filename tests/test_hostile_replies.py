"""Hostile replies over real sockets: each ends as an outcome of its batch, never a hang or leak.

The emulator plays the hostile endpoint (fault plans from `worker.emulator`); a second local
server stands in for the host a redirect points to.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.e2e import csv_rows, final_states, single_id_rows, sweep
from tests.test_faults import first_attempt_fails, http_date
from worker.api.redaction import MAX_MESSAGE_CHARS
from worker.emulator.app import Emulator
from worker.emulator.faults import Fault

ROWS = single_id_rows(3)
SUCCESS = b'{"code": "0", "message": "success"}'


def assert_clean(message: str) -> None:
    """A ledger message is one printable line of bounded length that encodes to UTF-8."""
    assert message.isprintable()
    assert len(message) <= 2 * MAX_MESSAGE_CHARS  # the pipeline may add a prefix
    message.encode("utf-8")


def assert_each_id_recorded_once(records: list[dict[str, Any]], status: str) -> None:
    """Every input id has exactly one record in the run, with `status`."""
    states = final_states(records)
    assert set(states) == set(ROWS)
    assert set(states.values()) == {status}


@pytest.mark.parametrize(
    "retry_after", ["²", "٣", "1.5", "-1", "9" * 400, "Mon, 99 Foo 1 00:00:00 GMT", "\x00"]
)
async def test_odd_retry_after_is_ignored_and_the_batch_is_retried(
    emulator: Emulator, tmp_path: Path, retry_after: str
) -> None:
    """A Retry-After that is neither ASCII digits nor an HTTP-date does not kill a sender."""
    fault = Fault("status", status=429, retry_after=retry_after)
    emulator.fault_plan = first_attempt_fails(fault)
    async with asyncio.timeout(20):
        result, ledger = await sweep(emulator, tmp_path, csv_rows(ROWS), retry_after_max=0.1)
    assert_each_id_recorded_once(ledger, "deleted")
    assert result.exit_code == 0


@pytest.mark.parametrize("retry_after", ["100000", http_date(1_000_000)], ids=["seconds", "date"])
async def test_huge_retry_after_pauses_starts_no_longer_than_the_cap(
    emulator: Emulator, tmp_path: Path, retry_after: str
) -> None:
    """A 429 asking for a day's pause holds every start back only --retry-after-max seconds."""
    emulator.fault_plan = first_attempt_fails(Fault("status", status=429, retry_after=retry_after))
    async with asyncio.timeout(20):
        result, ledger = await sweep(emulator, tmp_path, csv_rows(ROWS), retry_after_max=0.2)
    assert_each_id_recorded_once(ledger, "deleted")
    assert result.exit_code == 0


class Recorder:
    """A second local server that records every request it receives."""

    def __init__(self) -> None:
        self.received = 0  # a count only: what arrives carries credentials, never printed

    async def handle(self, request: web.Request) -> web.Response:
        """Count the request and answer a success, as a hostile host would."""
        self.received += 1
        return web.Response(body=SUCCESS, content_type="application/json")


@pytest.fixture
async def elsewhere() -> AsyncIterator[tuple[str, Recorder]]:
    """The recorder listening on a free port: its base URL and itself."""
    recorder = Recorder()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", recorder.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", recorder
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_redirect_is_not_followed_and_fails_naming_only_the_host(
    emulator: Emulator, tmp_path: Path, elsewhere: tuple[str, Recorder], status: int
) -> None:
    """A redirect sends nothing to its target; the batch fails once, naming the host only."""
    base, recorder = elsewhere
    location = f"{base}/steal/path?X-Amz-Signature=cafef00d"
    emulator.fault_plan = lambda info: Fault("redirect", status=status, location=location)
    result, ledger = await sweep(emulator, tmp_path, csv_rows(ROWS))
    assert recorder.received == 0
    assert_each_id_recorded_once(ledger, "failed")
    for record in ledger:
        assert record["attempts"] == 1
        assert base.removeprefix("http://") in record["message"]
        assert "steal" not in record["message"]
        assert "cafef00d" not in json.dumps(record)
    assert emulator.stats.total_requests == len(ROWS)
    assert result.exit_code == 4  # a redirect is permanent


async def test_body_over_the_cap_is_a_retryable_failure(emulator: Emulator, tmp_path: Path) -> None:
    """A 2 MiB reply (a padded success) is not believed: it fails, retryably, saying why."""
    emulator.fault_plan = lambda info: Fault("huge_body", status=200, body=SUCCESS, size=2 << 20)
    result, ledger = await sweep(emulator, tmp_path, csv_rows(ROWS), max_attempts=2)
    assert_each_id_recorded_once(ledger, "failed")
    for record in ledger:
        assert record["attempts"] == 2
        assert "larger than 1 MiB" in record["message"]
        assert "--resume" in record["message"]
    assert result.exit_code == 1


async def test_declared_length_over_the_cap_is_not_read(emulator: Emulator, tmp_path: Path) -> None:
    """A reply whose Content-Length says 2 MiB fails at once, retryably, without reading it."""
    body = SUCCESS + b" " * (2 << 20)
    emulator.fault_plan = lambda info: Fault("raw", status=200, body=body)
    result, ledger = await sweep(emulator, tmp_path, csv_rows(ROWS), max_attempts=1)
    assert_each_id_recorded_once(ledger, "failed")
    for record in ledger:
        assert "larger than 1 MiB" in record["message"]
    assert result.exit_code == 1


async def test_compressed_body_is_capped_after_decompression(
    emulator: Emulator, tmp_path: Path
) -> None:
    """A 64 KiB gzip reply that inflates to 64 MiB is cut at the cap like any other body."""
    bomb = gzip.compress(SUCCESS + b" " * (64 << 20))
    headers = (("Content-Encoding", "gzip"), ("Content-Type", "application/json"))
    emulator.fault_plan = lambda info: Fault("raw", status=200, body=bomb, headers=headers)
    result, ledger = await sweep(emulator, tmp_path, csv_rows(ROWS[:1]), max_attempts=1)
    (record,) = ledger
    assert record["status"] == "failed"
    assert "larger than 1 MiB" in record["message"]
    assert result.exit_code == 1


async def test_endless_body_is_cut_at_the_cap_long_before_the_timeout(
    emulator: Emulator, tmp_path: Path
) -> None:
    """A body that never ends is abandoned once past the cap, not read until --timeout."""
    emulator.fault_plan = lambda info: Fault("endless_body", status=200, seconds=0.001)
    result, ledger = await sweep(emulator, tmp_path, csv_rows(ROWS[:1]), max_attempts=1, timeout=3)
    (record,) = ledger
    assert record["status"] == "failed"
    assert "larger than 1 MiB" in record["message"]
    assert record["elapsed_ms"] < 2500
    assert result.exit_code == 1


async def test_slow_endless_body_ends_at_the_timeout(emulator: Emulator, tmp_path: Path) -> None:
    """A trickling body that never ends is abandoned after --timeout, not awaited forever."""
    emulator.fault_plan = lambda info: Fault("endless_body", status=200, seconds=0.05)
    async with asyncio.timeout(10):
        result, ledger = await sweep(
            emulator, tmp_path, csv_rows(ROWS[:1]), max_attempts=1, timeout=0.5
        )
    (record,) = ledger
    assert record["status"] == "failed"
    assert "timed out after 0.5 s" in record["message"]
    assert result.exit_code == 1


@pytest.mark.parametrize(
    "body",
    [
        b'{"code": "10001", "message": "bad \\ud800 id"}',
        b'{"code": "10001", "message": "nul \\u0000 bell \\u0007 ls \\u2028 ps \\u2029 end"}',
        b'{"code": "10001", "message": "\\udfff\\ud800"}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"code": "10001", "message": "' + b"[" * 100_000 + b'"}',
        b'{"code": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b"\xff\xfe\x00 not UTF-8 \xc3",
        b'{"code": {"a": 1}, "message": ["x"], "result": 7}',
    ],
    ids=["surrogate", "controls", "surrogate-pair-reversed", "nested", "long-text", "nested-code",
         "not-utf8", "odd-types"],
)  # fmt: skip
async def test_odd_error_body_becomes_a_clean_failed_record(
    emulator: Emulator, tmp_path: Path, body: bytes
) -> None:
    """Any error body gives every id one `failed` record whose message is safe ledger text."""
    emulator.fault_plan = lambda info: Fault("raw", status=400, body=body)
    result, ledger = await sweep(emulator, tmp_path, csv_rows(ROWS))
    assert_each_id_recorded_once(ledger, "failed")
    for record in ledger:
        assert_clean(record["message"])
    assert result.exit_code == 4  # a 400 is a permanent refusal


async def test_odd_success_body_is_recorded(emulator: Emulator, tmp_path: Path) -> None:
    """A success with odd types in its fields and a surrogate message still gives records."""
    body = (
        b'{"code": "0", "message": "\\ud800\\u2028", '
        b'"result": {"thumbnailList": [1, "x", {"id": true}, {"id": 5, "isPrimaryThumbnail": 1}]}}'
    )
    emulator.fault_plan = lambda info: Fault("raw", status=200, body=body)
    result, ledger = await sweep(emulator, tmp_path, csv_rows(ROWS))
    assert_each_id_recorded_once(ledger, "deleted")
    for record in ledger:
        assert_clean(record["message"])
    assert result.exit_code == 0
