"""--resume: reading the ledger back, skipping what it records as deleted, and its failure modes."""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.e2e import csv_rows, final_states, single_id_rows, sweep, write_ledger
from worker.emulator.app import Emulator
from worker.emulator.faults import Fault, RequestInfo
from worker.errors import ConfigError, LedgerCorruptError
from worker.records.record import LedgerRecord
from worker.records.resume import iter_outcomes
from worker.run import run
from worker.run_setup import RunSetup
from worker.settings import load_settings


def read_deleted(path: Path) -> dict[tuple[str, int], set[int]]:
    """What `--resume` reads as deleted: every id of a `deleted` record, per person."""
    done: dict[tuple[str, int], set[int]] = {}
    for past in iter_outcomes(path):
        if past.status == "deleted":
            done.setdefault((past.workspace, past.person_id), set()).update(past.thumbnail_ids)
    return done


DELETED = LedgerRecord(
    run_id="r", status="deleted", workspace="=ws", person_id=1, thumbnail_ids=(5, 6)
)
FAILED = LedgerRecord(run_id="r", status="failed", workspace="=ws", person_id=1, thumbnail_ids=(7,))
INVALID = LedgerRecord(run_id="r", status="invalid", line=3, error="bad")


@pytest.mark.parametrize("name", ["ledger.jsonl", "ledger.csv"])
def test_reads_only_deleted_ids_from_either_format(tmp_path: Path, name: str) -> None:
    """Deleted ids are read back (formula-escaped workspaces included); others are not."""
    path = tmp_path / name
    write_ledger(path, DELETED, FAILED, INVALID)
    assert read_deleted(path) == {("=ws", 1): {5, 6}}


def test_missing_ledger_means_nothing_done(tmp_path: Path) -> None:
    """Resuming without a ledger yet starts from scratch."""
    assert read_deleted(tmp_path / "none.jsonl") == {}


@pytest.mark.parametrize("name", ["ledger.jsonl", "ledger.csv"])
def test_torn_last_line_is_ignored(tmp_path: Path, name: str) -> None:
    """A last line cut short by a crash is dropped; the complete lines still count."""
    path = tmp_path / name
    write_ledger(path, DELETED)
    with path.open("a") as handle:
        handle.write('{"ts":"2026","run_id":"r","workspace":"w","person_id":2,"thumbna')
    assert read_deleted(path) == {("=ws", 1): {5, 6}}


@pytest.mark.parametrize(
    "corrupt", ["{not json}", '["a", "list"]', '{"status": "deleted", "workspace": "w"}']
)
def test_corrupt_middle_line_is_an_error(tmp_path: Path, corrupt: str) -> None:
    """A bad line that is not the last one stops the resume with its line number."""
    path = tmp_path / "ledger.jsonl"
    write_ledger(path, DELETED)
    with path.open("a") as handle:
        handle.write(corrupt + "\n")
    write_ledger(path, FAILED)
    with pytest.raises(LedgerCorruptError, match="line 2 is corrupt"):
        read_deleted(path)


def test_corrupt_csv_row_is_an_error(tmp_path: Path) -> None:
    """A CSV ledger row with the wrong number of fields stops the resume."""
    path = tmp_path / "ledger.csv"
    write_ledger(path, DELETED)
    with path.open("a") as handle:
        handle.write("a,b,c\n")
    write_ledger(path, FAILED)
    with pytest.raises(ConfigError, match="line 3 is corrupt"):
        read_deleted(path)


async def test_resume_sends_only_what_is_not_deleted(emulator: Emulator, tmp_path: Path) -> None:
    """After a run with permanent failures, --resume sends only the failed ids, once."""
    rows = single_id_rows(20)
    failing = {3, 7, 11}

    def plan(info: RequestInfo) -> Fault | None:
        return Fault("status", status=500) if info.person_id in failing else None

    emulator.fault_plan = plan
    first, _ = await sweep(emulator, tmp_path, csv_rows(rows), max_attempts=2)
    assert first.exit_code == 1
    emulator.fault_plan = None
    before = emulator.stats.total_requests
    second, ledger = await sweep(emulator, tmp_path, csv_rows(rows), resume=True)
    assert second.exit_code == 0
    assert emulator.stats.total_requests - before == len(failing)
    assert second.plan.already_deleted == 17
    last_run = final_states(ledger)
    assert {key[1] for key in last_run} == failing
    assert set(last_run.values()) == {"deleted"}
    third, _ = await sweep(emulator, tmp_path, csv_rows(rows), resume=True)
    assert third.exit_code == 0
    assert third.plan.requests == 0


