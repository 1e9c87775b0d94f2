"""--failed-out: every id that did not end deleted, re-fed as input until all are deleted."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.e2e import csv_rows, final_states, single_id_rows, sweep
from worker.emulator.app import Emulator
from worker.emulator.faults import Fault, RequestInfo


async def test_failed_out_round_trip_with_permanent_failures(
    emulator: Emulator, tmp_path: Path
) -> None:
    """Failed ids go to --failed-out in the input format; feeding it back deletes exactly them."""
    rows = single_id_rows(30, workspace="team, a")  # a workspace that needs CSV quoting
    emulator.add_person("team, a", 31, [311, 312, 313])
    rows += [("team, a", 31, 311), ("team, a", 31, 312)]
    failing = {4, 9, 31}

    def plan(info: RequestInfo) -> Fault | None:
        return Fault("status", status=400, shape="service") if info.person_id in failing else None

    emulator.fault_plan = plan
    failed_out = tmp_path / "failed.csv"
    first, ledger = await sweep(emulator, tmp_path, csv_rows(rows), failed_out=failed_out)
    assert first.exit_code == 4
    with failed_out.open(newline="") as handle:
        written = list(csv.DictReader(handle))
    assert {(r["workspace"], int(r["person_id"])) for r in written} == {
        ("team, a", p) for p in failing
    }
    assert next(r for r in written if r["person_id"] == "31")["thumbnail_ids"] == "311;312"
    not_deleted = {k for k, v in final_states(ledger).items() if v != "deleted"}
    assert len(not_deleted) == 4

    emulator.fault_plan = None
    before = emulator.stats.total_requests
    second, ledger = await sweep(
        emulator, tmp_path, failed_out.read_text(), name="refeed.csv", failed_out=failed_out
    )
    assert second.exit_code == 0
    assert emulator.stats.total_requests - before == 3  # one per failed person
    assert set(final_states(ledger)) == not_deleted
    assert failed_out.read_text().splitlines() == ["workspace,person_id,thumbnail_ids"]


async def test_failed_out_includes_skipped_batches_after_a_stop(
    emulator: Emulator, tmp_path: Path
) -> None:
    """Batches never sent because the run stopped are in --failed-out too."""
    emulator.fault_plan = lambda info: Fault("status", status=401)
    failed_out = tmp_path / "failed.csv"
    result, ledger = await sweep(
        emulator, tmp_path, csv_rows(single_id_rows(10)), failed_out=failed_out, concurrency=1
    )
    assert result.exit_code == 3
    statuses = list(final_states(ledger).values())
    assert statuses.count("skipped") == 9
    assert len(failed_out.read_text().splitlines()) == 1 + 10
