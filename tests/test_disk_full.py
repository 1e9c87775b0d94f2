"""A ledger on a full disk (a small tmpfs): nothing is lost, nothing half-written, exit 74.

Mounting a tmpfs needs root; elsewhere these tests skip and say why.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli import thumbsweep
from tests.e2e import csv_rows, read_ledger, single_id_rows
from worker.emulator.app import Emulator


def _mount_tmpfs(where: Path, size: str) -> str | None:
    """Mount a tmpfs of `size` at `where`; None, or why it cannot be done here."""
    if os.geteuid() != 0:
        return "mounting a small tmpfs needs root"
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return None if done.returncode == 0 else f"cannot mount a tmpfs: {done.stderr.strip()}"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 KiB tmpfs, unmounted afterwards."""
    where = tmp_path / "small"
    why = _mount_tmpfs(where, "24k")
    if why is not None:
        pytest.skip(f"disk-full test skipped: {why}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _printed_records(stderr: str) -> list[dict[str, Any]]:
    """The JSON ledger lines thumbsweep printed on stderr for outcomes it could not write."""
    records = []
    for line in stderr.splitlines():
        if line.startswith("{") and '"status"' in line:
            records.append(json.loads(line))
    return records


async def test_full_disk_loses_no_outcome_and_resume_continues(
    emulator: Emulator, tmp_path: Path, small_disk: Path
) -> None:
    """The ledger fills its disk mid-run: no new request starts, the ledger keeps only complete
    lines, every outcome not written is printed as its JSON line, --failed-out is not left
    looking complete, the message names the file and the error, exit 74; after space is freed,
    --resume finishes the job."""
    rows = single_id_rows(400)
    manifest = tmp_path / "in.csv"
    manifest.write_text(csv_rows(rows))
    ledger = small_disk / "ledger.jsonl"
    failed_out = small_disk / "failed.csv"
    metrics = small_disk / "thumbsweep.prom"
    code, _, err = await thumbsweep.run(
        "run", str(manifest), "--base-url", emulator.base_url, "--ledger", str(ledger),
        "--failed-out", str(failed_out), "--concurrency", "4",
        "--metrics-file", str(metrics), "--progress-interval", "0.01", limit=120,
    )  # fmt: skip
    assert code == 74, err
    assert "Traceback" not in err
    assert f"cannot write the ledger '{ledger}'" in err
    assert "No space left on device" in err
    assert "--resume" in err
    assert ledger.read_bytes().endswith(b"\n")  # complete lines only
    written = read_ledger(ledger)
    printed = _printed_records(err)
    assert written
    assert printed
    every = written + printed
    keys = [(r["workspace"], r["person_id"], i) for r in every for i in r["thumbnail_ids"]]
    assert sorted(keys) == sorted(rows)  # each id in exactly one record
    deleted = {r["person_id"] for r in every if r["status"] == "deleted"}
    sent = [(w, p, t) for w, p, t in rows if (w, p) in emulator.persons]
    applied = {p for w, p, t in sent if t not in emulator.thumbnail_ids(w, p)}
    assert deleted == applied
    # no request started after the failure beyond those already in flight
    assert sum(r["attempts"] for r in every) == emulator.stats.total_requests
    assert emulator.stats.total_requests < len(rows)
    assert not failed_out.exists()
    assert not list(small_disk.glob("failed.csv*"))
    assert '"event":"progress"' in err  # the metrics file was written while running
    assert "cannot write the final metrics file" in err
    assert not metrics.exists()

    remount = await asyncio.create_subprocess_exec(
        "mount", "-o", "remount,size=4m", str(small_disk)
    )
    assert await remount.wait() == 0
    code, _, err = await thumbsweep.run(
        "run",
        str(manifest),
        "--base-url",
        emulator.base_url,
        "--ledger",
        str(ledger),
        "--resume",
        limit=120,
    )
    assert code == 0, err
    for workspace, person, thumbnail in rows:
        assert thumbnail not in emulator.thumbnail_ids(workspace, person)


async def test_csv_ledger_that_cannot_get_its_header_stops_before_sending(
    emulator: Emulator, tmp_path: Path, small_disk: Path
) -> None:
    """A new CSV ledger on a full disk: exit 74 before any request, with a clear message."""
    (small_disk / "filler").write_bytes(b"x" * 24 * 1024)
    manifest = tmp_path / "in.csv"
    manifest.write_text(csv_rows(single_id_rows(3)))
    ledger = small_disk / "ledger.csv"
    code, _, err = await thumbsweep.run(
        "run", str(manifest), "--base-url", emulator.base_url, "--ledger", str(ledger), limit=120
    )
    assert code == 74, err
    assert "No space left on device" in err
    assert "Traceback" not in err
    assert emulator.stats.total_requests == 0


def test_report_whose_working_database_fills_its_directory_exits_74(
    tmp_path: Path, small_disk: Path
) -> None:
    """`thumbsweep report` keeps its per-id states in a temporary SQLite database under
    $TMPDIR; when that directory is full the report says so in one line and exits 74."""
    ledger = tmp_path / "ledger.jsonl"
    with ledger.open("w", encoding="utf-8") as out:
        for person in range(30_000):
            out.write(json.dumps({
                "ts": "2026-11-30T10:00:00.000Z", "run_id": "r1", "workspace": "ws",
                "person_id": person, "thumbnail_ids": [person * 10], "status": "deleted",
                "http_status": 200, "code": "0", "message": "success", "attempts": 1,
                "elapsed_ms": 5, "remaining_thumbnail_ids": None,
                "primary_thumbnail_id": None, "retryable": None,
            }) + "\n")  # fmt: skip
    # A page cache of 64 KiB (not 64 MiB) makes the database spill to its file at this size.
    program = (
        "import sys, worker.report.final_states as states; states._CACHE_KIB = 64; "
        "from worker.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    env = {**os.environ, "TMPDIR": str(small_disk)}
    env.pop("SQLITE_TMPDIR", None)
    done = subprocess.run(
        [sys.executable, "-c", program, "report", str(ledger), "--format", "json"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 74, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert str(small_disk) in lines[0]
    assert "full" in lines[0]
    assert "TMPDIR" in lines[0]
