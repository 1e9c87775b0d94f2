"""One run per ledger: a real `thumbsweep run` holds an exclusive lock on its ledger for the whole
run, and a ledger that is the input itself is refused. Each test runs the CLI in subprocesses.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from pathlib import Path

import pytest

from tests.cli import DEVNULL, PIPE, finish, ledger_lines, thumbsweep, wait_until
from tests.e2e import SECRET_KEY, csv_rows, final_states, read_ledger, single_id_rows
from worker.emulator.app import Emulator

EX_TEMPFAIL = 75


async def start(*args: str, stdin_open: bool = False) -> asyncio.subprocess.Process:
    """Start `python -m worker ARGS`; with `stdin_open` its stdin is a pipe that never ends."""
    return await thumbsweep.start(*args, stdin=PIPE if stdin_open else DEVNULL)


def holder_written(lock: Path, pid: int) -> bool:
    """The lock file names `pid` as its holder."""
    return lock.exists() and f'"pid": {pid}' in lock.read_text()


async def test_second_run_exits_75_without_reading_input_naming_the_holder(
    slow_emulator: Emulator, tmp_path: Path
) -> None:
    """While a run sends, a second run on its ledger exits 75 at once, before reading its
    (never-ending) stdin, naming the ledger and the holder's pid, host and start time."""
    rows = single_id_rows(40)
    (tmp_path / "in.csv").write_text(csv_rows(rows))
    ledger = tmp_path / "ledger.jsonl"
    common = ("--base-url", slow_emulator.base_url, "--ledger", str(ledger), "--concurrency", "4")
    first = await start("run", str(tmp_path / "in.csv"), *common)
    await wait_until(lambda: ledger_lines(ledger) >= 4)
    second = await start("run", "-", *common, stdin_open=True)
    code, err = await finish(second, limit=15)
    assert code == EX_TEMPFAIL, err
    assert str(ledger) in err
    assert f"pid {first.pid}" in err
    assert socket.gethostname() in err
    assert "started" in err
    assert "Traceback" not in err
    assert SECRET_KEY not in err
    code, err = await finish(first)
    assert code == 0, err
    assert set(final_states(read_ledger(ledger)).values()) == {"deleted"}


async def test_overlapping_cron_runs_delete_each_id_once(
    slow_emulator: Emulator, tmp_path: Path
) -> None:
    """Two runs of the same command overlapping: the second sends nothing, each id is sent once."""
    rows = single_id_rows(30)
    (tmp_path / "in.csv").write_text(csv_rows(rows))
    ledger = tmp_path / "ledger.jsonl"
    command = ("run", str(tmp_path / "in.csv"), "--base-url", slow_emulator.base_url,
               "--ledger", str(ledger), "--concurrency", "2", "--resume")  # fmt: skip
    first = await start(*command)
    await wait_until(lambda: slow_emulator.stats.total_requests >= 2)
    second = await start(*command)
    second_code, second_err = await finish(second)
    first_code, first_err = await finish(first)
    assert (first_code, second_code) == (0, EX_TEMPFAIL), first_err + second_err
    assert set(slow_emulator.stats.per_id.values()) == {1}
    assert len(read_ledger(ledger)) == len(rows)


async def test_dry_run_holds_the_lock_and_a_killed_holder_leaves_no_obstacle(
    tmp_path: Path,
) -> None:
    """A dry run holds the lock too (exit 75 for a second one); after `kill -9` of the holder the
    lock file it leaves behind does not stop the next run."""
    (tmp_path / "in.csv").write_text(csv_rows(single_id_rows(3)))
    ledger = tmp_path / "ledger.jsonl"
    lock = tmp_path / "ledger.jsonl.lock"
    holder = await start("run", "-", "--dry-run", "--ledger", str(ledger), stdin_open=True)
    await wait_until(lambda: holder_written(lock, holder.pid))
    dry = ("run", str(tmp_path / "in.csv"), "--dry-run", "--ledger", str(ledger))
    code, err = await finish(await start(*dry))
    assert code == EX_TEMPFAIL, err
    holder.kill()
    await finish(holder)
    assert lock.exists()  # left behind, still naming the dead holder
    code, err = await finish(await start(*dry))
    assert code == 0, err
    assert [r["status"] for r in read_ledger(ledger)] == ["dry_run"] * 3


