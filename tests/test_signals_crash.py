"""Stopping a real `thumbsweep run` process: SIGTERM drain, SIGINT twice, PID 1, and kill -9,
each on asyncio's event loop and on uvloop.

The emulator runs in the test's event loop; thumbsweep runs as a child process against it, so
signals, exit codes and the ledger on disk are exactly what a user or Kubernetes would see.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli import (
    Thumbsweep,
    check_consistent,
    deleted_at_emulator,
    finish,
    ledger_lines,
    start_run,
    wait_until,
)
from tests.e2e import (
    ACCESS_KEY,
    SECRET_KEY,
    csv_rows,
    final_states,
    read_ledger,
    single_id_rows,
)
from worker.emulator.app import Emulator
from worker.emulator.config import EmulatorConfig


async def test_sigterm_drains_in_flight_and_exits_143(
    cli_each_loop: Thumbsweep, slow_emulator: Emulator, tmp_path: Path
) -> None:
    """SIGTERM: no new requests, in-flight ones finish, ledger consistent, exit 143, resumable."""
    rows = single_id_rows(60)
    (tmp_path / "in.csv").write_text(csv_rows(rows))
    process = await start_run(cli_each_loop, slow_emulator, tmp_path, "-v")
    await wait_until(lambda: ledger_lines(tmp_path / "ledger.jsonl") >= 8)
    process.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    code, err = await finish(process)
    drain_seconds = time.monotonic() - signalled
    assert code == 143
    assert f"event loop: {cli_each_loop.event_loop}" in err
    assert drain_seconds < 5, drain_seconds  # in-flight requests take 0.2 s; 10 s is the cap
    assert "received SIGTERM" in err
    assert "stopped in" in err
    assert "Traceback" not in err
    states = check_consistent(slow_emulator, read_ledger(tmp_path / "ledger.jsonl"), rows)
    assert set(states.values()) == {"deleted", "skipped"}
    assert slow_emulator.stats.in_flight == 0

    resumed = await start_run(cli_each_loop, slow_emulator, tmp_path, "--resume")
    code, err = await finish(resumed)
    assert code == 0, err
    assert deleted_at_emulator(slow_emulator, rows) == {p for _, p, _ in rows}


async def test_drain_timeout_cancels_slow_requests(
    cli_each_loop: Thumbsweep, tmp_path: Path
) -> None:
    """Requests still in flight at --drain-timeout are cancelled and recorded skipped."""
    config = EmulatorConfig(access_key=ACCESS_KEY, secret_key=SECRET_KEY, latency_ms=20_000)
    async with Emulator(config) as emulator:
        rows = single_id_rows(10)
        (tmp_path / "in.csv").write_text(csv_rows(rows))
        process = await start_run(cli_each_loop, emulator, tmp_path, "--drain-timeout", "0.5")
        await wait_until(lambda: emulator.stats.in_flight == 4)
        process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        code, _ = await finish(process)
        elapsed = time.monotonic() - signalled
    assert code == 143
    assert 0.5 <= elapsed < 5, elapsed
    ledger = read_ledger(tmp_path / "ledger.jsonl")
    states = final_states(ledger)
    assert set(states) == set(rows)
    assert set(states.values()) == {"skipped"}
    interrupted = [r for r in ledger if r["message"].startswith("interrupted in flight")]
    assert len(interrupted) == 4
    assert {r["attempts"] for r in interrupted} == {1}


async def test_second_sigint_exits_at_once(cli_each_loop: Thumbsweep, tmp_path: Path) -> None:
    """A second SIGINT cancels the drain: exit 130 quickly, with a consistent ledger."""
    config = EmulatorConfig(access_key=ACCESS_KEY, secret_key=SECRET_KEY, latency_ms=20_000)
    async with Emulator(config) as emulator:
        rows = single_id_rows(10)
        (tmp_path / "in.csv").write_text(csv_rows(rows))
        process = await start_run(cli_each_loop, emulator, tmp_path)
        await wait_until(lambda: emulator.stats.in_flight == 4)
        process.send_signal(signal.SIGINT)
        await asyncio.sleep(0.3)
        assert process.returncode is None  # still draining after the first SIGINT
        process.send_signal(signal.SIGINT)
        signalled = time.monotonic()
        code, err = await finish(process)
        elapsed = time.monotonic() - signalled
    assert code == 130
    assert elapsed < 3, elapsed
    assert "Traceback" not in err
    states = final_states(read_ledger(tmp_path / "ledger.jsonl"))
    assert set(states) == set(rows)
    assert set(states.values()) == {"skipped"}


def _pid_namespace_available() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "--fork", "--pid", "--mount-proc", "true"], capture_output=True, check=False
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _pid_namespace_available(), reason="needs unshare --pid (root)")
async def test_sigterm_works_as_pid_1(
    cli_each_loop: Thumbsweep, slow_emulator: Emulator, tmp_path: Path
) -> None:
    """As PID 1 of its own PID namespace (as in a container) SIGTERM still drains and exits 143."""
    rows = single_id_rows(40)
    (tmp_path / "in.csv").write_text(csv_rows(rows))
    wrapper = await start_run(
        cli_each_loop,
        slow_emulator,
        tmp_path,
        prefix=("unshare", "--fork", "--pid", "--mount-proc"),
    )
    await wait_until(lambda: ledger_lines(tmp_path / "ledger.jsonl") >= 4)
    children = Path(f"/proc/{wrapper.pid}/task/{wrapper.pid}/children").read_text().split()
    (worker_pid,) = children
    status = Path(f"/proc/{worker_pid}/status").read_text()
    assert "NSpid:" in status
    assert status.split("NSpid:")[1].split("\n")[0].split()[-1] == "1"  # PID 1 inside its namespace
    os.kill(int(worker_pid), signal.SIGTERM)
    code, err = await finish(wrapper)
    assert code == 143, err
    check_consistent(slow_emulator, read_ledger(tmp_path / "ledger.jsonl"), rows)


async def test_kill_9_at_several_points_then_resume_deletes_everything(
    cli_each_loop: Thumbsweep, tmp_path: Path
) -> None:
    """SIGKILL at several points, resuming each time: all ids end deleted, the ledger agrees,
    and only ids in flight at a kill were sent twice."""
    config = EmulatorConfig(access_key=ACCESS_KEY, secret_key=SECRET_KEY, latency_ms=30)
    async with Emulator(config) as emulator:
        rows = single_id_rows(150)
        (tmp_path / "in.csv").write_text(csv_rows(rows))
        ledger = tmp_path / "ledger.jsonl"
        kill_points: list[Callable[[], bool]] = [
            lambda: emulator.stats.total_requests >= 1,  # before any record is written
            lambda: ledger_lines(ledger) >= 30,
            lambda: ledger_lines(ledger) >= 90,
        ]
        kills = 0
        for reached in kill_points:
            process = await start_run(cli_each_loop, emulator, tmp_path, "--resume")
            await wait_until(reached)
            process.kill()
            await finish(process)
            kills += 1
        with ledger.open("a") as handle:  # as if the last kill had torn a line
            handle.write('{"ts":"2026-11-24T00:00:00.000Z","run_id":"torn","workspa')
        process = await start_run(cli_each_loop, emulator, tmp_path, "--resume")
        code, err = await finish(process)
        assert code == 0, err
        assert "dropped a torn last line" in err
        records = read_ledger(ledger)
        deleted = {(r["workspace"], r["person_id"], t) for r in records
                   if r["status"] == "deleted" for t in r["thumbnail_ids"]}  # fmt: skip
        assert deleted == set(rows)
        assert deleted_at_emulator(emulator, rows) == {p for _, p, _ in rows}
        sent_twice = [key for key, count in emulator.stats.per_id.items() if count > 1]
        assert len(sent_twice) <= 4 * kills  # at most the requests in flight at each kill
