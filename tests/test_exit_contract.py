"""Exit codes a cron loop can act on (0 done, 1 a --resume can progress, 4 a person must look),
`retryable` on every failed and skipped record, and a --resume that converges."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.cli import thumbsweep
from tests.e2e import csv_rows, read_ledger, single_id_rows, sweep, write_ledger
from worker.emulator.app import Emulator
from worker.emulator.faults import Fault, FaultPlan, RequestInfo
from worker.errors import ExitCode
from worker.records.record import LedgerRecord

LAST_THUMBNAIL = Fault(
    "raw",
    status=400,
    body=json.dumps({"code": "4001", "message": "cannot remove the last thumbnail"}).encode(),
)


def _refuse(persons: set[int], fault: Fault = LAST_THUMBNAIL) -> FaultPlan:
    """A fault plan answering every request for `persons` with `fault`."""

    def plan(info: RequestInfo) -> Fault | None:
        return fault if info.person_id in persons else None

    return plan


def _statuses(records: list[dict[str, object]]) -> dict[int, tuple[object, object]]:
    """Each person's (status, retryable) in the given records (one id per person)."""
    return {int(str(r["person_id"])): (r["status"], r.get("retryable")) for r in records}


async def test_permanent_refusal_exits_4_and_is_not_retryable(
    emulator: Emulator, tmp_path: Path
) -> None:
    """A batch the API refuses for good (last thumbnail) ends failed, retryable false, exit 4."""
    emulator.fault_plan = _refuse({2})
    result, ledger = await sweep(emulator, tmp_path, csv_rows(single_id_rows(3)))
    assert result.exit_code == 4
    states = _statuses(ledger)
    assert states[2] == ("failed", False)
    assert states[1][0] == states[3][0] == "deleted"


async def test_transient_failure_left_exits_1_and_is_retryable(
    emulator: Emulator, tmp_path: Path
) -> None:
    """Attempts run out on 503s: failed, retryable true, exit 1, even beside a permanent one."""
    plans = {1: Fault("status", status=503), 2: LAST_THUMBNAIL}

    def plan(info: RequestInfo) -> Fault | None:
        return plans.get(info.person_id)

    emulator.fault_plan = plan
    result, ledger = await sweep(emulator, tmp_path, csv_rows(single_id_rows(3)), max_attempts=2)
    assert result.exit_code == 1
    states = _statuses(ledger)
    assert states[1] == ("failed", True)
    assert states[2] == ("failed", False)


@pytest.mark.parametrize(
    ("fault", "retryable"),
    [
        (Fault("redirect", status=307, location="https://elsewhere.example/x"), False),
        (Fault("raw", status=404, body=b'{"code":"404","message":"no such person"}'), False),
        (Fault("keep_ids", applied=0), True),
        (Fault("raw", status=429, body=b"{}"), True),
    ],
)
async def test_which_failures_are_permanent(
    emulator: Emulator, tmp_path: Path, fault: Fault, retryable: bool
) -> None:
    """Redirects and 4xx refusals are permanent; throttling and a success that still lists the
    ids are retryable."""
    emulator.fault_plan = _refuse({1}, fault)
    result, ledger = await sweep(emulator, tmp_path, csv_rows(single_id_rows(1)), max_attempts=2)
    assert _statuses(ledger)[1] == ("failed", retryable)
    assert result.exit_code == (ExitCode.INCOMPLETE if retryable else ExitCode.NEEDS_PERSON)


async def test_invalid_rows_alone_exit_4(emulator: Emulator, tmp_path: Path) -> None:
    """Invalid rows need a person, not a retry: everything else deleted gives exit 4."""
    text = csv_rows(single_id_rows(2)) + "w,not-a-number,5\n"
    result, _ = await sweep(emulator, tmp_path, text)
    assert result.exit_code == ExitCode.NEEDS_PERSON


async def test_resume_holds_back_permanent_failures_and_converges(
    emulator: Emulator, tmp_path: Path
) -> None:
    """--resume leaves out permanently refused ids (counted in the plan), exits 4 at once, and
    --retry-permanent sends them again."""
    rows = csv_rows(single_id_rows(4))
    emulator.fault_plan = _refuse({2})
    first, _ = await sweep(emulator, tmp_path, rows)
    assert first.exit_code == ExitCode.NEEDS_PERSON
    before = emulator.stats.total_requests
    second, _ = await sweep(emulator, tmp_path, rows, resume=True)
    assert emulator.stats.total_requests == before  # the refused batch is not sent again
    assert (second.plan.already_deleted, second.plan.permanent_failures) == (3, 1)
    assert second.exit_code == ExitCode.NEEDS_PERSON
    emulator.fault_plan = None
    third, ledger = await sweep(emulator, tmp_path, rows, resume=True, retry_permanent=True)
    assert emulator.stats.total_requests == before + 1
    assert third.exit_code == ExitCode.OK
    assert ledger[-1]["status"] == "deleted"


