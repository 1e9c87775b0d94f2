"""Benchmark 3, memory and scaling: `thumbsweep run --dry-run` on shuffled rows, in two shapes.

10 ids a person (issue 4): peak RSS at 1M rows <= 200 MB (goal <= 128); time 1M / 100k <= 12;
with --ten-million, peak RSS at 10M rows (goal <= 1 GB).
One id a person, every row a distinct person (issue 12): peak RSS at 1M persons <= 150 MB; with
--ten-million, 10M persons <= 1 GB and time 10M / 1M <= 11 (linear); without it, 1M / 100k is
shown. No emulator: a dry run sends nothing.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from _harness import multi_id_rows, run_command
from suite.report import column, median, median_cells, runs_text, scale_note, table, verdict
from suite.runs import Figures, Options, process_figures, thumbsweep_argv

IDS_PER_PERSON = 10
ONE_ID_RSS_TARGET_MB = 150.0
ONE_ID_10M_RSS_TARGET_MB = 1024.0
LINEAR_TARGET = 11.0
HEADER = "workspace,person_id,thumbnail_id\n"


def dry_run(options: Options, jobs: Path, rows: int, persons: int, tag: str) -> Figures:
    """`thumbsweep run --dry-run` over `jobs`, measured alone."""
    ledger = options.work / f"ledger-{tag}.jsonl"
    ledger.unlink(missing_ok=True)
    finished = run_command(
        thumbsweep_argv("run", str(jobs), "--dry-run", "--ledger", str(ledger), "-q"),
        cwd=options.work,
    )
    # Counted in chunks: the 10M ledger need not fit in memory twice. The last line is the
    # run's own record (status `run`), not a person's.
    with ledger.open("rb") as file:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: file.read(1 << 20), b""))
    records = lines - 1
    ledger.unlink()
    figures = {
        "rows": rows,
        "persons": persons,
        "ledger_records": records,
        **process_figures(finished, rows),
    }
    if finished.exit_code != 0 or records != persons:
        print(
            f"  warning: dry run {tag}: exit {finished.exit_code}, {records} records for "
            f"{persons} persons: {figures['last_stderr_line']}",
            file=sys.stderr,
        )
    return figures


def generate(
    options: Options, sizes: dict[str, int], ids_per_person: int = IDS_PER_PERSON
) -> tuple[dict[str, Path], dict[str, float]]:
    """One shuffled input file per size (persons; 0 is header-only) and the seconds each took."""
    files: dict[str, Path] = {}
    generated: dict[str, float] = {}
    for name, persons in sizes.items():
        files[name] = options.work / f"rows-{ids_per_person}-{name}.csv"
        started = time.perf_counter()
        if persons:
            multi_id_rows(files[name], persons, ids_per_person)
        else:
            files[name].write_text(HEADER)
        generated[name] = time.perf_counter() - started
    # The inputs to disk now: else a dry run's ledger fsync waits for their writeback too (on
    # ext4 a journal commit flushes other files' dirty data), seconds on a busy disk.
    os.sync()
    return files, generated


def size_table(
    results: dict[str, list[Figures]], files: dict[str, Path], generated: dict[str, float]
) -> None:
    """One row per input size: medians of its runs, every run's peak RSS in brackets."""
    rows = []
    for name, runs in results.items():
        rows.append(
            [
                name,
                f"{runs[0]['rows']}",
                f"{runs[0]['persons']}",
                f"{files[name].stat().st_size / 1e6:.1f}",
                f"{generated[name]:.1f}",
                *median_cells(
                    runs,
                    ("run_seconds", ".2f"),
                    ("process_seconds", ".2f"),
                    ("cpu_seconds", ".2f"),
                    ("max_rss_mb", ".0f"),
                    ("run_per_second", ".0f"),
                ),
                f"{max(column(runs, 'exit_code')):.0f}",
                runs_text(column(runs, "max_rss_mb"), 0),
            ]
        )
    table(
        [
            "size",
            "rows",
            "persons",
            "file MB",
            "gen s",
            "run s",
            "process s",
            "CPU s",
            "peak RSS MB",
            "rows/s",
            "exit",
            "all runs RSS MB",
        ],
        rows,
    )


def memory(options: Options) -> Figures:
    """Both shapes: 10 ids a person, then one id a person."""
    return {"ten_ids": ten_ids(options), "one_id": one_id(options)}


