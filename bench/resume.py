"""Issue 9 item 6: what `--resume` costs on a large ledger, against the same run without it.

It builds, in a temporary directory, a ledger of PERSONS `deleted` records (one id per person,
written by thumbsweep's own `Ledger`, in the manifest's shuffled order, as a real run would)
and a manifest of PERSONS + NEW rows: those ids plus NEW ids not yet deleted (a second id of
NEW of the persons). Then it runs `thumbsweep run MANIFEST --dry-run`, with and without
`--resume`, alternating, each on a fresh copy of the ledger (dry runs append to it), and prints
wall time and peak RSS of each (the child's own rusage, via `_harness.run_command`).

Targets at 1M records: peak RSS with --resume <= 300 MB (goal: <= the run without --resume
+ 50 MB) and wall time <= 1.5x the run without --resume. `--csv` measures a CSV ledger too.

Run: `make bench-resume`, or `.venv/bin/python bench/resume.py [--persons N] [--new N]
[--runs N] [--csv] [--json OUT]`; `--persons 100000` is a quick smoke run.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _harness import Finished, run_thumbsweep
from worker.records.ledger import Ledger
from worker.records.record import LedgerRecord

RSS_TARGET_MB = 300.0
RSS_GOAL_EXTRA_MB = 50.0
TIME_TARGET_RATIO = 1.5
# The plan line's counts carry thousands separators ("1,001,000 unique ids").
_PLAN = re.compile(
    r"([\d,]+) unique ids to delete.*?(?:, ([\d,]+) already deleted per the ledger)?\)"
)


@dataclass
class Inputs:
    """The generated manifest and ledger, and what a correct resume must find."""

    manifest: Path
    ledger: Path
    already_deleted: int
    to_delete: int


def make_inputs(work: Path, persons: int, new: int, suffix: str, seed: int = 1) -> Inputs:
    """Write the manifest (shuffled) and a ledger recording every manifest id but NEW deleted."""
    rng = random.Random(seed)
    order = list(range(1, persons + 1))
    rng.shuffle(order)
    manifest = work / "manifest.csv"
    if not manifest.exists():
        extra = rng.sample(order, new)
        rows = [f"bench,{p},{p * 10 + 1}\n" for p in order]
        rows += [f"bench,{p},{p * 10 + 2}\n" for p in extra]
        manifest.write_text("workspace,person_id,thumbnail_id\n" + "".join(rows))
    ledger = work / f"ledger-master{suffix}"
    writer = Ledger(ledger)
    writer.open()
    try:
        for person in order:
            thumbnail_id = person * 10 + 1
            writer.write_many([LedgerRecord(
                run_id="20261124T140102Z-3f9a2c", status="deleted", workspace="bench",
                person_id=person, thumbnail_ids=(thumbnail_id,), http_status=200, code="0",
                message="success", attempts=1, elapsed_ms=48,
                remaining_thumbnail_ids=(thumbnail_id + 7,), primary_thumbnail_id=thumbnail_id + 7,
            )])  # fmt: skip
    finally:
        writer.close()
    return Inputs(manifest, ledger, already_deleted=persons, to_delete=new)


def run_once(inputs: Inputs, work: Path, resume: bool) -> Finished:
    """One dry run on a fresh copy of the ledger; checks the plan it logged."""
    ledger = work / ("ledger" + inputs.ledger.suffix)
    shutil.copyfile(inputs.ledger, ledger)
    args = ["run", str(inputs.manifest), "--ledger", str(ledger), "--dry-run"]
    finished = run_thumbsweep(*args, *(["--resume"] if resume else []), cwd=work)
    plan = _PLAN.search(finished.stderr)
    if finished.exit_code != 0 or plan is None:
        raise RuntimeError(f"thumbsweep exited {finished.exit_code}: {finished.stderr[-800:]}")
    unique, deleted = (int((group or "0").replace(",", "")) for group in plan.groups())
    expected = (
        (inputs.to_delete, inputs.already_deleted)
        if resume
        else (inputs.to_delete + inputs.already_deleted, 0)
    )
    if (unique, deleted) != expected:
        raise RuntimeError(f"wrong plan {(unique, deleted)}, expected {expected}")
    ledger.unlink()
    return finished


def measure(inputs: Inputs, work: Path, runs: int) -> dict[str, dict[str, float]]:
    """Alternate runs without and with --resume; the median of each figure per mode."""
    results: dict[str, list[Finished]] = {"plain": [], "resume": []}
    for _ in range(runs):
        results["plain"].append(run_once(inputs, work, resume=False))
        results["resume"].append(run_once(inputs, work, resume=True))
    return {
        mode: {
            "wall_s": statistics.median(f.wall_seconds for f in finished),
            "cpu_s": statistics.median(f.cpu_seconds for f in finished),
            "peak_rss_mb": statistics.median(f.max_rss_mb for f in finished),
            "peak_rss_mb_max": max(f.max_rss_mb for f in finished),
        }
        for mode, finished in results.items()
    }


def report(kind: str, figures: dict[str, dict[str, float]], ledger_mb: float) -> dict[str, float]:
    """Print one ledger format's table and verdicts; return the ratios."""
    plain, resume = figures["plain"], figures["resume"]
    print(f"\n== {kind} ledger ({ledger_mb:.0f} MB): medians")
    print(f"{'run':<18}{'wall s':>9}{'cpu s':>9}{'peak RSS MB':>14}")
    for label, row in (("without --resume", plain), ("--resume", resume)):
        print(f"{label:<18}{row['wall_s']:>9.2f}{row['cpu_s']:>9.2f}{row['peak_rss_mb']:>14.1f}")
    extra = resume["peak_rss_mb"] - plain["peak_rss_mb"]
    ratio = resume["wall_s"] / plain["wall_s"]
    rss_ok = resume["peak_rss_mb_max"] <= RSS_TARGET_MB
    print(
        f"peak RSS with --resume: {resume['peak_rss_mb']:.1f} MB (worst "
        f"{resume['peak_rss_mb_max']:.1f}; target <= {RSS_TARGET_MB:.0f}: "
        f"{'met' if rss_ok else 'MISSED'}); {extra:+.1f} MB against without "
        f"(goal <= +{RSS_GOAL_EXTRA_MB:.0f}: {'met' if extra <= RSS_GOAL_EXTRA_MB else 'missed'})"
    )
    print(
        f"wall time ratio --resume / without: {ratio:.2f} (target <= {TIME_TARGET_RATIO}: "
        f"{'met' if ratio <= TIME_TARGET_RATIO else 'MISSED'})"
    )
    return {"rss_extra_mb": extra, "wall_ratio": ratio}


