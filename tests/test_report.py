"""`thumbsweep report` over ledgers of real runs against the emulator: final states and counts
checked against what the emulator holds, across resumes, shards, faults, invalid rows and both
ledger formats."""

from __future__ import annotations

import signal
from pathlib import Path

from tests.cli import Thumbsweep, deleted_at_emulator, finish, ledger_lines, start_run, wait_until
from tests.e2e import csv_rows, read_ledger, single_id_rows, sweep
from tests.report_helpers import (
    LAST_THUMBNAIL,
    THROTTLED,
    UNAVAILABLE,
    Capture,
    json_report,
    plan,
    report,
)
from tests.report_page import flat, metrics, parse
from tests.report_page import rows as table_rows
from worker.emulator.app import Emulator

INVALID_ROW = "w,not-a-person,5\n"


def _held(emulator: Emulator, rows: list[tuple[str, int, int]]) -> set[tuple[str, int, int]]:
    """The rows whose thumbnail the emulator still holds."""
    return {(w, p, t) for w, p, t in rows if t in emulator.thumbnail_ids(w, p)}


async def test_report_after_faults_and_a_resume_matches_the_emulator(
    emulator: Emulator, tmp_path: Path, capsys: Capture
) -> None:
    """Two runs (a permanent refusal, a 503 until the resume, an invalid row): the report's
    final states are what the emulator holds, each run has its exit code and requests, and the
    HTML page of the same ledger shows the JSON report's numbers."""
    rows = single_id_rows(6)
    text = csv_rows(rows) + INVALID_ROW
    emulator.fault_plan = plan({2: LAST_THUMBNAIL, 3: UNAVAILABLE})
    first, _ = await sweep(emulator, tmp_path, text, max_attempts=2)
    requests_first = emulator.stats.total_requests
    emulator.fault_plan = plan({2: LAST_THUMBNAIL})
    second, _ = await sweep(emulator, tmp_path, text, max_attempts=2, resume=True)
    assert (first.exit_code, second.exit_code) == (1, 4)

    ledger = tmp_path / "ledger.jsonl"
    found = json_report(capsys, ledger)
    held = _held(emulator, rows)
    assert held == {("w", 2, 21)}
    head = found["headline"]
    assert head["ids"] == len(rows)
    assert head["deleted"] == len(rows) - len(held)
    assert head["needs_person"] == 1
    assert head["resumable"] == 0
    assert head["invalid_rows"] == 1  # recorded by both runs, counted once
    assert head["runs"] == 2
    assert found["final_status"] == {"deleted": 5, "failed": 1, "skipped": 0, "dry_run": 0}

    runs = found["runs"]
    assert [run["run_id"] for run in runs] == [first.run_id, second.run_id]
    assert [run["exit_code"] for run in runs] == [1, 4]
    assert runs[0]["requests"] == requests_first
    assert runs[1]["requests"] == emulator.stats.total_requests - requests_first
    assert runs[0]["retries"] == 1  # person 3 tried twice; a refusal is not retried
    assert runs[0]["ids"] == {"deleted": 4, "failed": 2, "skipped": 0, "dry_run": 0}
    assert runs[1]["ids"] == {"deleted": 1, "failed": 0, "skipped": 0, "dry_run": 0}
    assert runs[0]["host"] == emulator.base_url.split("//", 1)[1]
    assert runs[0]["throttled"] == 0
    assert all(run["records"] == len(run_records(ledger, run["run_id"])) for run in runs)

    refused, invalid = sorted(found["left"]["needs_person"], key=lambda g: g["status"])
    assert refused["status"] == "failed"
    assert (refused["http_status"], refused["code"]) == (400, "4001")
    assert refused["count"] == 1
    assert refused["examples"] == [{"workspace": "w", "person_id": 2, "thumbnail_id": 21}]
    assert invalid["status"] == "invalid"
    assert invalid["count"] == 1
    assert invalid["examples"] == [{"ledger": str(ledger), "line": 8}]
    assert found["left"]["resumable"] == []
    assert found["latency_ms"]["count"] == 6 + 1  # a batch record per person, 3 twice
    assert sum(bucket["count"] for bucket in found["latency_ms"]["histogram"]) == 7
    deleted_per_run = [sum(p["deleted"] for p in s["points"]) for s in found["timeline"]["series"]]
    assert deleted_per_run == [4, 1]

    # The HTML page of the same ledgers shows the JSON report's numbers.
    page = tmp_path / "report.html"
    code, out, err = report(capsys, ledger, "--format", "html", "--output", page)
    assert (code, out) == (0, ""), err
    root = parse(page.read_text(encoding="utf-8"))
    shown = metrics(root)
    for key, expected in head.items():
        assert shown[f"headline.{key}"] == expected, key
    for status, expected in found["final_status"].items():
        assert shown[f"final.{status}"] == expected, status
    for key in ("count", "p50", "p95", "p99", "max"):
        assert shown[f"latency.{key}"] == found["latency_ms"][key], key
    shown_runs = table_rows(root, "runs")
    assert len(shown_runs) == len(runs)
    for shown_run, run in zip(shown_runs, runs, strict=True):
        assert {"run_id", "exit_code", "requests", "retries", "throttled", "ids.deleted"} <= set(
            shown_run
        )
        assert shown_run == {key: flat(run)[key] for key in shown_run}


