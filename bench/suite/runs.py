"""Running one client against one fresh emulator, and alternating the clients' runs.

Every networked run gets a fresh `thumbsweep emulate` subprocess, so its counters cover that run
alone; every client runs as its own subprocess, measured with its own rusage (`_harness`).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _harness import Finished, emulator, run_command, single_id_persons

BENCH = Path(__file__).resolve().parent.parent
ROOT = BENCH.parent
CLIENTS = ("baseline", "thumbsweep")
# The CPU-bound benchmark adds the leanest script (bench/lean.py: the baseline minus JSON).
CPU_CLIENTS = ("lean", "baseline", "thumbsweep")
NAN = float("nan")

# One run's or one benchmark's figures, as printed and as written by --json.
Figures = dict[str, Any]


@dataclass
class Options:
    """What to run, how often, how large, and where scratch files go."""

    runs: int
    scale: float
    work: Path
    ten_million: bool
    plot: Path

    def size(self, count: int) -> int:
        """`count` times --scale, at least 1."""
        return max(1, round(count * self.scale))


def thumbsweep_argv(*args: str) -> list[str]:
    """The command line of `thumbsweep ARGS` in this interpreter."""
    return [sys.executable, "-m", "worker", *args]


def client_argv(
    client: str, jobs: Path, base_url: str, concurrency: int | None, ledger: Path
) -> list[str]:
    """The command line of `client` sending `jobs` to `base_url`."""
    if client in ("baseline", "lean"):
        return [
            sys.executable,
            str(BENCH / f"{client}.py"),
            str(jobs),
            "--base-url",
            base_url,
            "--concurrency",
            str(concurrency or 8),
        ]
    if client == "curl":
        return ["bash", str(BENCH / "curl_loop.sh"), str(jobs), base_url]
    flags = [] if concurrency is None else ["--concurrency", str(concurrency)]
    return thumbsweep_argv(
        "run", str(jobs), "--base-url", base_url, "--ledger", str(ledger), *flags, "-q"
    )


def per_second(count: int, seconds: float) -> float:
    """count / seconds, NaN when the time is missing or zero."""
    return count / seconds if seconds > 0 else NAN


def summary_line(stderr: str) -> str:
    """The lines of a client's summary that say how it went (or its last line of stderr)."""
    lines = [line.strip() for line in stderr.strip().splitlines()]
    kept = [line for line in lines if re.search(r"(finished|stopped) in |attempts: |Error", line)]
    return " | ".join(kept) if kept else (lines or [""])[-1]


def process_figures(finished: Finished, requests: int) -> Figures:
    """A finished process's own figures; throughputs count `requests` (one per person)."""
    return {
        "exit_code": finished.exit_code,
        "run_seconds": finished.run_seconds,
        "process_seconds": finished.wall_seconds,
        "run_per_second": per_second(requests, finished.run_seconds),
        "process_per_second": per_second(requests, finished.wall_seconds),
        "cpu_seconds": finished.cpu_seconds,
        "user_seconds": finished.user_seconds,
        "system_seconds": finished.system_seconds,
        "max_rss_mb": finished.max_rss_mb,
        "last_stderr_line": summary_line(finished.stderr),
    }


def networked_run(
    options: Options,
    client: str,
    persons: int,
    latency_ms: float,
    concurrency: int | None,
    tag: str,
) -> Figures:
    """One run of `client` over `persons` single-id persons against a fresh emulator."""
    jobs = options.work / f"persons-{persons}.csv"
    if not jobs.exists():
        single_id_persons(jobs, persons)
    ledger = options.work / f"ledger-{tag}.jsonl"
    ledger.unlink(missing_ok=True)
    with emulator("--latency-ms", f"{latency_ms:g}") as served:
        argv = client_argv(client, jobs, served.base_url, concurrency, ledger)
        finished = run_command(argv, cwd=options.work)
        stats = served.stats()
    figures = {
        "client": client,
        "persons": persons,
        "concurrency": concurrency,
        "latency_ms": latency_ms,
        **process_figures(finished, persons),
    }
    requests = int(str(stats.get("total_requests") or 0))
    figures["emulator"] = stats
    figures["cpu_ms_per_request"] = finished.cpu_seconds * 1000 / max(requests, 1)
    figures["complete"] = finished.exit_code == 0 and stats.get("deletes_applied") == persons
    if not figures["complete"]:
        print(
            f"  warning: {client} run {tag} exit {finished.exit_code}, "
            f"{stats.get('deletes_applied')} of {persons} deleted: "
            f"{figures['last_stderr_line']}",
            file=sys.stderr,
        )
    return figures


def alternate(
    runs: int, one: Callable[[str, int], Figures], clients: tuple[str, ...] = CLIENTS
) -> dict[str, list[Figures]]:
    """`runs` rounds of `one(client, index)`, every client once per round.

    Alternating spreads a shared machine's drift over every client instead of onto one, and
    each round starts with the next client (baseline, thumbsweep; then thumbsweep, baseline),
    so that no client always runs first, or always right after another one.
    """
    results: dict[str, list[Figures]] = {client: [] for client in clients}
    for index in range(runs):
        shift = index % len(clients)
        for client in clients[shift:] + clients[:shift]:
            results[client].append(one(client, index))
            print(
                f"  {client} run {index + 1}/{runs}: {results[client][-1]['last_stderr_line']}",
                file=sys.stderr,
            )
    return results


def alternate_networked(
    options: Options,
    persons: int,
    latency_ms: float,
    concurrency: int,
    name: str,
    clients: tuple[str, ...] = CLIENTS,
    rounds: int | None = None,
) -> dict[str, list[Figures]]:
    """Alternating rounds (--runs unless given) of networked runs of `clients`."""
    return alternate(
        options.runs if rounds is None else rounds,
        lambda client, index: networked_run(
            options, client, persons, latency_ms, concurrency, f"{name}-{client}-{index}"
        ),
        clients,
    )
