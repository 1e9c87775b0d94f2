"""Signals and pipes over the whole life of a real `thumbsweep run`: SIGHUP, a signal in every
phase (reading, sending, pushing metrics, printing the summary) and a reader that goes away,
each on asyncio's event loop and on uvloop.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.cli import (
    DEVNULL,
    PIPE,
    Thumbsweep,
    check_consistent,
    finish,
    ledger_lines,
    start_run,
    wait_until,
)
from tests.e2e import csv_rows, final_states, read_ledger, single_id_rows
from worker.emulator.app import Emulator

STOP_SIGNALS = [
    pytest.param(signal.SIGINT, 130, id="SIGINT"),
    pytest.param(signal.SIGTERM, 143, id="SIGTERM"),
    pytest.param(signal.SIGHUP, 129, id="SIGHUP"),
]
# Run thumbsweep in-process with a stderr that signals the process itself as the summary is
# printed: the only way to hit that moment exactly from outside.
_SIGNAL_DURING_SUMMARY = """
import os, sys
from worker.cli import main

class SignalOnSummary:
    def __init__(self, stream):
        self.stream, self.fired = stream, False
    def write(self, text):
        if not self.fired and "ids:" in text:
            self.fired = True
            os.kill(os.getpid(), int(os.environ["SIGNAL_DURING_SUMMARY"]))
        return self.stream.write(text)
    def __getattr__(self, name):
        return getattr(self.stream, name)

sys.stderr = SignalOnSummary(sys.stderr)
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture
async def silent_gateway() -> AsyncIterator[tuple[str, asyncio.Event]]:
    """A 'Pushgateway' that accepts connections and never answers; the event marks a push."""
    pushed = asyncio.Event()
    held: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        pushed.set()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", pushed
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_sighup_while_sending_drains_and_exits_129(
    cli_each_loop: Thumbsweep, slow_emulator: Emulator, tmp_path: Path
) -> None:
    """SIGHUP (a closed ssh session) is a SIGTERM: drain, a consistent ledger, exit 129."""
    rows = single_id_rows(60)
    (tmp_path / "in.csv").write_text(csv_rows(rows))
    process = await start_run(cli_each_loop, slow_emulator, tmp_path)
    await wait_until(lambda: ledger_lines(tmp_path / "ledger.jsonl") >= 8)
    process.send_signal(signal.SIGHUP)
    code, err = await finish(process)
    assert code == 129, err
    assert "received SIGHUP" in err
    assert "Traceback" not in err
    states = check_consistent(slow_emulator, read_ledger(tmp_path / "ledger.jsonl"), rows)
    assert set(states.values()) == {"deleted", "skipped"}
    assert slow_emulator.stats.in_flight == 0


async def test_sighup_stays_ignored_under_nohup(
    cli_each_loop: Thumbsweep, slow_emulator: Emulator, tmp_path: Path
) -> None:
    """Started under `nohup`, thumbsweep keeps ignoring SIGHUP and finishes the run (exit 0)."""
    rows = single_id_rows(20)
    (tmp_path / "in.csv").write_text(csv_rows(rows))
    process = await start_run(cli_each_loop, slow_emulator, tmp_path, prefix=("nohup",))
    await wait_until(lambda: ledger_lines(tmp_path / "ledger.jsonl") >= 4)
    process.send_signal(signal.SIGHUP)
    code, err = await finish(process)
    assert code == 0, err
    assert set(final_states(read_ledger(tmp_path / "ledger.jsonl")).values()) == {"deleted"}


@pytest.mark.parametrize(("signum", "exit_code"), STOP_SIGNALS)
async def test_signal_while_reading_input_ends_without_sending(
    cli_each_loop: Thumbsweep,
    emulator: Emulator,
    tmp_path: Path,
    signum: signal.Signals,
    exit_code: int,
) -> None:
    """A signal while stdin is still being read: its exit code, 'before sending started',
    no traceback, nothing sent."""
    process = await cli_each_loop.start(
        "run",
        "-",
        "--base-url",
        emulator.base_url,
        "--ledger",
        str(tmp_path / "ledger.jsonl"),
        stdin=PIPE,
    )
    assert process.stdin is not None
    process.stdin.write(b"workspace,person_id,thumbnail_id\nw,1,2\n")
    await process.stdin.drain()
    lock = tmp_path / "ledger.jsonl.lock"
    await wait_until(lambda: lock.exists() and b"pid" in lock.read_bytes())  # locked: reading next
    await asyncio.sleep(0.3)  # past the lock, inside the read (nothing to observe there)
    process.send_signal(signum)
    code, err = await finish(process, limit=15)
    assert code == exit_code, err
    assert f"stopped by {signum.name} before sending started" in err
    assert "Traceback" not in err
    assert emulator.stats.total_requests == 0