def run_records(ledger: Path, run_id: str) -> list[dict[str, object]]:
    """The batch and invalid-row records of one run."""
    return [record for record in read_ledger(ledger) if record["run_id"] == run_id]


async def test_report_over_shards_in_both_ledger_formats_with_429s(
    emulator: Emulator, tmp_path: Path, capsys: Capture
) -> None:
    """Two shards, one with a CSV ledger and one with JSON Lines, read by one glob: every id
    deleted, and the 429s the emulator sent are each run's `throttled` and in its timeline."""
    rows = single_id_rows(12)
    throttled = {1, 2, 3, 4, 5, 6}
    emulator.fault_plan = plan(dict.fromkeys(throttled, THROTTLED), first_only=throttled)
    text = csv_rows(rows)
    await sweep(emulator, tmp_path, text, shard="0/2", ledger=tmp_path / "sweep.csv")
    await sweep(emulator, tmp_path, text, shard="1/2", ledger=tmp_path / "sweep.jsonl")
    assert not _held(emulator, rows)
    shards = sorted(path.name for path in tmp_path.glob("sweep.shard-*"))
    assert shards == ["sweep.shard-0-of-2.csv", "sweep.shard-1-of-2.jsonl"]

    found = json_report(capsys, str(tmp_path / "sweep.shard-*"))
    assert found["headline"]["ids"] == found["headline"]["deleted"] == len(rows)
    assert found["headline"]["runs"] == 2
    assert sorted(Path(name).name for name in found["ledgers"]) == shards
    assert sum(run["throttled"] for run in found["runs"]) == emulator.stats.by_status["429"] == 6
    assert sum(run["retries"] for run in found["runs"]) == 6
    in_timeline = sum(p["throttled"] for s in found["timeline"]["series"] for p in s["points"])
    assert in_timeline == 6
    assert {run["shard"] for run in found["runs"]} == {"0/2", "1/2"}


async def test_report_of_a_state_emulator_names_unknown_persons_and_dry_runs(
    emulator: Emulator, tmp_path: Path, capsys: Capture
) -> None:
    """With the emulator's state (only known persons exist), an unknown person ends failed
    for good; a dry run's ids count as left for --resume until a run deletes them."""
    rows = single_id_rows(4)
    for workspace, person, thumbnail in rows[:3]:
        emulator.add_person(workspace, person, [thumbnail, thumbnail + 1])
    emulator.has_state = True
    text = csv_rows(rows)
    dry, _ = await sweep(emulator, tmp_path, text, dry_run=True)
    found = json_report(capsys, tmp_path / "ledger.jsonl")
    assert found["final_status"]["dry_run"] == 4
    assert found["headline"]["resumable"] == 4
    assert found["runs"][0]["dry_run"] is True
    assert found["runs"][0]["exit_code"] == dry.exit_code == 0

    await sweep(emulator, tmp_path, text, resume=True)
    found = json_report(capsys, tmp_path / "ledger.jsonl")
    assert found["final_status"] == {"deleted": 3, "failed": 1, "skipped": 0, "dry_run": 0}
    assert not _held(emulator, rows[:3])
    assert rows[3][:2] not in emulator.persons
    (unknown,) = found["left"]["needs_person"]
    assert unknown["http_status"] == 404
    assert unknown["examples"] == [{"workspace": "w", "person_id": 4, "thumbnail_id": 41}]


async def test_sigterm_and_resume_of_a_real_process_are_reported(
    slow_emulator: Emulator, tmp_path: Path, capsys: Capture
) -> None:
    """`thumbsweep run` stopped by SIGTERM, then resumed: the report gives the runs' exit
    codes (143, 0), the skipped ids as left for --resume after the first, and every id deleted
    after the second, as the emulator holds them."""
    rows = single_id_rows(40)
    (tmp_path / "in.csv").write_text(csv_rows(rows))
    ledger = tmp_path / "ledger.jsonl"
    cli = Thumbsweep()
    process = await start_run(cli, slow_emulator, tmp_path)
    await wait_until(lambda: ledger_lines(ledger) >= 6)
    process.send_signal(signal.SIGTERM)
    code, err = await finish(process)
    assert code == 143, err
    found = json_report(capsys, ledger)
    (run,) = found["runs"]
    assert run["exit_code"] == 143
    deleted = len(deleted_at_emulator(slow_emulator, rows))
    assert found["headline"]["deleted"] == deleted
    assert found["headline"]["resumable"] == len(rows) - deleted > 0
    assert {group["status"] for group in found["left"]["resumable"]} == {"skipped"}

    code, err = await finish(await start_run(cli, slow_emulator, tmp_path, "--resume"))
    assert code == 0, err
    found = json_report(capsys, ledger)
    assert [run["exit_code"] for run in found["runs"]] == [143, 0]
    assert found["headline"]["deleted"] == found["headline"]["ids"] == len(rows)
    assert len(deleted_at_emulator(slow_emulator, rows)) == len(rows)