def measure_sizes(
    options: Options, sizes: dict[str, int], ids_per_person: int
) -> tuple[dict[str, list[Figures]], dict[str, Path], dict[str, float]]:
    """--runs dry runs of each size in turn (10M: one), and the size table."""
    files, generated = generate(options, sizes, ids_per_person)
    results: dict[str, list[Figures]] = {name: [] for name in sizes}
    for index in range(options.runs):
        for name, persons in sizes.items():
            if name == "10M" and index:
                continue  # one 10M run is enough (and takes a while)
            tag = f"dry-{ids_per_person}-{name}-{index}"
            rows = persons * ids_per_person
            results[name].append(dry_run(options, files[name], rows, persons, tag))
            print(
                f"  {name} run {index + 1}: {results[name][-1]['last_stderr_line']}",
                file=sys.stderr,
            )
    print(
        f"{options.runs} runs each (10M: one), medians; peak RSS is the dry run process's own "
        "ru_maxrss; '0' is start-up alone (header-only input)"
    )
    size_table(results, files, generated)
    return results, files, generated


def one_id(options: Options) -> Figures:
    """Dry runs on 100k and 1M distinct one-id persons (10M with --ten-million)."""
    sizes = {"0": 0, "100k": options.size(100_000), "1M": options.size(1_000_000)}
    if options.ten_million:
        sizes["10M"] = options.size(10_000_000)
    print("\n== memory and scaling: thumbsweep run --dry-run, shuffled rows, one id per person ==")
    results, _, generated = measure_sizes(options, sizes, 1)
    rss_1m = median(column(results["1M"], "max_rss_mb"))
    print(
        f"peak RSS at 1M one-id persons: {rss_1m:.0f} MB  target <= {ONE_ID_RSS_TARGET_MB:.0f}: "
        f"{verdict(rss_1m, ONE_ID_RSS_TARGET_MB, None, higher_is_better=False)}"
    )
    summary: Figures = {"rss_1m_mb": rss_1m}
    pairs = [("1M", "100k")] + ([("10M", "1M")] if "10M" in results else [])
    for large, small in pairs:
        ratio, cpu_ratio = (
            median(column(results[large], key)) / median(column(results[small], key))
            for key in ("run_seconds", "cpu_seconds")
        )
        # CPU too: on a shared disk a ledger fsync can stall a run's wall time for seconds.
        print(
            f"time {large}/{small}: run {ratio:.2f}, CPU {cpu_ratio:.2f}  target <= "
            f"{LINEAR_TARGET:g}: {verdict(ratio, LINEAR_TARGET, None, higher_is_better=False)}"
        )
        summary[f"time_ratio_{large}_{small}"] = ratio
        summary[f"cpu_ratio_{large}_{small}"] = cpu_ratio
    if "10M" in results:
        rss_10m = median(column(results["10M"], "max_rss_mb"))
        print(
            f"peak RSS at 10M one-id persons: {rss_10m:.0f} MB  target <= "
            f"{ONE_ID_10M_RSS_TARGET_MB:.0f}: "
            f"{verdict(rss_10m, ONE_ID_10M_RSS_TARGET_MB, None, higher_is_better=False)}"
        )
        summary["rss_10m_mb"] = rss_10m
    scale_note(options)
    return {**summary, "generate_seconds": generated, "runs": results}


def ten_ids(options: Options) -> Figures:
    """Dry runs on 100k and 1M rows (and 10M with --ten-million): peak RSS and time."""
    sizes = {"0": 0, "100k": options.size(10_000), "1M": options.size(100_000)}
    if options.ten_million:
        sizes["10M"] = options.size(1_000_000)
    print(
        f"\n== memory and scaling: thumbsweep run --dry-run, shuffled rows, "
        f"{IDS_PER_PERSON} ids per person =="
    )
    results, _, generated = measure_sizes(options, sizes, IDS_PER_PERSON)
    rss_1m = median(column(results["1M"], "max_rss_mb"))
    run_ratio = median(column(results["1M"], "run_seconds")) / median(
        column(results["100k"], "run_seconds")
    )
    process_ratio = median(column(results["1M"], "process_seconds")) / median(
        column(results["100k"], "process_seconds")
    )
    print(
        f"peak RSS at 1M rows: {rss_1m:.0f} MB  target <= 200, goal <= 128: "
        f"{verdict(rss_1m, 200, 128, higher_is_better=False)}"
    )
    print(
        f"time 1M/100k: run {run_ratio:.2f}, process {process_ratio:.2f}  target <= 12: "
        f"{verdict(run_ratio, 12, None, higher_is_better=False)}"
    )
    summary: Figures = {
        "rss_1m_mb": rss_1m,
        "time_ratio_run": run_ratio,
        "time_ratio_process": process_ratio,
    }
    if "10M" in results:
        rss_10m = median(column(results["10M"], "max_rss_mb"))
        print(
            f"peak RSS at 10M rows: {rss_10m:.0f} MB  goal <= 1024: "
            f"{verdict(rss_10m, None, 1024, higher_is_better=False)}"
        )
        summary["rss_10m_mb"] = rss_10m
    scale_note(options)
    return {**summary, "generate_seconds": generated, "runs": results}
