"""Shared benchmark plumbing: an emulator subprocess, a thumbsweep subprocess, job files."""

from __future__ import annotations

import compileall
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY = "bench-access"
SECRET_KEY = "bench-secret"  # noqa: S105  (the emulator's key, not a real one)
BENCH_ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith(("THUMBSWEEP_", "NCLOUD_"))},
    "THUMBSWEEP_ACCESS_KEY": ACCESS_KEY,
    "THUMBSWEEP_SECRET_KEY": SECRET_KEY,
    # thumbsweep on asyncio's own loop, as the baseline runs (the bench extra installs uvloop,
    # which `auto` would take); uvloop_check.py measures the uvloop extra with --event-loop.
    "THUMBSWEEP_EVENT_LOOP": "asyncio",
}


def compile_bytecode() -> None:
    """Write the bytecode of the `worker` package these runs import, and of bench/'s modules.

    `pip install` (and so the Docker image) writes it at install time. An editable checkout
    under PYTHONDONTWRITEBYTECODE (set on this machine and in the image) never gets it and
    compiles every module from source at every start, ~50 ms that no installed thumbsweep pays.
    """
    import worker  # the package the children import: the same sys.path, the same finder

    for directory in (Path(worker.__file__).parent, Path(__file__).parent):
        compileall.compile_dir(directory, quiet=1)


@dataclass
class Emulated:
    """A running `thumbsweep emulate` process and its base URL."""

    process: subprocess.Popen[str]
    base_url: str

    def stats(self) -> dict[str, object]:
        """The emulator's counters, from its stats endpoint."""
        with urllib.request.urlopen(self.base_url + "/_emulator/stats") as response:  # noqa: S310
            stats: dict[str, object] = json.loads(response.read())
        return stats


@contextmanager
def emulator(*flags: str) -> Iterator[Emulated]:
    """Start `thumbsweep emulate --port 0 FLAGS` and stop it afterwards."""
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "worker", "emulate", "--port", "0", "--access-key", ACCESS_KEY,
         "--secret-key", SECRET_KEY, *flags],
        stdout=subprocess.PIPE, text=True, env=BENCH_ENV,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        yield Emulated(process, line.strip().rsplit(" ", 1)[-1])
    finally:
        process.terminate()
        process.wait(timeout=30)


# ru_maxrss is in KiB on Linux and in bytes on macOS.
_MAXRSS_PER_MB = 1024 * 1024 if sys.platform == "darwin" else 1024
_FINISHED = re.compile(r"(?:finished|stopped) in ([0-9.]+) s")


@dataclass
class Finished:
    """One finished child process: exit code, wall time and its own rusage, and its output."""

    exit_code: int
    wall_seconds: float
    cpu_seconds: float
    max_rss_mb: float
    stderr: str
    user_seconds: float = 0.0
    system_seconds: float = 0.0
    stdout: str = ""

    @property
    def run_seconds(self) -> float:
        """The run's own wall time from its summary (without interpreter start-up)."""
        match = _FINISHED.search(self.stderr)
        return float(match.group(1)) if match else float("nan")


# Runs one command and reports that process's own rusage. Spawning goes through this small
# interpreter rather than from the benchmark itself because on Linux a child's ru_maxrss starts
# at the RSS of the process that forked it (exec records the old address space's high-water
# mark): a child of a benchmark process that once held 300 MB reports at least 300 MB.
# The floor is now this trampoline's own RSS, about 10 MB.
_TRAMPOLINE = """
import json, os, sys, time
started = time.perf_counter()
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
with open(sys.argv[1], "w") as report:
    json.dump({"exit_code": os.waitstatus_to_exitcode(status), "wall": wall,
               "user": usage.ru_utime, "system": usage.ru_stime, "maxrss": usage.ru_maxrss},
              report)
"""


def run_command(
    argv: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> Finished:
    """Run `argv` (in `cwd`) to the end; measure wall time, and its own CPU time and peak RSS.

    The command is reaped with `os.wait4`, which gives that process's rusage alone (its own
    ru_maxrss, not the maximum over every child so far as RUSAGE_CHILDREN would; on Linux it
    also covers the descendants it waited for, e.g. a shell's curl processes). Wall time runs
    from spawn to exit. Output goes to temporary files, so a chatty child cannot block on a full
    pipe.
    """
    with (
        tempfile.TemporaryDirectory(prefix="thumbsweep-run-") as scratch,
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
    ):
        report = Path(scratch) / "rusage.json"
        trampoline = subprocess.run(  # noqa: S603
            [sys.executable, "-I", "-S", "-c", _TRAMPOLINE, str(report), *argv],
            stdin=subprocess.DEVNULL, stdout=out, stderr=err, check=False,
            env=BENCH_ENV if env is None else env, cwd=cwd,
        )  # fmt: skip
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
        if trampoline.returncode != 0 or not report.exists():
            raise RuntimeError(f"could not run {argv[0]}: {stderr.strip()[-500:]}")
        measured = json.loads(report.read_text())
    return Finished(
        exit_code=measured["exit_code"], wall_seconds=measured["wall"],
        cpu_seconds=measured["user"] + measured["system"],
        max_rss_mb=measured["maxrss"] / _MAXRSS_PER_MB, stderr=stderr,
        user_seconds=measured["user"], system_seconds=measured["system"], stdout=stdout,
    )  # fmt: skip


def run_thumbsweep(*args: str, cwd: Path | None = None) -> Finished:
    """Run `python -m worker ARGS` to the end; measure wall time, CPU time and peak RSS.

    Pass `cwd` (a scratch directory) to keep a `.env` or `config/thumbsweep.toml` in the
    current directory from changing the settings.
    """
    return run_command([sys.executable, "-m", "worker", *args], cwd=cwd)


def single_id_persons(path: Path, persons: int, seed: int = 1) -> Path:
    """A shuffled CSV with one thumbnail id for each of `persons` persons."""
    rows = [f"bench,{person},{person * 10 + 1}\n" for person in range(1, persons + 1)]
    random.Random(seed).shuffle(rows)
    path.write_text("workspace,person_id,thumbnail_id\n" + "".join(rows))
    return path


def ledger_statuses(path: Path) -> dict[str, int]:
    """Ids per status in a JSON Lines ledger."""
    counts: dict[str, int] = {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        counts[record["status"]] = counts.get(record["status"], 0) + len(
            record.get("thumbnail_ids") or [0]
        )
    return counts


def multi_id_rows(
    path: Path, persons: int, ids_per_person: int, seed: int = 1, block_rows: int = 1_000_000
) -> Path:
    """A CSV of `persons` x `ids_per_person` single-id rows in shuffled order.

    Persons are cut into blocks of about `block_rows` rows; the blocks come in shuffled order
    and, inside each, all (person, id) rows are shuffled, so a person's ids are interleaved
    with other persons'. Up to `block_rows` rows the whole file is one fully shuffled block;
    the generator's memory is bounded by one block however large the file.
    """
    rng = random.Random(seed)
    per_block = max(1, block_rows // ids_per_person)
    starts = list(range(1, persons + 1, per_block))
    rng.shuffle(starts)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("workspace,person_id,thumbnail_id\n")
        for start in starts:
            count = min(per_block, persons + 1 - start)
            cells = list(range(count * ids_per_person))
            rng.shuffle(cells)
            for offset in range(0, len(cells), 100_000):
                lines = []
                for cell in cells[offset : offset + 100_000]:
                    person, index = divmod(cell, ids_per_person)
                    person += start
                    lines.append(f"bench,{person},{person * ids_per_person + index + 1}\n")
                out.write("".join(lines))
    return path
