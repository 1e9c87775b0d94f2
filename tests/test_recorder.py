"""The recorder hands the ledger the records of one event-loop turn in one write (issue 12's CPU
per request), writes them before the loop waits for anything, and loses none when that write
fails."""

from __future__ import annotations

import asyncio
import errno
import io
import json
from collections.abc import Sequence
from pathlib import Path

from worker.errors import LedgerWriteError
from worker.observe.summary import RunStats
from worker.records.ledger import Ledger
from worker.records.record import LedgerRecord
from worker.records.recorder import FLUSH_EVERY_RECORDS, Recorder


class CountingLedger(Ledger):
    """A real ledger that notes how many records each write call carried."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.writes: list[int] = []

    def write_many(self, records: Sequence[LedgerRecord]) -> None:
        self.writes.append(len(records))
        super().write_many(records)


class FullLedger(CountingLedger):
    """A ledger whose disk is full: every write fails."""

    def write_many(self, records: Sequence[LedgerRecord]) -> None:
        self.writes.append(len(records))
        raise LedgerWriteError(self.path, OSError(errno.ENOSPC, "No space left on device"))


def _deleted(person: int) -> LedgerRecord:
    return LedgerRecord("r1", "deleted", "ws", person, (person * 10,), 200, "0", "success", 1)


def _persons(path: Path) -> list[int]:
    return [json.loads(line)["person_id"] for line in path.read_text().splitlines()]


async def test_records_of_one_turn_reach_the_ledger_in_one_write_before_the_next(
    tmp_path: Path,
) -> None:
    ledger = CountingLedger(tmp_path / "ledger.jsonl")
    ledger.open()
    stats = RunStats()
    recorder = Recorder(ledger, stats)
    for person in range(1, 11):
        recorder.record(_deleted(person))
    assert stats.ids["deleted"] == 10  # counted at once
    assert ledger.writes == []  # not yet: the turn is still running
    await asyncio.sleep(0)  # the next turn starts without waiting for anything
    assert ledger.writes == [10]
    assert _persons(ledger.path) == list(range(1, 11))
    recorder.record(_deleted(11))
    await asyncio.sleep(0)
    assert ledger.writes == [10, 1]
    recorder.close()
    assert _persons(ledger.path) == list(range(1, 12))


async def test_a_turn_that_records_many_writes_them_in_bounded_chunks(tmp_path: Path) -> None:
    """A dry run records every batch without yielding: memory stays bounded."""
    ledger = CountingLedger(tmp_path / "ledger.jsonl")
    ledger.open()
    recorder = Recorder(ledger, RunStats())
    total = 2 * FLUSH_EVERY_RECORDS + 7
    for person in range(total):
        recorder.record(_deleted(person))
    assert ledger.writes == [FLUSH_EVERY_RECORDS, FLUSH_EVERY_RECORDS]
    await asyncio.sleep(0)
    assert ledger.writes == [FLUSH_EVERY_RECORDS, FLUSH_EVERY_RECORDS, 7]
    recorder.close()
    assert _persons(ledger.path) == list(range(total))


def test_outside_an_event_loop_a_record_is_written_at_once(tmp_path: Path) -> None:
    ledger = CountingLedger(tmp_path / "ledger.jsonl")
    ledger.open()
    recorder = Recorder(ledger, RunStats())
    recorder.record(_deleted(1))
    assert _persons(ledger.path) == [1]
    recorder.close()


async def test_close_writes_what_the_turn_left_pending(tmp_path: Path) -> None:
    """A run that ends (or is cancelled) in the turn of its last records still writes them."""
    ledger = CountingLedger(tmp_path / "ledger.jsonl")
    ledger.open()
    recorder = Recorder(ledger, RunStats())
    recorder.record(_deleted(1))
    recorder.record(_deleted(2))
    recorder.close()
    assert _persons(ledger.path) == [1, 2]
    await asyncio.sleep(0)  # the flush scheduled for the turn's end finds nothing left
    assert ledger.writes == [2]


async def test_a_failed_write_prints_each_of_its_records_once_and_says_so_once(
    tmp_path: Path,
) -> None:
    ledger = FullLedger(tmp_path / "ledger.jsonl")
    ledger.open()
    fallback = io.StringIO()
    told: list[str] = []
    recorder = Recorder(ledger, RunStats(), on_ledger_failure=told.append, fallback=fallback)
    for person in range(1, 4):
        recorder.record(_deleted(person))
    await asyncio.sleep(0)
    recorder.record(_deleted(4))  # after the failure: straight to stderr, no new write
    await asyncio.sleep(0)
    recorder.close()
    printed = [json.loads(line)["person_id"] for line in fallback.getvalue().splitlines()]
    assert printed == [1, 2, 3, 4]
    assert recorder.unwritten == 4
    assert ledger.writes == [3]
    assert len(told) == 1
    assert "No space left on device" in told[0]
    assert ledger.path.read_text() == ""


async def test_a_bug_while_writing_at_the_turn_end_stops_the_run_and_loses_nothing(
    tmp_path: Path,
) -> None:
    """At the end of a turn no sender would see an exception: the ledger counts as failed (the
    run starts nothing new), the records go to stderr, and nothing escapes into the loop."""
    ledger = CountingLedger(tmp_path / "ledger.jsonl")
    ledger.open()
    fallback = io.StringIO()
    told: list[str] = []
    escaped: list[dict[str, object]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _, context: escaped.append(context))
    recorder = Recorder(ledger, RunStats(), on_ledger_failure=told.append, fallback=fallback)
    broken = LedgerRecord("r1", "deleted", 7, 1, (10,), 200, "0")  # type: ignore[arg-type]
    recorder.record(_deleted(2))
    recorder.record(broken)  # a workspace that is not text: the JSON line cannot be built
    await asyncio.sleep(0)
    recorder.close()
    assert escaped == []
    assert len(told) == 1
    assert "internal error (TypeError)" in told[0]
    printed = [json.loads(line) for line in fallback.getvalue().splitlines()]
    assert [(p["person_id"], p["thumbnail_ids"]) for p in printed] == [(2, [20]), (1, [10])]
    assert recorder.unwritten == 2
    assert ledger.path.read_text() == ""