def main() -> None:
    """Build the inputs, measure each ledger format, print the tables."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=1_000_000, help="deleted records")
    parser.add_argument("--new", type=int, default=1_000, help="manifest ids not yet deleted")
    parser.add_argument("--runs", type=int, default=3, help="alternating run pairs (default 3)")
    parser.add_argument("--csv", action="store_true", help="also measure a CSV ledger")
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    args = parser.parse_args()
    if args.runs < 1 or args.persons < 1 or not 0 <= args.new <= args.persons:
        parser.error("--runs and --persons must be >= 1, and 0 <= --new <= --persons")
    print(
        f"thumbsweep --resume benchmark: {args.persons:,} deleted records, manifest of "
        f"{args.persons + args.new:,} rows, {args.runs} run pair(s); "
        f"python {sys.version.split()[0]}"
    )
    figures: dict[str, object] = {"options": vars(args) | {"json": str(args.json)}}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="thumbsweep-bench-resume-") as scratch:
        work = Path(scratch)
        for suffix in (".jsonl", ".csv") if args.csv else (".jsonl",):
            inputs = make_inputs(work, args.persons, args.new, suffix)
            measured = measure(inputs, work, args.runs)
            ledger_mb = inputs.ledger.stat().st_size / 1e6
            ratios = report(suffix.lstrip(".").upper(), measured, ledger_mb)
            figures[suffix.lstrip(".")] = {**measured, **ratios, "ledger_mb": ledger_mb}
            inputs.ledger.unlink()
    print(f"\nall done in {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
        print(f"figures: {args.json}")


if __name__ == "__main__":
    main()
