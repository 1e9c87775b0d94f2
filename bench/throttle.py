"""Throttling benchmark (issue 12): how fast thumbsweep finds an unknown quota and rides it.

The emulated gateway is a token bucket per key (burst = rate/10) with 10 ms latency; its 429s
carry no Retry-After, as NAVER Cloud's. Every person has one id, so a person is one request and
the ideal wall time is (requests needed) / (quota). Scenarios:

- `quota-50`, `quota-200`, `quota-1000`: one process, no --rate, concurrency 64, persons =
  20 x quota (20 s of ideal work). Targets: wall <= 1.10 x ideal, 429s <= 3 % of requests;
  goal 1.05 x and 2 %.
- `shared-400`: four processes on one key's 400 requests/s, started 1 s apart, 2,000 persons
  each (concurrency 64, no --rate). "All done" = from the first start to the last exit;
  its ideal = all persons / 400 = 20 s. A process's own ideal = its persons / (400 / 4) = 20 s
  (its fair share while all four run). Targets: all done <= 1.15 x, 429s <= 5 %, slowest
  process <= 1.25 x its own ideal; goal 1.08 x and 3 %.
- `known-190`: --rate 190 against 200, 3,800 persons; ideal = persons / 190 = 20 s (the rate the
  user asked for). Target: <= 1.05 x and no 429.

wall is the whole process (interpreter start-up included); run is the run's own wall from its
summary line. 429 share = 429 answers / all requests the gateway received. With --plot, one
panel per scenario shows accepted requests/s and 429s/s per second (the emulator's
`per_second` counts) and goes to docs/benchmarks-throttle.png (needs matplotlib).

Run: `make bench-throttle` (`.venv/bin/python bench/throttle.py [--only quota-50,...]
[--scale 0.25] [--client DIR]`). `--client DIR` runs thumbsweep from another checkout (e.g. main,
for the before figures) while the emulator stays this one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from _harness import BENCH_ENV, Finished, emulator, ledger_statuses, run_command

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("quota-50", "quota-200", "quota-1000", "shared-400", "known-190")
IDEAL_SECONDS = 20.0
LATENCY_MS = "10"


@dataclass
class Result:
    """One scenario's figures."""

    name: str
    quota: float
    ideal: float  # seconds
    wall: float  # seconds: the whole process (shared: first start to last exit)
    run: float  # seconds: the run's own wall (shared: the slowest process's)
    requests: int
    throttled: int
    deleted: int
    persons: int
    exit_code: int
    per_second: list[list[int]] = field(default_factory=list)
    slowest: float = float("nan")  # shared: the slowest process's wall / its own ideal
    targets: tuple[float, float] = (0.0, 0.0)  # wall/ideal, 429 share
    goals: tuple[float, float] = (0.0, 0.0)

    @property
    def share(self) -> float:
        """429s as a share of all requests."""
        return self.throttled / self.requests if self.requests else float("nan")


def persons_file(path: Path, first: int, count: int) -> Path:
    """One id for each of `count` persons numbered from `first`."""
    rows = "".join(f"bench,{p},{p * 10 + 1}\n" for p in range(first, first + count))
    path.write_text("workspace,person_id,thumbnail_id\n" + rows)
    return path


def thumbsweep(
    client: str | None, base_url: str, jobs: Path, ledger: Path, *extra: str
) -> Finished:
    """Run thumbsweep (from `client`'s checkout when given) over `jobs` to the end."""
    env = dict(BENCH_ENV)
    if client is not None:
        env["PYTHONPATH"] = client
    argv = [
        sys.executable, "-m", "worker", "run", str(jobs), "--base-url", base_url,
        "--ledger", str(ledger), "--concurrency", "64", "-q", *extra,
    ]  # fmt: skip
    return run_command(argv, env=env, cwd=ledger.parent)


def counts(stats: dict[str, object]) -> tuple[int, int, list[list[int]]]:
    """(requests, 429s, per-second counts) from the emulator's stats."""
    by_status = stats["by_status"]
    assert isinstance(by_status, dict)
    per_second = stats.get("per_second", [])
    assert isinstance(per_second, list)
    return int(str(stats["total_requests"])), int(by_status.get("429", 0)), per_second


def single(work: Path, name: str, quota: float, persons: int, rate: float | None,
           client: str | None) -> Result:  # fmt: skip
    """One process against a gateway allowing `quota` requests/s."""
    jobs = persons_file(work / f"{name}.csv", 1, persons)
    ledger = work / f"{name}.jsonl"
    extra = ["--rate", f"{rate:g}"] if rate else []
    with emulator("--rate-limit", f"{quota:g}", "--latency-ms", LATENCY_MS) as served:
        finished = thumbsweep(client, served.base_url, jobs, ledger, *extra)
        requests, throttled, per_second = counts(served.stats())
    ideal = persons / (rate or quota)
    return Result(
        name, quota, ideal, finished.wall_seconds, finished.run_seconds, requests, throttled,
        ledger_statuses(ledger).get("deleted", 0), persons, finished.exit_code, per_second,
    )  # fmt: skip


