"""Does uvloop make thumbsweep faster? Benchmark 2's setup (latency 0, concurrency 64, 20,000
single-id persons), thumbsweep on asyncio's own loop and on uvloop, alternating.

issue 4: "Try uvloop as an optional extra and keep it only if benchmark 2 shows a gain."
Each run is `thumbsweep run --event-loop asyncio|uvloop`, the option users have.
Run: `.venv/bin/python bench/uvloop_check.py [--runs N]` (needs the bench extra: uvloop).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from _harness import compile_bytecode, emulator, run_thumbsweep, single_id_persons

PERSONS = 20_000
LOOPS = ("asyncio", "uvloop")


def one_run(jobs: Path, ledger: Path, loop: str) -> tuple[float, float]:
    """One thumbsweep run on the given event loop: (run wall s, CPU ms per request)."""
    with emulator() as served:
        finished = run_thumbsweep(
            "run", str(jobs), "--base-url", served.base_url, "--ledger", str(ledger),
            "--concurrency", "64", "--event-loop", loop, "-q", cwd=ledger.parent,
        )  # fmt: skip
    assert finished.exit_code == 0, finished.stderr[-500:]
    return finished.run_seconds, 1000 * finished.cpu_seconds / PERSONS


def main() -> None:
    """Alternate the two loops and print medians."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=4)
    runs = parser.parse_args().runs
    compile_bytecode()
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in LOOPS}
    with tempfile.TemporaryDirectory() as tmp:
        jobs = single_id_persons(Path(tmp) / "jobs.csv", PERSONS)
        for index in range(runs):
            for name in LOOPS:
                results[name].append(one_run(jobs, Path(tmp) / f"{name}-{index}.jsonl", name))
    print(f"uvloop check: {PERSONS} single-id persons, latency 0, concurrency 64, {runs} runs "
          "each, alternating; medians (all runs in brackets)")  # fmt: skip
    for name, rows in results.items():
        walls = [row[0] for row in rows]
        cpu = [row[1] for row in rows]
        every = ", ".join(f"{wall:.2f}" for wall in walls)
        print(f"{name:<8} run wall {statistics.median(walls):6.2f} s  CPU "
              f"{statistics.median(cpu):.3f} ms/request  [{every}]")  # fmt: skip
    gain = statistics.median(r[0] for r in results["asyncio"]) / statistics.median(
        r[0] for r in results["uvloop"]
    )
    pairs = ", ".join(
        f"{a[0] / u[0]:.3f}" for a, u in zip(results["asyncio"], results["uvloop"], strict=True)
    )
    cpu_ratio = statistics.median(r[1] for r in results["uvloop"]) / statistics.median(
        r[1] for r in results["asyncio"]
    )
    print(f"asyncio wall / uvloop wall: {gain:.3f} [{pairs}] (> 1 means uvloop is faster)")
    print(f"CPU per request uvloop / asyncio: {cpu_ratio:.3f} (< 1 means uvloop costs less)")


if __name__ == "__main__":
    main()
