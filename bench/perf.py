"""thumbsweep's performance suite: against a plain aiohttp script, a curl loop, and itself.

Every networked run gets a fresh `thumbsweep emulate` subprocess, so state and counters are
clean, and every client runs as its own subprocess, timed with perf_counter and measured with
its own rusage (os.wait4: CPU time and peak RSS of that process alone).

  latency  50 ms latency, concurrency 64, 12,800 single-id persons: thumbsweep vs the baseline
           (bench/baseline.py); throughput ratio target >= 0.97 (goal >= 1.0), efficiency
           against C/L = 1280/s, the emulator's mean requests in flight (goal >= 63 of 64).
  cpu      zero latency, concurrency 64, 20,000 single-id persons: throughput ratio target
           >= 0.85 (goal >= 1.0), CPU ms per request of each client process; against the
           leanest script (bench/lean.py, no JSON): CPU per request <= 1.1x (goal <= 1.0x),
           throughput >= 0.9x (goal >= 1.0x).
  memory   `thumbsweep run --dry-run` on 100,000 and 1,000,000 shuffled rows (10 ids per
           person): peak RSS at 1M target <= 200 MB (goal <= 128), time 1M/100k target <= 12;
           10,000,000 rows with --ten-million (goal <= 1 GB). Then 100,000 and 1,000,000
           distinct one-id persons: peak RSS at 1M target <= 150 MB; with --ten-million,
           10,000,000 of them: <= 1 GB, time 10M/1M <= 11.
  curl     500 single-id persons at 50 ms latency: bench/curl_loop.sh (one curl per id) vs
           thumbsweep at its default concurrency.
  sweep    50 ms latency, concurrency 1, 2, 4, ..., 256: thumbsweep's throughput against the
           ideal C/L; a log-log plot goes to docs/benchmarks-concurrency.png (needs matplotlib).

Throughput is persons (one request each) / the run's own wall time: thumbsweep's comes from its
summary (`finished in X s`), the baseline's and the curl loop's from their own last line; both
start after the interpreter has started and imported. Whole-process figures, start-up included,
are shown too.

Run: `make bench`, or `.venv/bin/python bench/perf.py [--only latency,cpu,memory,curl,sweep]
[--runs N] [--scale F] [--json OUT] [--ten-million] [--plot PNG]`. `--scale 0.05` shrinks every
size for a quick smoke run (targets are then not meaningful).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _harness import compile_bytecode
from suite.cpu import cpu_bound
from suite.curl import against_curl
from suite.latency import latency_bound
from suite.memory import memory
from suite.runs import ROOT, Figures, Options
from suite.sweep import concurrency_sweep

# --only's names, in the order the benchmarks run.
RUNNERS: dict[str, Callable[[Options], Figures]] = {
    "latency": latency_bound,
    "cpu": cpu_bound,
    "memory": memory,
    "curl": against_curl,
    "sweep": concurrency_sweep,
}
BENCHMARKS = tuple(RUNNERS)


def parse_only(text: str) -> list[str]:
    """--only's comma-separated benchmark names, checked."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown benchmark {', '.join(unknown) or '(none)'}; "
            f"choose from {','.join(BENCHMARKS)}"
        )
    return names


def parse_arguments() -> argparse.Namespace:
    """The command line: which benchmarks, how many runs, how large, where figures go."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only",
        type=parse_only,
        default=list(BENCHMARKS),
        help=f"comma-separated, from {','.join(BENCHMARKS)} (default: all)",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=4,
        help="alternating rounds for latency (cpu: twice as many), runs for memory (default: 4)",
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply every person/row count, e.g. 0.05 for a smoke run",
    )
    parser.add_argument("--json", type=Path, help="write every raw figure to this JSON file")
    parser.add_argument(
        "--ten-million",
        action="store_true",
        help="memory: also 10,000,000 rows of each shape (about four minutes, ~0.5 GB of disk)",
    )
    parser.add_argument(
        "--plot",
        type=Path,
        default=ROOT / "docs" / "benchmarks-concurrency.png",
        help="where the sweep's PNG goes (default: docs/benchmarks-concurrency.png)",
    )
    args = parser.parse_args()
    if args.runs < 1 or not args.scale > 0:
        parser.error("--runs must be >= 1 and --scale > 0")
    return args


def main() -> None:
    """Run the chosen benchmarks in order and print their tables."""
    args = parse_arguments()
    compile_bytecode()
    print(
        f"thumbsweep benchmarks: {', '.join(args.only)}; --runs {args.runs}, "
        f"--scale {args.scale:g}; python {sys.version.split()[0]}"
    )
    figures: Figures = {
        "options": {
            "only": args.only,
            "runs": args.runs,
            "scale": args.scale,
            "ten_million": args.ten_million,
        }
    }
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="thumbsweep-bench-") as work:
        options = Options(args.runs, args.scale, Path(work), args.ten_million, args.plot)
        for name in args.only:
            figures[name] = RUNNERS[name](options)
    elapsed = time.perf_counter() - started
    figures["elapsed_seconds"] = elapsed
    print(f"\nall done in {elapsed:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, default=str) + "\n")
        print(f"raw figures: {args.json}")


if __name__ == "__main__":
    main()
