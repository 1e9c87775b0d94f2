"""What `thumbsweep report` reads: old ledgers without run records, torn and corrupt lines
(warned and counted, not refused), the run record in both formats (which every other reader
skips), and exit codes for ledgers and outputs that cannot be read or written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e import csv_rows, single_id_rows, sweep, write_ledger
from tests.report_helpers import Capture, json_report, report
from worker.cli import main
from worker.emulator.app import Emulator
from worker.records.record import LEGACY_CSV_COLUMNS, LedgerRecord, csv_line
from worker.records.resume import iter_outcomes
from worker.records.run_record import RUN_STATUS, run_facts
from worker.report.ledgers import Problems, read_records

CONTRACT_KEYS = {"report_version", "generated_at", "ledgers", "headline", "final_status",
                 "runs", "left", "timeline", "latency_ms"}  # fmt: skip
RUN_KEYS = {"run_id", "ledgers", "started", "ended", "duration_s", "ids", "records",
            "invalid_rows", "requests", "retries", "throttled", "ids_per_second", "exit_code",
            "host", "dry_run"}  # fmt: skip


def _old_records() -> list[LedgerRecord]:
    run = "20261124T140102Z-3f9a2c"
    return [
        LedgerRecord(
            run, "invalid", line=3, error="person_id 'x' is not a non-negative 64-bit integer"
        ),
        LedgerRecord(run, "deleted", "w", 1, (11, 12), 200, "0", "success", 1, 40),
        LedgerRecord(
            run, "failed", "w", 2, (21,), 503, None, "Endpoint Error", 6, 900, retryable=True
        ),
        LedgerRecord(
            run, "skipped", "w", 3, (31,), message="run stopped by SIGTERM", retryable=True
        ),
    ]


def test_old_ledger_without_run_records_still_reports(tmp_path: Path, capsys: Capture) -> None:
    """A ledger written before run records: runs are described from their records (start and
    end from the first and last `ts`), and what only a run record knows is null."""
    ledger = tmp_path / "old.jsonl"
    write_ledger(ledger, *_old_records())
    found = json_report(capsys, ledger)
    assert set(found) >= CONTRACT_KEYS
    (run,) = found["runs"]
    assert set(run) >= RUN_KEYS
    assert (run["exit_code"], run["host"], run["throttled"]) == (None, None, None)
    assert run["started"] == found["headline"]["first_ts"]
    assert run["requests"] == 1 + 6
    assert run["retries"] == 5
    assert found["headline"] | {"first_ts": None, "last_ts": None} == {
        "ids": 4, "deleted": 2, "needs_person": 0, "resumable": 2, "invalid_rows": 1, "runs": 1,
        "first_ts": None, "last_ts": None,
    }  # fmt: skip
    assert all(p["throttled"] is None for p in found["timeline"]["series"][0]["points"])
    resumable = {g["message"]: g["count"] for g in found["left"]["resumable"]}
    assert resumable == {"Endpoint Error": 1, "run stopped by SIGTERM": 1}
    assert found["latency_ms"]["p50"] == 40.0
    assert found["latency_ms"]["max"] == 900.0


def test_legacy_csv_ledger_reports(tmp_path: Path, capsys: Capture) -> None:
    """A CSV ledger with the columns from before `retryable` reports; its failures count as
    retryable, as --resume takes them."""
    ledger = tmp_path / "old.csv"
    lines = [",".join(LEGACY_CSV_COLUMNS) + "\n"]
    lines += [csv_line(record, "2026-11-24T14:01:02.000Z", LEGACY_CSV_COLUMNS)
              for record in _old_records()]  # fmt: skip
    ledger.write_text("".join(lines))
    found = json_report(capsys, ledger)
    assert found["final_status"] == {"deleted": 2, "failed": 1, "skipped": 1, "dry_run": 0}
    assert found["headline"]["resumable"] == 2


async def test_torn_and_corrupt_lines_are_counted_and_named_not_refused(
    emulator: Emulator, tmp_path: Path, capsys: Capture
) -> None:
    """A corrupt line in the middle and a torn last line: the report is written (exit 0) from
    the rest, counts both, and names them on stderr (where --resume would refuse)."""
    await sweep(emulator, tmp_path, csv_rows(single_id_rows(3)))
    ledger = tmp_path / "ledger.jsonl"
    lines = ledger.read_bytes().split(b"\n")
    ledger.write_bytes(b"\n".join([lines[0], b"{not json", *lines[1:]]) + b'{"ts":"20')
    code, out, err = report(capsys, ledger, "--format", "json")
    assert code == 0, err
    found = json.loads(out)
    assert found["unreadable_lines"]["corrupt"] == found["unreadable_lines"]["torn"] == 1
    assert found["headline"]["deleted"] == 3
    assert f"ledger '{ledger}' line 2: invalid JSON; left out" in err
    assert "Traceback" not in err


async def test_run_record_in_both_formats_is_skipped_by_resume(
    emulator: Emulator, tmp_path: Path
) -> None:
    """Each run ends its ledger with one run record (JSON fields, or a CSV line's `message`);
    --resume's reader and a second run appending to the ledger skip it."""
    for name in ("ledger.jsonl", "ledger.csv"):
        ledger = tmp_path / name
        text = csv_rows(single_id_rows(2))
        result, _ = await sweep(emulator, tmp_path, text, ledger=ledger, dry_run=True)
        again, _ = await sweep(emulator, tmp_path, text, ledger=ledger, resume=True)
        assert again.plan.already_deleted == 0
        assert again.plan.requests == 2
        records = [record for _, record in read_records(ledger, Problems())]
        runs = [record for record in records if record["status"] == RUN_STATUS]
        assert [run["run_id"] for run in runs] == [result.run_id, again.run_id]
        facts = run_facts(runs[0])
        assert (facts["exit_code"], facts["dry_run"], facts["attempts"]) == (0, True, 0)
        assert run_facts(runs[1])["attempts"] == 2
        assert {past.status for past in iter_outcomes(ledger)} == {"deleted"}
        assert "secret" not in ledger.read_text()


def test_missing_ledger_and_unmatched_glob_exit_2(tmp_path: Path, capsys: Capture) -> None:
    """A ledger that is not there, or a glob matching nothing: exit 2, one line, no report."""
    for target in (tmp_path / "nope.jsonl", tmp_path / "shard-*.jsonl"):
        code, out, err = report(capsys, target)
        assert (code, out) == (2, "")
        assert "Traceback" not in err
        assert len(err.strip().splitlines()) == 1
    write_ledger(tmp_path / "l.jsonl", *_old_records())
    code, _, err = report(capsys, tmp_path / "l.jsonl", "--person", "no-slash")
    assert code == 2, err


def test_unwritable_output_exits_74_and_leaves_nothing(tmp_path: Path, capsys: Capture) -> None:
    """--output or --failed-out in a missing directory: exit 74, no file, no traceback."""
    ledger = tmp_path / "l.jsonl"
    write_ledger(ledger, *_old_records())
    for flag in ("--output", "--failed-out"):
        code, _, err = report(capsys, ledger, flag, tmp_path / "missing" / "out")
        assert code == 74, err
        assert "Traceback" not in err
    assert not (tmp_path / "missing").exists()


def test_text_and_html_outputs(tmp_path: Path, capsys: Capture) -> None:
    """The text report shows the headline and reasons; --format html writes one page."""
    ledger = tmp_path / "l.jsonl"
    write_ledger(ledger, *_old_records())
    code, out, _ = report(capsys, ledger)
    assert code == 0
    assert "4 requested, 2 deleted, 0 need a person" in out
    assert "run stopped by SIGTERM" in out
    page = tmp_path / "report.html"
    code, out, _ = report(capsys, ledger, "--format", "html", "--output", page)
    assert (code, out) == (0, "")
    assert "<html" in page.read_text()


def test_report_exit_codes_agree_in_help_and_readme(capsys: Capture) -> None:
    """`report --help` and README's table of the report's exit codes list the same codes."""
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    out = capsys.readouterr().out
    help_codes = {line.split()[0] for line in out.split("exit codes:", 1)[1].splitlines()
                  if line.strip()}  # fmt: skip
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("Exit codes of `thumbsweep report`", 1)[1].split("\n## ", 1)[0]
    rows = [row.split("|")[1].strip() for row in section.splitlines() if row.startswith("| ")]
    assert help_codes == set(rows[1:]) == {"0", "2", "74"}


async def test_a_run_appending_to_a_legacy_csv_ledger_writes_its_run_record_in_its_columns(
    emulator: Emulator, tmp_path: Path, capsys: Capture
) -> None:
    """A CSV ledger from before `retryable`: a new run appends to it in its own columns, run
    record included; --resume and the report still read the whole file."""
    ledger = tmp_path / "old.csv"
    header = ",".join(LEGACY_CSV_COLUMNS) + "\n"
    ledger.write_text(header + csv_line(_old_records()[1], "2026-11-24T14:01:02.000Z",
                                        LEGACY_CSV_COLUMNS))  # fmt: skip
    result, _ = await sweep(emulator, tmp_path, csv_rows(single_id_rows(3)), ledger=ledger,
                            resume=True)  # fmt: skip
    assert result.plan.already_deleted == 1  # w/1/11 from the old record
    lines = ledger.read_text().splitlines()
    assert lines[0] == header.strip()
    assert {len(line.split(",")) for line in lines[1:-1]} == {len(LEGACY_CSV_COLUMNS)}
    found = json_report(capsys, ledger)
    assert found["headline"]["deleted"] == found["headline"]["ids"] == 4  # 11, 12, 21, 31
    assert [run["exit_code"] for run in found["runs"]] == [None, 0]
