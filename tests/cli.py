"""Running thumbsweep's CLI as a child process, as a user, cron or Kubernetes would.

The one way tests start `python -m worker`: a clean environment holding only the test
credentials (and, when a test chooses one, the event loop), a start, and a bounded finish.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NamedTuple

from tests.e2e import ACCESS_KEY, SECRET_KEY, final_states
from worker.emulator.app import Emulator

PIPE = asyncio.subprocess.PIPE
DEVNULL = asyncio.subprocess.DEVNULL
# What a child's stdin, stdout or stderr can be: PIPE, DEVNULL, a file descriptor or a file.
Stream = int | IO[Any] | None


@dataclass(frozen=True)
class Thumbsweep:
    """How to start the CLI: on which event loop (None: the CLI's own default choice),
    whether the child gets the test credentials, and whether the preflight runs."""

    event_loop: str | None = None
    credentials: bool = True
    preflight: bool = False  # off by default: its look-ups would add to the requests counted

    def env(self, **extra: str) -> dict[str, str]:
        """The child's environment: this process's, minus every THUMBSWEEP_/NCLOUD_ setting
        (a developer's credentials or config must not leak in), plus the test credentials and,
        unless `preflight`, THUMBSWEEP_PREFLIGHT=0."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("THUMBSWEEP_", "NCLOUD_"))}
        if self.credentials:
            env["THUMBSWEEP_ACCESS_KEY"] = ACCESS_KEY
            env["THUMBSWEEP_SECRET_KEY"] = SECRET_KEY
        if not self.preflight:
            env["THUMBSWEEP_PREFLIGHT"] = "0"
        if self.event_loop is not None:
            env["THUMBSWEEP_EVENT_LOOP"] = self.event_loop
        return {**env, **extra}

    async def start(
        self,
        *args: str,
        stdin: Stream = DEVNULL,
        stdout: Stream = PIPE,
        stderr: Stream = PIPE,
        prefix: tuple[str, ...] = (),
        program: tuple[str, ...] = ("-m", "worker"),
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> asyncio.subprocess.Process:
        """Start `[prefix...] python -m worker ARGS` (or another `program` for the interpreter,
        such as `-c SCRIPT`) in `cwd` (default: this process's); `env` adds to the child's
        environment."""
        return await asyncio.create_subprocess_exec(
            *prefix, sys.executable, *program, *args,
            stdin=stdin, stdout=stdout, stderr=stderr, env=self.env(**(env or {})), cwd=cwd,
        )  # fmt: skip

    async def run(
        self, *args: str, limit: float = 60, input: bytes | None = None, **options: Any
    ) -> Finished:
        """Run the CLI to its end (within `limit` seconds), feeding it `input` on stdin if
        given; its exit code and output."""
        if input is not None:
            options["stdin"] = PIPE
        return await finish_with_output(await self.start(*args, **options), limit, input)


thumbsweep = Thumbsweep()  # the CLI on its default event loop


class Finished(NamedTuple):
    """A child that ended: its exit code and what it wrote."""

    code: int
    out: str
    err: str


async def finish_with_output(
    process: asyncio.subprocess.Process, limit: float = 60, input: bytes | None = None
) -> Finished:
    """Wait (at most `limit` seconds) for the process, after writing `input` to its stdin if
    given; its exit code, stdout and stderr."""
    out, err = await asyncio.wait_for(process.communicate(input), timeout=limit)
    assert process.returncode is not None
    return Finished(process.returncode, (out or b"").decode(), (err or b"").decode())


async def finish(process: asyncio.subprocess.Process, limit: float = 60) -> tuple[int, str]:
    """Wait (at most `limit` seconds) for the process; its exit code and stderr."""
    done = await finish_with_output(process, limit)
    return done.code, done.err


async def wait_until(condition: Callable[[], bool], limit: float = 30) -> None:
    """Poll `condition` (something a child does, seen from outside) until it holds."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def ledger_lines(path: Path) -> int:
    """Complete lines in the ledger so far."""
    return path.read_bytes().count(b"\n") if path.exists() else 0


async def start_run(
    cli: Thumbsweep, emulator: Emulator, work: Path, *extra: str, prefix: tuple[str, ...] = ()
) -> asyncio.subprocess.Process:
    """Start `thumbsweep run work/in.csv` against the emulator, ledger work/ledger.jsonl, four
    senders and short backoffs."""
    return await cli.start(
        "run", str(work / "in.csv"), "--base-url", emulator.base_url,
        "--ledger", str(work / "ledger.jsonl"), "--concurrency", "4", "--backoff-initial", "0.01",
        *extra, prefix=prefix,
    )  # fmt: skip


def deleted_at_emulator(emulator: Emulator, rows: list[tuple[str, int, int]]) -> set[int]:
    """The person ids whose requested thumbnail the emulator no longer holds."""
    return {p for w, p, t in rows if (w, p) in emulator.persons
            and t not in emulator.thumbnail_ids(w, p)}  # fmt: skip


def check_consistent(
    emulator: Emulator, ledger: list[dict[str, Any]], rows: list[tuple[str, int, int]]
) -> dict[tuple[str, int, int], str]:
    """Each id in exactly one record of the run; the ledger's deletions are the API's."""
    states = final_states(ledger)
    assert set(states) == set(rows)
    deleted = {key[1] for key, status in states.items() if status == "deleted"}
    assert deleted == deleted_at_emulator(emulator, rows)
    return states


async def run_on_terminal(*args: str, limit: float = 60) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal (stdout discarded), as a person at a
    terminal would; its exit code and everything the terminal showed."""
    controller, terminal = os.openpty()
    try:
        process = await thumbsweep.start(*args, stdout=DEVNULL, stderr=terminal)
        os.close(terminal)
        code = await asyncio.wait_for(process.wait(), timeout=limit)
        screen = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            screen += chunk
    finally:
        os.close(controller)
    return code, screen.decode(errors="replace")
