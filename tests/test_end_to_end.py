"""The whole pipeline against the emulator over real sockets: what reached the API, the ledger."""

from __future__ import annotations

import gc
import math
import os
import random
import threading
from pathlib import Path

import pytest

from tests.e2e import ACCESS_KEY, SECRET_KEY, csv_rows, sweep, sweep_source
from worker.emulator.app import Emulator
from worker.emulator.config import EmulatorConfig
from worker.errors import InputError


async def test_shuffled_duplicated_input_sends_exact_requests(
    emulator: Emulator, tmp_path: Path
) -> None:
    """Shuffled, duplicated rows cost exactly sum(ceil(unique/max)) requests and delete every id."""
    rng = random.Random(11)
    wanted: dict[tuple[str, int], set[int]] = {}
    rows: list[tuple[str, int, int]] = []
    for person in range(1, 31):
        workspace = f"ws{person % 3}"
        ids = {person * 1000 + i for i in range(1, rng.randrange(2, 260))}
        wanted[workspace, person] = ids
        rows += [(workspace, person, i) for i in ids]
        rows += [(workspace, person, i) for i in rng.sample(sorted(ids), len(ids) // 3)]
    rng.shuffle(rows)
    result, ledger = await sweep(emulator, tmp_path, csv_rows(rows), max_ids_per_request=100)
    expected_requests = sum(math.ceil(len(ids) / 100) for ids in wanted.values())
    assert emulator.stats.total_requests == expected_requests
    assert len(ledger) == expected_requests
    assert {record["status"] for record in ledger} == {"deleted"}
    for (workspace, person), ids in wanted.items():
        left = emulator.thumbnail_ids(workspace, person)
        assert not ids & set(left)
        assert len(left) == 1  # only the primary that nobody asked to remove
    recorded = [i for record in ledger for i in record["thumbnail_ids"]]
    assert len(recorded) == len(set(recorded)) == sum(len(ids) for ids in wanted.values())
    assert result.exit_code == 0


async def test_concurrency_bound_is_reached_and_never_exceeded(tmp_path: Path) -> None:
    """With latency, requests in flight rise to --concurrency and never above it."""
    config = EmulatorConfig(access_key=ACCESS_KEY, secret_key=SECRET_KEY, latency_ms=40)
    async with Emulator(config) as emulator:
        rows = [("w", person, 1) for person in range(40)]
        result, _ = await sweep(emulator, tmp_path, csv_rows(rows), concurrency=4)
        assert emulator.stats.max_in_flight == 4
        assert emulator.stats.total_requests == 40
    assert result.exit_code == 0


async def test_authentication_failure_stops_and_skips_the_rest(tmp_path: Path) -> None:
    """A 401 stops new requests at once: the rest is recorded skipped and the exit code is 3."""
    config = EmulatorConfig(access_key=ACCESS_KEY, secret_key="another-secret", latency_ms=20)
    async with Emulator(config) as emulator:
        rows = [("w", person, 1) for person in range(50)]
        result, ledger = await sweep(emulator, tmp_path, csv_rows(rows), concurrency=3)
        assert emulator.stats.total_requests <= 3
        assert emulator.stats.deletes_applied == 0
    statuses = [record["status"] for record in ledger]
    assert len(ledger) == 50
    assert statuses.count("failed") == emulator.stats.total_requests
    assert statuses.count("skipped") == 50 - emulator.stats.total_requests
    assert {r["http_status"] for r in ledger if r["status"] == "failed"} == {401}
    assert result.exit_code == 3
    assert result.stop_reason is not None
    assert "clock" in result.stop_reason


async def test_invalid_rows_are_recorded_and_the_rest_is_sent(
    emulator: Emulator, tmp_path: Path
) -> None:
    """Invalid rows get an invalid record with line and error; valid ones are deleted; exit 4."""
    text = "workspace,person_id,thumbnail_id\nw,1,10\n,2,20\nw,x,30\nw,3,-4\nw,4,40\n"
    result, ledger = await sweep(emulator, tmp_path, text)
    invalid = [record for record in ledger if record["status"] == "invalid"]
    assert [record["line"] for record in invalid] == [3, 4, 5]
    assert all(set(record) == {"ts", "run_id", "status", "line", "error"} for record in invalid)
    assert sorted(r["person_id"] for r in ledger if r["status"] == "deleted") == [1, 4]
    assert emulator.stats.total_requests == 2
    assert result.exit_code == 4


async def test_dry_run_sends_nothing(emulator: Emulator, tmp_path: Path) -> None:
    """A dry run writes one dry_run record per batch and sends no request."""
    rows = [("w", person, i) for person in range(3) for i in range(1, 6)]
    result, ledger = await sweep(
        emulator, tmp_path, csv_rows(rows), dry_run=True, max_ids_per_request=2
    )
    assert emulator.stats.total_requests == 0
    assert [record["status"] for record in ledger] == ["dry_run"] * 9
    assert result.exit_code == 0


async def test_deleted_record_holds_remaining_ids_but_no_urls(
    emulator: Emulator, tmp_path: Path
) -> None:
    """The ledger keeps the ids left on the person and the primary, never a presigned URL."""
    emulator.add_person("w", 9, [100, 101, 102, 103], primary=103)
    _, ledger = await sweep(emulator, tmp_path, csv_rows([("w", 9, 100), ("w", 9, 101)]))
    (record,) = ledger
    assert record["status"] == "deleted"
    assert record["thumbnail_ids"] == [100, 101]
    assert record["remaining_thumbnail_ids"] == [102, 103]
    assert record["primary_thumbnail_id"] == 103
    assert (record["http_status"], record["code"], record["attempts"]) == (200, "0", 1)
    text = (tmp_path / "ledger.jsonl").read_text()
    assert "X-Amz" not in text
    assert "ncloudstorage" not in text


async def test_last_thumbnail_refusal_is_a_final_failure(
    emulator: Emulator, tmp_path: Path
) -> None:
    """Removing every thumbnail of a person is refused once, not retried, and recorded failed."""
    emulator.add_person("w", 5, [1, 2])
    result, ledger = await sweep(emulator, tmp_path, csv_rows([("w", 5, 1), ("w", 5, 2)]))
    (record,) = ledger
    assert record["status"] == "failed"
    assert record["http_status"] == 400
    assert record["attempts"] == 1
    assert "a person must keep at least one thumbnail" in record["message"]
    assert "not retried" in record["message"]
    assert emulator.thumbnail_ids("w", 5) == [1, 2]
    assert record["retryable"] is False
    assert result.exit_code == 4


async def test_workspace_needing_percent_encoding(emulator: Emulator, tmp_path: Path) -> None:
    """A workspace with a space, a slash and non-ASCII is encoded, signed and accepted."""
    text = 'workspace,person_id,thumbnail_ids\n"team a/ü",3,"[31, 32]"\n'
    result, ledger = await sweep(emulator, tmp_path, text)
    assert ledger[0]["status"] == "deleted"
    assert ledger[0]["workspace"] == "team a/ü"
    assert emulator.stats.signature_failures == 0
    assert emulator.thumbnail_ids("team a/ü", 3)
    assert result.exit_code == 0


async def test_json_lines_input(emulator: Emulator, tmp_path: Path) -> None:
    """JSON Lines input with id lists and single ids is batched per person."""
    text = (
        '{"workspace": "w", "person_id": 1001, "thumbnail_ids": [1234, 1235]}\n'
        '{"workspace": "w", "person_id": 1001, "thumbnail_id": 1236}\n'
    )
    result, ledger = await sweep(emulator, tmp_path, text, name="in.jsonl")
    assert [record["thumbnail_ids"] for record in ledger] == [[1234, 1235, 1236]]
    assert emulator.stats.total_requests == 1
    assert result.exit_code == 0


async def test_rate_limit_spaces_requests(emulator: Emulator, tmp_path: Path) -> None:
    """With --rate 20, 11 requests cannot all start within half a second."""
    rows = [("w", person, 1) for person in range(11)]
    result, _ = await sweep(emulator, tmp_path, csv_rows(rows), rate=20, concurrency=11)
    assert emulator.stats.total_requests == 11
    assert result.stats.wall_seconds >= 10 / 20 - 0.02


async def test_csv_ledger(emulator: Emulator, tmp_path: Path) -> None:
    """--ledger x.csv writes the CSV ledger with one row per batch, and the run record."""
    ledger = tmp_path / "ledger.csv"
    await sweep(emulator, tmp_path, csv_rows([("w", 1, 2), ("w", 2, 3)]), ledger=ledger)
    lines = ledger.read_text().splitlines()
    assert lines[0].startswith("ts,run_id,workspace,person_id,thumbnail_ids,status")
    assert len(lines) == 1 + 2 + 1
    assert ",run," in lines[-1]


async def test_cyclic_gc_is_paused_while_reading_and_restored_after(
    emulator: Emulator, tmp_path: Path
) -> None:
    """The cyclic collector is off while the input is read (it made large inputs superlinear),
    and on again afterwards, also when reading fails."""
    # The input arrives through a pipe, so a writer thread sees the collector's state while
    # the run is still reading: between the reader opening the pipe and the writer closing it.
    pipe = tmp_path / "in.csv"
    os.mkfifo(pipe)
    states: list[bool] = []

    def feed() -> None:
        with pipe.open("w") as writer:
            for line in csv_rows([("w", 1, 11), ("w", 2, 21)]).splitlines(keepends=True):
                states.append(gc.isenabled())
                writer.write(line)
                writer.flush()
            states.append(gc.isenabled())

    feeding = threading.Thread(target=feed)
    feeding.start()
    assert gc.isenabled()
    try:
        result, _ = await sweep_source(emulator, tmp_path, pipe)
    finally:
        if feeding.is_alive():  # the run failed before opening its input: release the writer
            os.close(os.open(pipe, os.O_RDONLY | os.O_NONBLOCK))
        feeding.join()
    assert result.exit_code == 0
    assert emulator.stats.total_requests == 2
    assert states == [False] * 4
    assert gc.isenabled()

    with pytest.raises(InputError):
        await sweep(emulator, tmp_path, "workspace,person\nw,1\n", name="bad.csv")  # no ids
    assert gc.isenabled()
