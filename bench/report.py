"""Issue 13: the time and peak memory of `thumbsweep report` over a 1 M- and a 10 M-record
ledger (the issue: a 10 M-record ledger must not need more than a few hundred MB).

It writes, in a temporary directory, a synthetic JSON Lines ledger of RECORDS batch records
(one id per record, every id distinct: the worst case for the per-id fold) over three runs,
each ending with its run record: 93 % deleted, 5 % failed retryable (503), 1 % failed for good
(400), 1 % skipped. Lines are formatted directly (the ledger's own writer would take minutes
for 10 M). Then it runs `thumbsweep report LEDGER --format F --output FILE` as a child process
and prints its wall time, CPU time and peak RSS (the child's own rusage, via
`_harness.run_command`), and checks the report's counts.

Run: `make bench-report`, or `.venv/bin/python bench/report.py [--records N ...]
[--formats json,csv] [--json OUT]`; `--records 100000` is a quick smoke run. Wrap it in
`flock /work/bench.lock` on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from _harness import Finished, run_command

RUNS = ("20261130T010000Z-aaaaaa", "20261130T020000Z-bbbbbb", "20261130T030000Z-cccccc")
_DELETED = ('"status":"deleted","http_status":200,"code":"0","message":"success"', "null")
_OUTCOMES = (
    *([_DELETED] * 93),
    *([('"status":"failed","http_status":503,"code":null,"message":"Endpoint Error"', "true")]
      * 5),
    ('"status":"failed","http_status":400,"code":"4001","message":"cannot remove the last '
     'thumbnail"', "false"),
    ('"status":"skipped","http_status":null,"code":null,"message":"run stopped by SIGTERM"',
     "true"),
)  # fmt: skip


def write_ledger(path: Path, records: int, seed: int = 1) -> dict[str, int]:
    """Write the synthetic ledger; the final status counts a correct report must find."""
    rng = random.Random(seed)
    expected = {"deleted": 0, "failed": 0, "skipped": 0}
    per_run = -(-records // len(RUNS))
    with path.open("w", encoding="utf-8") as ledger:
        for run_number, run_id in enumerate(RUNS):
            first = run_number * per_run
            lines = []
            for person in range(first, min(first + per_run, records)):
                outcome, retryable = _OUTCOMES[person % len(_OUTCOMES)]
                expected[outcome.split('"')[3]] += 1
                second = person * 3600 // per_run % 3600
                ts = f"2026-11-30T{run_number + 1:02d}:{second // 60:02d}:{second % 60:02d}.000Z"
                lines.append(
                    f'{{"ts":"{ts}","run_id":"{run_id}","workspace":"bench",'
                    f'"person_id":{person},"thumbnail_ids":[{person * 10 + 1}],{outcome},'
                    f'"attempts":1,"elapsed_ms":{rng.randrange(5, 400)},'
                    f'"remaining_thumbnail_ids":null,"primary_thumbnail_id":null,'
                    f'"retryable":{retryable}}}\n'
                )
                if len(lines) >= 100_000:
                    ledger.write("".join(lines))
                    lines = []
            ledger.write("".join(lines))
            ledger.write(json.dumps({
                "ts": f"2026-11-30T{run_number + 1:02d}:59:59.000Z", "run_id": run_id,
                "status": "run", "started": f"2026-11-30T{run_number + 1:02d}:00:00.000Z",
                "ended": f"2026-11-30T{run_number + 1:02d}:59:59.000Z", "exit_code": 1,
                "host": "127.0.0.1:8080", "dry_run": False, "shard": None, "attempts": per_run,
                "retries": 0, "throttled": 0, "throttled_by_minute": {}, "version": "bench",
            }) + "\n")  # fmt: skip
    return expected


def report_once(ledger: Path, output: Path, fmt: str) -> Finished:
    """`thumbsweep report LEDGER --format FMT --output OUTPUT` as a measured child process."""
    argv = [sys.executable, "-m", "worker", "report", str(ledger), "--format", fmt,
            "--output", str(output)]  # fmt: skip
    done = run_command(argv)
    if done.exit_code != 0:
        raise RuntimeError(f"report exited {done.exit_code}: {done.stderr.strip()[-500:]}")
    return done


def main() -> None:
    """Generate each ledger, report on it in each format, print (and optionally save) figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--formats", default="json", help="comma-separated (default json)")
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    args = parser.parse_args()
    figures = []
    print("records      format  ledger MB  generate s  report wall s  cpu s  peak RSS MB")
    for records in args.records:
        with tempfile.TemporaryDirectory(prefix="thumbsweep-bench-report-") as scratch:
            ledger = Path(scratch) / "ledger.jsonl"
            started = time.perf_counter()
            expected = write_ledger(ledger, records)
            generated = time.perf_counter() - started
            size_mb = ledger.stat().st_size / 1e6
            for fmt in args.formats.split(","):
                output = Path(scratch) / f"report.{fmt}"
                done = report_once(ledger, output, fmt)
                if fmt == "json":
                    found = json.loads(output.read_text())["final_status"]
                    assert {k: found[k] for k in expected} == expected, (found, expected)
                output.unlink()
                print(f"{records:>11,}  {fmt:<6}  {size_mb:>9,.0f}  {generated:>10.1f}  "
                      f"{done.wall_seconds:>13.1f}  {done.cpu_seconds:>5.1f}  "
                      f"{done.max_rss_mb:>11.0f}", flush=True)  # fmt: skip
                figures.append({"records": records, "format": fmt, "ledger_mb": size_mb,
                                "wall_seconds": done.wall_seconds,
                                "cpu_seconds": done.cpu_seconds,
                                "max_rss_mb": done.max_rss_mb})  # fmt: skip
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