async def test_resume_on_a_csv_ledger(emulator: Emulator, tmp_path: Path) -> None:
    """--resume works the same with a CSV ledger."""
    ledger = tmp_path / "ledger.csv"
    rows = single_id_rows(5)
    await sweep(emulator, tmp_path, csv_rows(rows[:3]), ledger=ledger)
    result, _ = await sweep(emulator, tmp_path, csv_rows(rows), ledger=ledger, resume=True)
    assert result.plan.already_deleted == 3
    assert result.plan.requests == 2
    assert len(ledger.read_text().splitlines()) == 1 + 5 + 2  # header, batches, run records


async def test_resume_refuses_a_corrupt_ledger_before_sending(
    emulator: Emulator, tmp_path: Path
) -> None:
    """A corrupt ledger stops --resume with a ConfigError (exit 2) and nothing sent."""
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_text('{"broken\n' + json.dumps({"status": "failed"}) + "\n")
    with pytest.raises(ConfigError):
        await sweep(emulator, tmp_path, csv_rows(single_id_rows(2)), resume=True)
    assert emulator.stats.total_requests == 0


# Characters that str.splitlines() treats as line ends although the ledger never does.
_SPLITLINES_ONLY = ["\u2028", "\u2029", "\x85", "\x1c", "\x1d", "\x1e", "\x0b", "\x0c"]


@pytest.mark.parametrize("name", ["ledger.jsonl", "ledger.csv"])
@pytest.mark.parametrize("separator", _SPLITLINES_ONLY)
def test_text_with_unicode_line_separators_reads_back(
    tmp_path: Path, name: str, separator: str
) -> None:
    """A workspace or message holding U+2028 and kin is one record, not a corrupt ledger."""
    path = tmp_path / name
    odd = DELETED._replace(workspace=f"a{separator}b", message=f"x{separator}y")
    write_ledger(path, odd, FAILED._replace(message=separator), DELETED)
    assert read_deleted(path) == {(f"a{separator}b", 1): {5, 6}, ("=ws", 1): {5, 6}}


# Text as hostile as the wire or the input can make it (see tests/test_ledger.py).
_HOSTILE = "\ud800\udfff\x00\r\n\u2028\u2029\x85\x1c\x0b\"',;\\=+-@'\t"
_text = st.text(st.characters(exclude_categories=()) | st.sampled_from(_HOSTILE), max_size=10)
_ids = st.lists(st.integers(min_value=1, max_value=2**63 - 1), min_size=1, max_size=4).map(tuple)
_records = st.builds(
    LedgerRecord,
    run_id=_text,
    status=st.sampled_from(["deleted", "failed", "skipped", "dry_run", "invalid"]),
    workspace=_text,
    person_id=st.integers(min_value=0, max_value=3),
    thumbnail_ids=_ids,
    code=st.none() | _text,
    message=st.none() | _text,
    error=st.none() | _text,
    line=st.none() | st.integers(min_value=1, max_value=99),
)


@settings(max_examples=200, deadline=None)
@given(records=st.lists(_records, max_size=6), name=st.sampled_from(["l.jsonl", "l.csv"]))
def test_resume_reads_back_exactly_the_deleted_ids_written(
    tmp_path_factory: pytest.TempPathFactory, records: list[LedgerRecord], name: str
) -> None:
    """Whatever text the records hold, --resume's reader returns exactly the deleted ids
    written, per (workspace, person), from a JSONL or a CSV ledger."""
    path = tmp_path_factory.mktemp("resume") / name
    write_ledger(path, *records)
    expected: dict[tuple[str, int], set[int]] = {}
    for record in records:
        if record.status == "deleted" and record.workspace is not None:
            key = (record.workspace, record.person_id or 0)
            expected.setdefault(key, set()).update(record.thumbnail_ids)
    assert read_deleted(path) == expected


def test_resume_streams_the_ledger_instead_of_loading_it(tmp_path: Path) -> None:
    """A --resume dry run over a ledger of ~10 MB holds a small fraction of it in memory."""
    ledger = tmp_path / "ledger.jsonl"
    done = DELETED._replace(message="success", http_status=200, code="0", attempts=1)
    write_ledger(ledger, *(done._replace(person_id=p, thumbnail_ids=(p,)) for p in range(40_000)))
    assert ledger.stat().st_size > 8_000_000
    source = tmp_path / "in.csv"
    source.write_text("workspace,person_id,thumbnail_id\n=ws,1,1\n=ws,2,2\n=ws,3,99\n")
    settings = load_settings({"ledger": ledger, "resume": True, "dry_run": True}, None)
    tracemalloc.start()
    try:
        result = asyncio.run(run(RunSetup.from_settings(settings), str(source), None))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (result.plan.already_deleted, result.plan.unique_ids) == (2, 1)
    assert peak < 2_000_000