@pytest.mark.parametrize(("signum", "exit_code"), STOP_SIGNALS)
async def test_signal_during_metrics_push_says_the_ledger_is_complete(
    cli_each_loop: Thumbsweep,
    emulator: Emulator,
    silent_gateway: tuple[str, asyncio.Event],
    tmp_path: Path,
    signum: signal.Signals,
    exit_code: int,
) -> None:
    """A signal while pushing to a Pushgateway that never answers: the run ends at once with the
    signal's code, the summary, and a message that sending is over and the ledger complete."""
    gateway, pushed = silent_gateway
    rows = single_id_rows(10)
    (tmp_path / "in.csv").write_text(csv_rows(rows))
    process = await start_run(cli_each_loop, emulator, tmp_path, "--pushgateway", gateway)
    await asyncio.wait_for(pushed.wait(), timeout=30)
    process.send_signal(signum)
    signalled = time.monotonic()
    code, err = await finish(process, limit=20)
    assert time.monotonic() - signalled < 5  # not the push's own 10 s timeout
    assert code == exit_code, err
    assert f"stopped by {signum.name} after sending ended" in err
    assert "ledger is complete" in err
    assert "before sending started" not in err
    assert "ids:      deleted 10" in err
    assert "Traceback" not in err
    assert set(final_states(read_ledger(tmp_path / "ledger.jsonl")).values()) == {"deleted"}


@pytest.mark.parametrize(("signum", "exit_code"), STOP_SIGNALS)
async def test_signal_during_summary_ends_with_its_code(
    cli_each_loop: Thumbsweep,
    emulator: Emulator,
    tmp_path: Path,
    signum: signal.Signals,
    exit_code: int,
) -> None:
    """A signal while the summary is printed: the summary completes, then the signal's code and
    a message that sending is over and the ledger complete."""
    rows = single_id_rows(5)
    (tmp_path / "in.csv").write_text(csv_rows(rows))
    process = await cli_each_loop.start(
        "run", str(tmp_path / "in.csv"), "--base-url", emulator.base_url,
        "--ledger", str(tmp_path / "ledger.jsonl"),
        program=("-c", _SIGNAL_DURING_SUMMARY), env={"SIGNAL_DURING_SUMMARY": str(int(signum))},
    )  # fmt: skip
    code, err = await finish(process)
    assert code == exit_code, err
    assert "ledger:" in err  # the summary's last line
    assert f"stopped by {signum.name} after sending ended" in err
    assert "ledger is complete" in err
    assert "Traceback" not in err


async def run_into_closing_pipe(
    cli: Thumbsweep,
    emulator: Emulator,
    tmp_path: Path,
    *extra: str,
    signum: signal.Signals | None = None,
) -> int:
    """Run with stdout and stderr on one pipe whose reader closes after the first line (as
    `2>&1 | head -1`); optionally signal the run once it is sending. Return the exit code."""
    read_end, write_end = os.pipe()
    process = await cli.start(
        "run", str(tmp_path / "in.csv"), "--base-url", emulator.base_url,
        "--ledger", str(tmp_path / "ledger.jsonl"), "--concurrency", "4",
        "--progress-interval", "0.1", "-v", *extra,
        stdin=DEVNULL, stdout=write_end, stderr=write_end,
    )  # fmt: skip
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        first = await asyncio.to_thread(reader.readline)
    assert first  # the reader saw its one line, and is gone now
    if signum is not None:
        await wait_until(lambda: ledger_lines(tmp_path / "ledger.jsonl") >= 4)
        process.send_signal(signum)
    return await asyncio.wait_for(process.wait(), timeout=60)


async def test_closed_pipe_does_not_change_a_successful_exit(
    cli_each_loop: Thumbsweep, slow_emulator: Emulator, tmp_path: Path
) -> None:
    """`thumbsweep run ... 2>&1 | head -1`: the run still finishes, the ledger is complete and
    the exit code is the run's own (0)."""
    rows = single_id_rows(20)
    (tmp_path / "in.csv").write_text(csv_rows(rows))
    code = await run_into_closing_pipe(cli_each_loop, slow_emulator, tmp_path)
    assert code == 0
    states = check_consistent(slow_emulator, read_ledger(tmp_path / "ledger.jsonl"), rows)
    assert set(states.values()) == {"deleted"}


async def test_closed_pipe_then_sigterm_exits_143(
    cli_each_loop: Thumbsweep, slow_emulator: Emulator, tmp_path: Path
) -> None:
    """With its output pipe gone, a SIGTERM still drains and exits 143 with a consistent ledger."""
    rows = single_id_rows(60)
    (tmp_path / "in.csv").write_text(csv_rows(rows))
    code = await run_into_closing_pipe(
        cli_each_loop, slow_emulator, tmp_path, signum=signal.SIGTERM
    )
    assert code == 143
    states = check_consistent(slow_emulator, read_ledger(tmp_path / "ledger.jsonl"), rows)
    assert set(states.values()) == {"deleted", "skipped"}