def shared(work: Path, quota: float, persons: int, client: str | None) -> Result:
    """Four processes started 1 s apart on one key's bucket."""
    processes = 4
    fair = quota / processes
    finished: list[tuple[float, Finished] | None] = [None] * processes
    ledgers = [work / f"shared-{index}.jsonl" for index in range(processes)]
    with emulator("--rate-limit", f"{quota:g}", "--latency-ms", LATENCY_MS) as served:
        first = time.perf_counter()

        def one(index: int) -> None:
            time.sleep(max(0.0, first + index - time.perf_counter()))
            jobs = persons_file(work / f"shared-{index}.csv", 1 + index * persons, persons)
            launched = time.perf_counter() - first
            finished[index] = (
                launched, thumbsweep(client, served.base_url, jobs, ledgers[index])
            )  # fmt: skip

        threads = [threading.Thread(target=one, args=(i,)) for i in range(processes)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        requests, throttled, per_second = counts(served.stats())
    done = [item for item in finished if item is not None]
    assert len(done) == processes
    all_done = max(launched + run.wall_seconds for launched, run in done)
    slowest = max(run.wall_seconds / (persons / fair) for _, run in done)
    return Result(
        "shared-400", quota, processes * persons / quota, all_done,
        max(run.run_seconds for _, run in done), requests, throttled,
        sum(ledger_statuses(ledger).get("deleted", 0) for ledger in ledgers),
        processes * persons, max(run.exit_code for _, run in done), per_second, slowest,
    )  # fmt: skip


def scenario(work: Path, name: str, scale: float, client: str | None) -> Result:
    """Run one named scenario, with its targets and goals."""
    seconds = IDEAL_SECONDS * scale
    if name.startswith("quota-"):
        quota = float(name.removeprefix("quota-"))
        result = single(work, name, quota, round(seconds * quota), None, client)
        result.targets, result.goals = (1.10, 0.03), (1.05, 0.02)
    elif name == "shared-400":
        result = shared(work, 400.0, round(seconds * 100), client)
        result.targets, result.goals = (1.15, 0.05), (1.08, 0.03)
    else:
        result = single(work, name, 200.0, round(seconds * 190), 190.0, client)
        result.targets = result.goals = (1.05, 0.0)
    return result


def verdict(result: Result) -> str:
    """'goal', 'target' or 'MISS' for one result (the slowest process counts for shared)."""
    ratio, share = result.wall / result.ideal, result.share
    fair = not (result.name == "shared-400" and not result.slowest <= 1.25)
    complete = result.deleted == result.persons and result.exit_code == 0
    if not (fair and complete):
        return "MISS"
    if ratio <= result.goals[0] and share <= result.goals[1]:
        return "goal"
    return "target" if ratio <= result.targets[0] and share <= result.targets[1] else "MISS"


def report(results: list[Result], scale: float, client: str | None) -> None:
    """The table of figures against targets and goals."""
    print(
        f"\nthrottling: token-bucket gateway (burst = rate/10), latency {LATENCY_MS} ms, "
        f"concurrency 64; {IDEAL_SECONDS * scale:g} s of ideal work per scenario"
        + (f"; thumbsweep from {client}" if client else "")
    )
    print(
        f"{'scenario':<11} {'ideal s':>7} {'wall/ideal':>10} {'run/ideal':>9} {'429 share':>9} "
        f"{'requests':>8} {'slowest':>7} {'deleted':>8} {'exit':>4}  target / goal        result"
    )
    for r in results:
        slowest = f"{r.slowest:.3f}" if r.name == "shared-400" else "-"
        aim = f"{r.targets[0]:.2f}x {r.targets[1]:.0%} / {r.goals[0]:.2f}x {r.goals[1]:.0%}"
        print(
            f"{r.name:<11} {r.ideal:>7.1f} {r.wall / r.ideal:>10.3f} {r.run / r.ideal:>9.3f} "
            f"{r.share:>9.2%} {r.requests:>8} {slowest:>7} {r.deleted:>8} {r.exit_code:>4}  "
            f"{aim:<20} {verdict(r)}"
        )
    print(
        "ideal: requests needed / quota (shared: all persons / 400 from the first start; "
        "known-190: persons / 190); slowest: the slowest of the four processes, its wall / "
        "(its persons / 100)"
    )


def plot(results: list[Result], path: Path) -> None:
    """Accepted requests/s and 429s/s, per second, one panel per scenario."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # a file backend: the benchmark runs headless
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install -e '.[bench]')")
        return
    figure, panels = plt.subplots(len(results), 1, figsize=(8, 2.3 * len(results)), dpi=110)
    for axes, result in zip(panels if len(results) > 1 else [panels], results, strict=True):
        seconds = list(range(len(result.per_second)))
        axes.plot(seconds, [c[0] for c in result.per_second], color="tab:blue", label="accepted/s")
        axes.plot(seconds, [c[1] for c in result.per_second], color="tab:red", label="429/s")
        axes.axhline(result.quota, linestyle="--", color="grey", label=f"quota {result.quota:g}/s")
        axes.set_title(
            f"{result.name}: wall {result.wall / result.ideal:.3f} x ideal, "
            f"429s {result.share:.2%} of requests",
            fontsize=9,
        )
        axes.set_ylabel("requests/s")
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=7, loc="center right")
    panels_list = panels if len(results) > 1 else [panels]
    panels_list[-1].set_xlabel("seconds since the first request")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    print(f"plot: {path}")


def main() -> None:
    """Run the chosen scenarios and print the table (and the plot)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios")
    parser.add_argument("--scale", type=float, default=1.0, help="share of the 20 s of work")
    parser.add_argument("--client", help="run thumbsweep from this checkout (PYTHONPATH)")
    parser.add_argument("--plot", type=Path, help="write the per-second PNG here")
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    names = [name for name in args.only.split(",") if name]
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown:
        parser.error(
            f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}"
        )
    client = os.path.abspath(args.client) if args.client else None
    with tempfile.TemporaryDirectory(prefix="thumbsweep-throttle-") as tmp:
        results = [scenario(Path(tmp), name, args.scale, client) for name in names]
    report(results, args.scale, client)
    if args.json:
        args.json.write_text(json.dumps([vars(r) for r in results], indent=1))
    if args.plot:
        plot(results, args.plot)


if __name__ == "__main__":
    main()
