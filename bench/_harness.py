"""Shared benchmark plumbing: an emulator subprocess, a thumbsweep subprocess, job files."""

from __future__ import annotations

import json
import os
import random
import re
import resource
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY = "bench-access"
SECRET_KEY = "bench-secret"
BENCH_ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith(("THUMBSWEEP_", "NCLOUD_"))},
    "THUMBSWEEP_ACCESS_KEY": ACCESS_KEY,
    "THUMBSWEEP_SECRET_KEY": SECRET_KEY,
}


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


@dataclass
class Finished:
    """One finished thumbsweep run."""

    exit_code: int
    wall_seconds: float
    cpu_seconds: float
    max_rss_mb: float
    stderr: str

    @property
    def run_seconds(self) -> float:
        """The run's own wall time from its summary (without interpreter start-up)."""
        match = re.search(r"(?:finished|stopped) in ([0-9.]+) s", self.stderr)
        return float(match.group(1)) if match else float("nan")


def run_thumbsweep(*args: str) -> Finished:
    """Run `python -m worker ARGS` to the end; measure wall time, CPU time and peak RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "worker", *args],
        capture_output=True, text=True, env=BENCH_ENV, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Finished(done.returncode, wall, cpu, after.ru_maxrss / 1024, done.stderr)


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