async def test_shards_lock_their_own_ledgers(tmp_path: Path) -> None:
    """With --shard each shard locks its own ledger, so shards of one input run side by side."""
    (tmp_path / "in.csv").write_text(csv_rows(single_id_rows(20)))
    ledger = tmp_path / "ledger.jsonl"
    shard0 = await start(
        "run", "-", "--dry-run", "--ledger", str(ledger), "--shard", "0/2", stdin_open=True
    )
    shard0_lock = tmp_path / "ledger.shard-0-of-2.jsonl.lock"
    await wait_until(lambda: holder_written(shard0_lock, shard0.pid))
    shard1 = ("run", str(tmp_path / "in.csv"), "--dry-run", "--ledger", str(ledger), "--shard")
    code, err = await finish(await start(*shard1, "1/2"))
    assert code == 0, err
    shard0.kill()
    await finish(shard0)


async def test_lock_that_cannot_be_created_is_a_clear_error(
    emulator: Emulator, tmp_path: Path
) -> None:
    """When the lock file cannot be created (here its path is a directory): exit 2, one line
    naming the lock file, nothing sent, the ledger untouched."""
    (tmp_path / "in.csv").write_text(csv_rows(single_id_rows(3)))
    ledger = tmp_path / "ledger.jsonl"
    (tmp_path / "ledger.jsonl.lock").mkdir()
    source = str(tmp_path / "in.csv")
    process = await start("run", source, "--base-url", emulator.base_url, "--ledger", str(ledger))
    code, err = await finish(process)
    assert code == 2, err
    assert "ledger.jsonl.lock" in err
    assert len(err.strip().splitlines()) == 1
    assert emulator.stats.total_requests == 0
    assert not ledger.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
async def test_lock_in_read_only_directory_exits_2(emulator: Emulator, tmp_path: Path) -> None:
    """An existing ledger in a directory thumbsweep cannot write to: exit 2, nothing sent."""
    (tmp_path / "in.csv").write_text(csv_rows(single_id_rows(3)))
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "ledger.jsonl").write_text("")
    folder.chmod(0o555)
    try:
        ledger = str(folder / "ledger.jsonl")
        source = str(tmp_path / "in.csv")
        process = await start("run", source, "--base-url", emulator.base_url, "--ledger", ledger)
        code, err = await finish(process)
    finally:
        folder.chmod(0o755)
    assert code == 2, err
    assert "lock" in err
    assert emulator.stats.total_requests == 0


@pytest.mark.parametrize("how", ["same path", "symlink", "stdin"])
async def test_ledger_that_is_the_input_is_refused(
    emulator: Emulator, tmp_path: Path, how: str
) -> None:
    """A ledger that is the input file itself (by path, link or redirected stdin): exit 2, one
    clear line, nothing sent, nothing written (not even a lock file)."""
    manifest = tmp_path / "in.jsonl"
    manifest.write_text(json.dumps({"workspace": "w", "person_id": 1, "thumbnail_id": 2}) + "\n")
    before = manifest.read_bytes()
    ledger = manifest
    if how == "symlink":
        ledger = tmp_path / "ledger.jsonl"
        ledger.symlink_to(manifest)
    source = "-" if how == "stdin" else str(manifest)
    with manifest.open("rb") as stdin:
        process = await thumbsweep.start(
            "run", source, "--base-url", emulator.base_url, "--ledger", str(ledger), stdin=stdin
        )
        code, err = await finish(process)
    assert code == 2, err
    assert "is the input" in err
    assert len(err.strip().splitlines()) == 1
    assert manifest.read_bytes() == before
    assert emulator.stats.total_requests == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["in.jsonl"] + (["ledger.jsonl"] if how == "symlink" else [])
    )
