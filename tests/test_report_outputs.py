"""`thumbsweep report`'s outputs: lookups, the per-id CSV (formula-safe), --failed-out fed
back to `run`, text and html, --output, and exit codes for what cannot be read or written."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tests.e2e import csv_rows, single_id_rows, sweep, sweep_source
from tests.report_helpers import LAST_THUMBNAIL, UNAVAILABLE, Capture, json_report, plan, report
from worker.emulator.app import Emulator
from worker.records.failed_out import HEADER
from worker.records.record import unescape_csv_cell
from worker.report.csv_tables import ID_COLUMNS


async def _two_runs(emulator: Emulator, tmp_path: Path) -> tuple[str, str, Path]:
    """Run 1: person 2 refused for good, person 3 503s; run 2 (--resume) deletes person 3."""
    text = csv_rows(single_id_rows(4))
    emulator.fault_plan = plan({2: LAST_THUMBNAIL, 3: UNAVAILABLE})
    first, _ = await sweep(emulator, tmp_path, text, max_attempts=1)
    emulator.fault_plan = plan({2: LAST_THUMBNAIL})
    second, _ = await sweep(emulator, tmp_path, text, resume=True)
    return first.run_id, second.run_id, tmp_path / "ledger.jsonl"


async def test_person_lookup_lists_every_record_in_order_and_the_final_state(
    emulator: Emulator, tmp_path: Path, capsys: Capture
) -> None:
    """--person w/3: its failed record, then the deletion; final state deleted by run 2."""
    first, second, ledger = await _two_runs(emulator, tmp_path)
    found = json_report(capsys, ledger, "--person", "w/3")
    assert [(r["run_id"], r["status"]) for r in found["records"]] == [
        (first, "failed"),
        (second, "deleted"),
    ]
    assert all(r["ledger"] == str(ledger) and r["line"] >= 1 for r in found["records"])
    (state,) = found["final"]
    assert (state["thumbnail_id"], state["status"], state["run_id"]) == (31, "deleted", second)
    code, out, _ = report(capsys, ledger, "--person", "w/3")
    assert code == 0
    assert out.count("  run ") == 2
    assert "w/3/31  deleted" in out


async def test_id_lookup_shows_a_permanent_failure(
    emulator: Emulator, tmp_path: Path, capsys: Capture
) -> None:
    """--id 21 (person 2's): one failed record, final state failed, retryable false."""
    first, _, ledger = await _two_runs(emulator, tmp_path)
    found = json_report(capsys, ledger, "--id", "21")
    assert [(r["run_id"], r["status"], r["http_status"]) for r in found["records"]] == [
        (first, "failed", 400)
    ]
    assert [(s["status"], s["retryable"]) for s in found["final"]] == [("failed", False)]
    code, out, _ = report(capsys, ledger, "--id", "21", "--format", "csv")
    assert code == 0
    (row,) = csv.DictReader(io.StringIO(out))
    assert (row["status"], row["retryable"], row["thumbnail_ids"]) == ("failed", "false", "21")


async def test_csv_report_is_one_formula_safe_row_per_id(
    emulator: Emulator, tmp_path: Path, capsys: Capture
) -> None:
    """--format csv: the columns named by the issue first, one row per id, and a workspace a
    spreadsheet would run as a formula is written with a leading quote (read back exactly)."""
    hostile = ['=HYPERLINK("http://x")', "+1", "@SUM(A1)", "-2", 'plain, "quoted"']
    rows = [(workspace, 7, 70 + n) for n, workspace in enumerate(hostile)]
    await sweep(emulator, tmp_path, csv_rows(rows))
    out_path = tmp_path / "ids.csv"
    code, out, err = report(capsys, tmp_path / "ledger.jsonl", "--format", "csv", "--output",
                            out_path)  # fmt: skip
    assert (code, out) == (0, ""), err
    table = list(csv.reader(io.StringIO(out_path.read_text(encoding="utf-8"))))
    assert tuple(table[0]) == ID_COLUMNS
    assert table[0][:7] == ["workspace", "person_id", "thumbnail_id", "status", "retryable",
                            "ts", "run_id"]  # fmt: skip
    cells = [row[0] for row in table[1:]]
    assert not [cell for cell in cells if cell[0] in "=+-@"]
    assert sorted(unescape_csv_cell(cell) for cell in cells) == sorted(hostile)
    assert {row[3] for row in table[1:]} == {"deleted"}


async def test_failed_out_feeds_back_into_run(
    emulator: Emulator, tmp_path: Path, capsys: Capture
) -> None:
    """--failed-out writes what a --resume would send, in run --failed-out's format (permanent
    failures only with --retry-permanent); `run` accepts it and deletes those ids."""
    rows = single_id_rows(5)
    emulator.fault_plan = plan({2: UNAVAILABLE, 4: UNAVAILABLE, 5: LAST_THUMBNAIL})
    run_failed_out = tmp_path / "run-failed.csv"
    await sweep(emulator, tmp_path, csv_rows(rows), max_attempts=1, failed_out=run_failed_out)
    ledger = tmp_path / "ledger.jsonl"
    left = tmp_path / "left.csv"
    code, _, err = report(capsys, ledger, "--failed-out", left)
    assert code == 0, err
    lines = left.read_text().splitlines()
    assert lines == [",".join(HEADER), "w,2,21", "w,4,41"]
    everything = tmp_path / "everything.csv"
    assert report(capsys, ledger, "--failed-out", everything, "--retry-permanent")[0] == 0
    # the same rows as the run's own --failed-out (which lists every id not deleted)
    assert sorted(everything.read_text().splitlines()) == sorted(
        run_failed_out.read_text().splitlines()
    )
    emulator.fault_plan = None
    (tmp_path / "again").mkdir()
    again, _ = await sweep_source(emulator, tmp_path / "again", left)
    assert again.exit_code == 0
    assert again.stats.ids["deleted"] == 2
    assert not [t for w, p, t in rows[:4] if t in emulator.thumbnail_ids(w, p)]


async def test_person_and_id_together_narrow_the_lookup(
    emulator: Emulator, tmp_path: Path, capsys: Capture
) -> None:
    """--person w/3 --id 31 is that id of that person; --id of another person's id finds
    nothing (exit 0, no record); a lookup refuses --format html and --failed-out (exit 2)."""
    _, second, ledger = await _two_runs(emulator, tmp_path)
    found = json_report(capsys, ledger, "--person", "w/3", "--id", "31")
    assert [s["run_id"] for s in found["final"]] == [second]
    assert len(found["records"]) == 2
    found = json_report(capsys, ledger, "--person", "w/3", "--id", "21")
    assert (found["records"], found["final"]) == ([], [])
    for extra in (("--format", "html"), ("--failed-out", str(tmp_path / "x.csv"))):
        code, out, err = report(capsys, ledger, "--id", "21", *extra)
        assert (code, out) == (2, ""), err