async def test_resume_resends_when_the_latest_record_is_retryable(
    emulator: Emulator, tmp_path: Path
) -> None:
    """Only the latest record counts: a permanent failure followed by a skip is sent again;
    an old record without `retryable` is sent again, as before the field existed."""
    ledger = tmp_path / "ledger.jsonl"
    refused = LedgerRecord("r1", "failed", "w", 1, (11,), 400, retryable=False)
    write_ledger(ledger, refused, refused._replace(status="skipped", retryable=True))
    old = {
        "ts": "t",
        "run_id": "r0",
        "workspace": "w",
        "person_id": 2,
        "thumbnail_ids": [21],
        "status": "failed",
        "http_status": 400,
        "code": None,
        "message": "x",
        "attempts": 1,
        "elapsed_ms": 1,
        "remaining_thumbnail_ids": None,
        "primary_thumbnail_id": None,
    }
    with ledger.open("a") as handle:
        handle.write(json.dumps(old) + "\n")
    result, _ = await sweep(emulator, tmp_path, csv_rows(single_id_rows(2)), resume=True)
    assert result.plan.permanent_failures == 0
    assert emulator.stats.total_requests == 2
    assert result.exit_code == ExitCode.OK


async def test_csv_ledger_carries_retryable_and_resume_reads_it(
    emulator: Emulator, tmp_path: Path
) -> None:
    """A CSV ledger has a `retryable` column, and --resume holds back its permanent failures."""
    ledger = tmp_path / "ledger.csv"
    emulator.fault_plan = _refuse({1})
    text = csv_rows(single_id_rows(2))
    await sweep(emulator, tmp_path, text, ledger=ledger)
    rows = [r for r in csv.DictReader(ledger.read_text().splitlines()) if r["status"] != "run"]
    assert sorted((row["status"], row["retryable"]) for row in rows) == [
        ("deleted", ""),
        ("failed", "false"),
    ]
    before = emulator.stats.total_requests
    result, _ = await sweep(emulator, tmp_path, text, ledger=ledger, resume=True)
    assert emulator.stats.total_requests == before
    assert result.plan.permanent_failures == 1


async def test_old_csv_ledger_without_retryable_still_resumes(
    emulator: Emulator, tmp_path: Path
) -> None:
    """A CSV ledger written before `retryable` existed is resumed and appended to; its failed
    rows are sent again (today's rule)."""
    ledger = tmp_path / "ledger.csv"
    old_columns = (
        "ts,run_id,workspace,person_id,thumbnail_ids,status,http_status,code,message,"
        "attempts,elapsed_ms,remaining_thumbnail_ids,primary_thumbnail_id,line,error"
    )
    ledger.write_text(old_columns + "\nt,r0,w,1,11,failed,400,,x,1,1,,,,\nt,r0,w,2,21,deleted,"
                      "200,0,,1,1,,,,\n")  # fmt: skip
    result, _ = await sweep(emulator, tmp_path, csv_rows(single_id_rows(2)), ledger=ledger,
                            resume=True)  # fmt: skip
    assert result.exit_code == ExitCode.OK
    assert (result.plan.already_deleted, result.plan.requests) == (1, 1)
    again, _ = await sweep(emulator, tmp_path, csv_rows(single_id_rows(2)), ledger=ledger,
                           resume=True)  # fmt: skip
    assert (again.plan.already_deleted, again.plan.requests) == (2, 0)


async def test_skipped_records_are_retryable(emulator: Emulator, tmp_path: Path) -> None:
    """Batches left unsent by a guard stop are skipped with retryable true."""
    result, ledger = await sweep(
        emulator, tmp_path, csv_rows(single_id_rows(3)), base_url="http://127.0.0.1:9",
        max_attempts=1, concurrency=1, breaker_min_batches=1, max_failure_rate=0.1,
    )  # fmt: skip
    assert result.exit_code == ExitCode.GUARD
    skipped = [r for r in ledger if r["status"] == "skipped"]
    assert skipped
    assert all(r["retryable"] is True for r in skipped)
    assert read_ledger(tmp_path / "ledger.jsonl") == ledger


async def test_zero_byte_input_exits_2_and_header_only_exits_0(tmp_path: Path) -> None:
    """An empty input (a failed `psql | thumbsweep run -`) is an error; a header alone is an
    empty job."""
    ledger = str(tmp_path / "ledger.jsonl")
    empty = await thumbsweep.run("run", "-", "--ledger", ledger, "--dry-run", input=b"")
    assert empty.code == ExitCode.USAGE, empty.err
    assert "empty" in empty.err
    source = tmp_path / "empty.csv"
    source.write_bytes(b"")
    assert (await thumbsweep.run("run", str(source), "--ledger", ledger)).code == ExitCode.USAGE
    source.write_text("workspace,person_id,thumbnail_id\n")
    header_only = await thumbsweep.run("run", str(source), "--ledger", ledger)
    assert header_only.code == ExitCode.OK, header_only.err
