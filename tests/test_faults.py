"""Fault suite against the emulator over real sockets: every fault ends with no id lost.

Each test checks the same invariant: every input id is in exactly one final state in the
ledger, and the emulator agrees with what the ledger says was deleted.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import ACCESS_KEY, SECRET_KEY, csv_rows, final_states, single_id_rows, sweep
from worker.emulator.app import Emulator
from worker.emulator.config import EmulatorConfig
from worker.emulator.faults import Fault, FaultPlan, RequestInfo

ROWS = single_id_rows(10)
ALL_IDS = {(w, p, t) for w, p, t in ROWS}


def first_attempt_fails(fault: Fault) -> FaultPlan:
    """A fault plan that gives `fault` to each person's first request only."""

    def plan(info: RequestInfo) -> Fault | None:
        return fault if info.person_request_index == 0 else None

    return plan


def assert_all_deleted(emulator: Emulator, records: list[dict[str, Any]]) -> None:
    """In every run, each id is in exactly one record; all end deleted and gone from the API."""
    states: dict[tuple[str, int, int], str] = {}
    for run_id in dict.fromkeys(record["run_id"] for record in records):
        states.update(final_states(records, run_id))
    assert set(states) == ALL_IDS
    assert set(states.values()) == {"deleted"}
    for workspace, person, thumbnail in ALL_IDS:
        assert thumbnail not in emulator.thumbnail_ids(workspace, person)


def http_date(seconds_from_now: float) -> str:
    """An RFC 9110 HTTP-date that many seconds from now."""
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds_from_now), usegmt=True)


@pytest.mark.parametrize(
    "fault",
    [
        Fault("status", status=429),
        Fault("status", status=429, retry_after="1"),
        Fault("status", status=500),
        Fault("status", status=502),
        Fault("status", status=503),
        Fault("status", status=504),
        Fault("drop_before"),
        Fault("drop_after"),
    ],
    ids=["429", "429-retry-after-s", "500", "502", "503", "504", "drop-before", "drop-after"],
)
async def test_transient_fault_is_retried_to_success(
    emulator: Emulator, tmp_path: Path, fault: Fault
) -> None:
    """A throttled, failing or dropped first attempt is retried once; every id ends deleted."""
    emulator.fault_plan = first_attempt_fails(fault)
    result, ledger = await sweep(emulator, tmp_path, csv_rows(ROWS))
    assert emulator.stats.total_requests == 20
    assert {record["attempts"] for record in ledger} == {2}
    assert result.stats.retries == 10
    assert_all_deleted(emulator, ledger)
    assert result.exit_code == 0


async def test_429_retry_after_http_date_is_honoured(emulator: Emulator, tmp_path: Path) -> None:
    """A Retry-After given as an HTTP-date delays the retry until that time."""
    emulator.fault_plan = first_attempt_fails(Fault("status", status=429, retry_after=http_date(2)))
    result, ledger = await sweep(emulator, tmp_path, csv_rows(ROWS[:1]))
    assert ledger[0]["status"] == "deleted"
    assert ledger[0]["elapsed_ms"] >= 900  # HTTP-dates have whole seconds
    assert result.exit_code == 0


async def test_429_retry_after_seconds_is_honoured(emulator: Emulator, tmp_path: Path) -> None:
    """A Retry-After in seconds delays that batch's next attempt by about that long."""
    emulator.fault_plan = first_attempt_fails(Fault("status", status=429, retry_after="1"))
    _, ledger = await sweep(emulator, tmp_path, csv_rows(ROWS[:1]))
    assert ledger[0]["status"] == "deleted"
    assert ledger[0]["elapsed_ms"] >= 950


async def test_slower_than_timeout_is_abandoned_and_retried(
    emulator: Emulator, tmp_path: Path
) -> None:
    """A response slower than --timeout is abandoned and the batch retried."""
    emulator.fault_plan = first_attempt_fails(Fault("delay", seconds=2.0))
    result, ledger = await sweep(emulator, tmp_path, csv_rows(ROWS), timeout=0.3)
    assert {record["attempts"] for record in ledger} == {2}
    assert_all_deleted(emulator, ledger)
    assert result.exit_code == 0


