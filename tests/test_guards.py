"""Guards that stop a run: the failure-rate breaker and --max-deletes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e import csv_rows, final_states, single_id_rows, sweep
from worker.emulator.app import Emulator
from worker.emulator.faults import Fault
from worker.errors import TooManyDeletesError


async def test_failure_rate_breaker_stops_and_skips_the_rest(
    emulator: Emulator, tmp_path: Path
) -> None:
    """When most finished batches fail, the run stops (exit 3) and the rest is skipped."""
    emulator.fault_plan = lambda info: Fault("status", status=400, shape="service")
    rows = single_id_rows(200)
    result, ledger = await sweep(
        emulator, tmp_path, csv_rows(rows), concurrency=4, breaker_min_batches=20
    )
    states = final_states(ledger)
    assert set(states) == set(rows)
    statuses = list(states.values())
    assert 20 <= statuses.count("failed") <= 20 + 4  # the in-flight ones still finish
    assert statuses.count("skipped") == 200 - statuses.count("failed")
    assert emulator.stats.total_requests == statuses.count("failed")
    assert result.exit_code == 3
    assert result.stop_reason is not None
    assert "failure-rate breaker" in result.stop_reason


async def test_breaker_ignores_a_low_failure_rate(emulator: Emulator, tmp_path: Path) -> None:
    """Some permanent failures below the rate let the run finish (exit 1, not 3)."""
    emulator.fault_plan = lambda info: (
        Fault("status", status=400, shape="service") if info.person_id % 4 == 0 else None
    )
    result, ledger = await sweep(
        emulator, tmp_path, csv_rows(single_id_rows(100)), breaker_min_batches=10
    )
    statuses = list(final_states(ledger).values())
    assert statuses.count("failed") == 25
    assert statuses.count("deleted") == 75
    assert result.exit_code == 4  # permanent refusals only


async def test_max_deletes_refuses_before_sending(emulator: Emulator, tmp_path: Path) -> None:
    """An input with more unique ids than --max-deletes is refused (exit 3), nothing sent."""
    with pytest.raises(TooManyDeletesError, match="holds 30 unique ids") as refused:
        await sweep(emulator, tmp_path, csv_rows(single_id_rows(30)), max_deletes=29)
    assert refused.value.exit_code == 3
    assert emulator.stats.total_requests == 0
    assert not (tmp_path / "ledger.jsonl").exists()


async def test_max_deletes_allows_exactly_the_limit(emulator: Emulator, tmp_path: Path) -> None:
    """An input with exactly --max-deletes ids runs."""
    result, _ = await sweep(emulator, tmp_path, csv_rows(single_id_rows(30)), max_deletes=30)
    assert result.exit_code == 0
