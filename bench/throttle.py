"""Throttling benchmark (issue 3): 3,000 single-id persons at concurrency 32 against an emulated
gateway that allows 200 requests/s and answers 429 (no Retry-After) beyond that.

Targets: with --rate 190, wall <= 1.12 x the ideal 15 s and 429s <= 1 % of requests; with no
--rate, everything deleted, wall <= 1.5 x ideal and 429s <= 15 % of requests.

Run: `make bench-throttle` (or `.venv/bin/python bench/throttle.py [--runs N]`).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from _harness import emulator, ledger_statuses, run_thumbsweep, single_id_persons

PERSONS = 3000
LIMIT = 200.0
IDEAL_SECONDS = PERSONS / LIMIT
TARGETS = {"--rate 190": (1.12, 0.01), "no --rate": (1.5, 0.15)}


def one_run(work: Path, rate: list[str], index: int) -> tuple[float, float, int, int, float]:
    """One run: (wall / ideal, share of 429s, ids deleted, exit code, run-only wall / ideal)."""
    jobs = single_id_persons(work / "jobs.csv", PERSONS)
    ledger = work / f"ledger-{len(rate)}-{index}.jsonl"
    with emulator("--rate-limit", str(LIMIT)) as served:
        finished = run_thumbsweep(
            "run", str(jobs), "--base-url", served.base_url, "--ledger", str(ledger),
            "--concurrency", "32", "-q", *rate,
        )  # fmt: skip
        stats = served.stats()
    by_status = stats["by_status"]
    assert isinstance(by_status, dict)
    total = int(str(stats["total_requests"]))
    throttled = int(by_status.get("429", 0))
    deleted = ledger_statuses(ledger).get("deleted", 0)
    return (
        finished.wall_seconds / IDEAL_SECONDS, throttled / total, deleted, finished.exit_code,
        finished.run_seconds / IDEAL_SECONDS,
    )  # fmt: skip


def main() -> None:
    """Run each mode, alternating, and print the medians against the targets."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    results: dict[str, list[tuple[float, float, int, int, float]]] = {n: [] for n in TARGETS}
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(runs):
            for name in TARGETS:
                rate = ["--rate", "190"] if name == "--rate 190" else []
                results[name].append(one_run(Path(tmp), rate, index))
    print(
        f"throttling: {PERSONS} single-id persons, concurrency 32, gateway {LIMIT:g}/s, "
        f"ideal {IDEAL_SECONDS:g} s, {runs} runs each (median; all runs in brackets)"
    )
    print("wall/ideal is the whole process, start-up included; run/ideal is the run's own wall")
    print(f"{'mode':<12} {'wall/ideal':>10} {'run/ideal':>9} {'target':>7} {'429 share':>10} "
          f"{'target':>7} {'deleted':>8} {'exit':>5}")  # fmt: skip
    for name, rows in results.items():
        wall_target, share_target = TARGETS[name]
        walls = [row[0] for row in rows]
        shares = [row[1] for row in rows]
        ok = statistics.median(walls) <= wall_target and statistics.median(shares) <= share_target
        print(
            f"{name:<12} {statistics.median(walls):>10.3f} "
            f"{statistics.median(row[4] for row in rows):>9.3f} {wall_target:>7} "
            f"{statistics.median(shares):>10.2%} {share_target:>7.0%} "
            f"{min(row[2] for row in rows):>8} {max(row[3] for row in rows):>5}  "
            f"{'meets target' if ok else 'MISSES target'}  "
            f"[{', '.join(f'{w:.3f}' for w in walls)}] [{', '.join(f'{s:.2%}' for s in shares)}]"
        )


if __name__ == "__main__":
    main()