async def test_server_closing_keep_alive_connections(tmp_path: Path) -> None:
    """Connections the server closes (after each response, or when idle) cost no id."""
    config = EmulatorConfig(access_key=ACCESS_KEY, secret_key=SECRET_KEY, keepalive_timeout=0.05)
    async with Emulator(config, fault_plan=lambda info: Fault("close")) as emulator:
        await sweep(emulator, tmp_path, csv_rows(ROWS[:5]), concurrency=2)
        await asyncio.sleep(0.2)  # any pooled connection is now idle past the server's timeout
        result, ledger = await sweep(emulator, tmp_path, csv_rows(ROWS[5:]), concurrency=2)
        assert len({record["run_id"] for record in ledger}) == 2
        assert_all_deleted(emulator, ledger)
    assert result.exit_code == 0


async def test_exhausted_attempts_end_failed_with_a_clear_message(
    emulator: Emulator, tmp_path: Path
) -> None:
    """A batch that keeps getting 503 fails after --max-attempts and says --resume retries it."""
    emulator.fault_plan = lambda info: Fault("status", status=503)
    result, ledger = await sweep(emulator, tmp_path, csv_rows(ROWS[:1]), max_attempts=3)
    assert emulator.stats.total_requests == 3
    (record,) = ledger
    assert (record["status"], record["http_status"], record["attempts"]) == ("failed", 503, 3)
    assert record["message"].startswith("gave up after 3 attempts")
    assert "--resume" in record["message"]
    assert result.exit_code == 1


async def test_full_outage_costs_few_requests_and_loses_nothing(
    emulator: Emulator, tmp_path: Path
) -> None:
    """Every request 503 for 3 s at concurrency 16: the retry budget keeps it under 150."""
    outage: dict[str, float] = {}
    loop = asyncio.get_running_loop()

    def plan(info: RequestInfo) -> Fault | None:
        began = outage.setdefault("began", loop.time())
        return Fault("status", status=503) if loop.time() - began < 3.0 else None

    emulator.fault_plan = plan
    rows = single_id_rows(300)
    result, ledger = await sweep(
        emulator, tmp_path, csv_rows(rows), concurrency=16, max_attempts=10
    )
    during_outage = emulator.stats.by_status["503"]
    print(f"full outage: {during_outage} requests reached the API during the 3 s outage")
    assert during_outage < 150
    states = final_states(ledger)
    assert set(states) == set(rows)
    assert set(states.values()) == {"deleted"}
    assert emulator.stats.deletes_applied == 300
    assert result.exit_code == 0


async def test_success_that_keeps_ids_is_not_recorded_deleted(
    emulator: Emulator, tmp_path: Path
) -> None:
    """The API answers success but removed only some ids (its list still holds the rest): the
    ledger calls deleted exactly what the emulator removed, the rest failed; --resume sends
    only the rest, and then every id is gone."""
    rows = [("w", 1, 11), ("w", 1, 12), ("w", 1, 13), *single_id_rows(4, workspace="v")]

    def plan(info: RequestInfo) -> Fault | None:
        if info.workspace == "w" and info.person_request_index == 0:
            return Fault("keep_ids", applied=1)  # removes 11, keeps 12 and 13
        if info.workspace == "v" and info.person_id == 2 and info.person_request_index == 0:
            return Fault("keep_ids")  # removes nothing
        return None

    emulator.fault_plan = plan
    result, ledger = await sweep(emulator, tmp_path, csv_rows(rows))
    states = final_states(ledger)
    assert set(states) == set(rows)
    for (workspace, person, thumbnail), status in states.items():
        still_there = thumbnail in emulator.thumbnail_ids(workspace, person)
        assert status == ("failed" if still_there else "deleted")
    assert {k for k, v in states.items() if v == "failed"} == {
        ("w", 1, 12),
        ("w", 1, 13),
        ("v", 2, 21),
    }  # fmt: skip  (records arrive in completion order)
    assert result.exit_code == 1

    before = emulator.stats.total_requests
    resumed, ledger = await sweep(emulator, tmp_path, csv_rows(rows), resume=True)
    assert emulator.stats.total_requests - before == 2  # person w/1 and person v/2 only
    assert resumed.exit_code == 0
    for workspace, person, thumbnail in rows:
        assert thumbnail not in emulator.thumbnail_ids(workspace, person)
