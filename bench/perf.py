"""thumbsweep's performance suite: against a plain aiohttp script, a curl loop, and itself.

Every networked run gets a fresh `thumbsweep emulate` subprocess, so state and counters are
clean, and every client runs as its own subprocess, timed with perf_counter and measured with
its own rusage (os.wait4: CPU time and peak RSS of that process alone).

  latency  50 ms latency, concurrency 64, 12,800 single-id persons: thumbsweep vs the baseline
           (bench/baseline.py); throughput ratio target >= 0.97 (goal >= 1.0), efficiency
           against C/L = 1280/s, the emulator's mean requests in flight (goal >= 63 of 64).
  cpu      zero latency, concurrency 64, 20,000 single-id persons: throughput ratio target
           >= 0.85 (goal >= 1.0), CPU ms per request of each client process.
  memory   `thumbsweep run --dry-run` on 100,000 and 1,000,000 shuffled rows (10 ids per
           person): peak RSS at 1M target <= 200 MB (goal <= 128), time 1M/100k target <= 12;
           10,000,000 rows with --ten-million (goal <= 1 GB).
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
import math
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _harness import Finished, emulator, multi_id_rows, run_command, single_id_persons

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BENCHMARKS = ("latency", "cpu", "memory", "curl", "sweep")
CLIENTS = ("baseline", "thumbsweep")
NAN = float("nan")

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


# --- running one client against one fresh emulator ---------------------------------------


def client_argv(
    client: str, jobs: Path, base_url: str, concurrency: int | None, ledger: Path
) -> list[str]:
    """The command line of `client` sending `jobs` to `base_url`."""
    if client == "baseline":
        return [
            sys.executable,
            str(BENCH / "baseline.py"),
            str(jobs),
            "--base-url",
            base_url,
            "--concurrency",
            str(concurrency or 8),
        ]
    if client == "curl":
        return ["bash", str(BENCH / "curl_loop.sh"), str(jobs), base_url]
    flags = [] if concurrency is None else ["--concurrency", str(concurrency)]
    return [
        sys.executable,
        "-m",
        "worker",
        "run",
        str(jobs),
        "--base-url",
        base_url,
        "--ledger",
        str(ledger),
        *flags,
        "-q",
    ]


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


def alternate(runs: int, one: Callable[[str, int], Figures]) -> dict[str, list[Figures]]:
    """baseline, thumbsweep, baseline, thumbsweep, ...: `runs` pairs of `one(client, index)`."""
    results: dict[str, list[Figures]] = {client: [] for client in CLIENTS}
    for index in range(runs):
        for client in CLIENTS:
            results[client].append(one(client, index))
            print(
                f"  {client} run {index + 1}/{runs}: {results[client][-1]['last_stderr_line']}",
                file=sys.stderr,
            )
    return results


# --- reporting --------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    """The median of the values that are numbers (NaN if none is)."""
    kept = [v for v in values if not math.isnan(v)]
    return statistics.median(kept) if kept else NAN


def column(rows: Sequence[Figures], key: str) -> list[float]:
    """`key` of every row (a dotted key reads the emulator's stats)."""
    if key.startswith("emulator."):
        return [float(row["emulator"].get(key.split(".", 1)[1], NAN)) for row in rows]
    return [float(row[key]) for row in rows]


def runs_text(values: Sequence[float], digits: int) -> str:
    """All runs, in brackets."""
    return "[" + ", ".join(f"{v:.{digits}f}" for v in values) + "]"


def verdict(
    value: float, target: float | None, goal: float | None, higher_is_better: bool = True
) -> str:
    """'meets goal', 'meets target, misses goal', 'MISSES target' or, without a target,
    'misses goal'."""
    if math.isnan(value):
        return "no figure"

    def ok(limit: float) -> bool:
        return value >= limit if higher_is_better else value <= limit

    if goal is not None and ok(goal):
        return "meets goal"
    if target is None:
        return "misses goal"
    if ok(target):
        return "meets target, misses goal" if goal is not None else "meets target"
    return "MISSES target"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print a plain table: first column left-aligned, the others right-aligned."""
    widths = [max(len(str(cell)) for cell in col) for col in zip(header, *rows, strict=True)]
    for line in (header, *rows):
        cells = [f"{line[0]:<{widths[0]}}"]
        cells += [f"{cell:>{width}}" for cell, width in zip(line[1:], widths[1:], strict=True)]
        print("  ".join(cells).rstrip())


def client_table(results: dict[str, list[Figures]], concurrency: int) -> None:
    """Medians of each client's runs, all runs' run throughput in brackets."""
    header = [
        "client",
        "run req/s",
        "process req/s",
        "run s",
        "process s",
        "CPU s",
        "CPU ms/req",
        "mean in flight",
        "max in flight",
        "deleted",
        "exit",
        "all runs req/s",
    ]
    rows = []
    for client, runs in results.items():
        rows.append(
            [
                client,
                f"{median(column(runs, 'run_per_second')):.0f}",
                f"{median(column(runs, 'process_per_second')):.0f}",
                f"{median(column(runs, 'run_seconds')):.2f}",
                f"{median(column(runs, 'process_seconds')):.2f}",
                f"{median(column(runs, 'cpu_seconds')):.2f}",
                f"{median(column(runs, 'cpu_ms_per_request')):.3f}",
                f"{median(column(runs, 'emulator.mean_in_flight')):.1f}/{concurrency}",
                f"{max(column(runs, 'emulator.max_in_flight')):.0f}",
                f"{min(column(runs, 'emulator.deletes_applied')):.0f}",
                f"{max(column(runs, 'exit_code')):.0f}",
                runs_text(column(runs, "run_per_second"), 0),
            ]
        )
    table(header, rows)


def ratio(results: dict[str, list[Figures]], key: str) -> tuple[float, list[float]]:
    """thumbsweep / baseline of the medians of `key`, and of each run pair."""
    ours, theirs = column(results["thumbsweep"], key), column(results["baseline"], key)
    pairs = [a / b if b else NAN for a, b in zip(ours, theirs, strict=True)]
    return median(ours) / median(theirs), pairs


def scale_note(options: Options) -> None:
    """Say that the targets are for --scale 1 only."""
    if options.scale != 1:
        print(f"  (--scale {options.scale:g}: sizes are scaled, so the targets do not apply)")


# --- the benchmarks ---------------------------------------------------------------------


def latency_bound(options: Options) -> Figures:
    """50 ms latency, concurrency 64: thumbsweep vs the baseline."""
    persons, concurrency, latency = options.size(12_800), 64, 50.0
    ideal = concurrency / (latency / 1000)
    print(
        f"\n== latency-bound: {persons} single-id persons, latency {latency:g} ms, "
        f"concurrency {concurrency}, ideal C/L = {ideal:.0f} requests/s =="
    )
    results = alternate(
        options.runs,
        lambda client, i: networked_run(
            options, client, persons, latency, concurrency, f"latency-{client}-{i}"
        ),
    )
    print(
        f"{options.runs} runs each, alternating; medians (req/s = persons / wall; 'run' "
        "excludes interpreter start-up, 'process' includes it)"
    )
    client_table(results, concurrency)
    run_ratio, run_pairs = ratio(results, "run_per_second")
    process_ratio, process_pairs = ratio(results, "process_per_second")
    ours = median(column(results["thumbsweep"], "run_per_second"))
    in_flight = median(column(results["thumbsweep"], "emulator.mean_in_flight"))
    print(
        f"throughput thumbsweep/baseline (run walls): {run_ratio:.3f} {runs_text(run_pairs, 3)}"
        f"  target >= 0.97, goal >= 1.0: {verdict(run_ratio, 0.97, 1.0)}"
    )
    print(
        f"throughput thumbsweep/baseline (process walls): {process_ratio:.3f} "
        f"{runs_text(process_pairs, 3)}"
    )
    print(f"thumbsweep efficiency = {ours:.0f} / {ideal:.0f} = {ours / ideal:.3f}")
    print(
        f"thumbsweep mean in flight {in_flight:.1f} of {concurrency}, goal >= "
        f"{concurrency - 1}: {verdict(in_flight, None, concurrency - 1)}"
    )
    scale_note(options)
    return {
        "persons": persons,
        "latency_ms": latency,
        "concurrency": concurrency,
        "ideal_per_second": ideal,
        "ratio_run": run_ratio,
        "ratio_process": process_ratio,
        "efficiency": ours / ideal,
        "runs": results,
    }


def startup(options: Options, client: str) -> Figures:
    """`client` on a header-only file: the CPU and wall of start-up (no request is sent)."""
    jobs = options.work / "empty.csv"
    jobs.write_text("workspace,person_id,thumbnail_id\n")
    ledger = options.work / "ledger-empty.jsonl"
    ledger.unlink(missing_ok=True)
    with emulator() as served:
        finished = run_command(
            client_argv(client, jobs, served.base_url, 64, ledger), cwd=options.work
        )
    return process_figures(finished, 0)


def cpu_bound(options: Options) -> Figures:
    """Zero latency, concurrency 64: throughput ratio and CPU per request."""
    persons, concurrency = options.size(20_000), 64
    print(f"\n== CPU-bound: {persons} single-id persons, latency 0, concurrency {concurrency} ==")
    print("(the emulator shares the 2 cores with the client: both are CPU-bound here)")
    results = alternate(
        options.runs,
        lambda client, i: networked_run(
            options, client, persons, 0.0, concurrency, f"cpu-{client}-{i}"
        ),
    )
    print(
        f"{options.runs} runs each, alternating; medians; CPU = the client process's own "
        "user + system time, start-up included"
    )
    client_table(results, concurrency)
    starts = {client: startup(options, client) for client in CLIENTS}
    print("start-up alone (header-only input, nothing sent), and CPU per request without it:")
    rows = []
    for client in CLIENTS:
        cpu = median(column(results[client], "cpu_seconds"))
        net = (cpu - starts[client]["cpu_seconds"]) * 1000 / persons
        rows.append(
            [
                client,
                f"{starts[client]['process_seconds']:.2f}",
                f"{starts[client]['cpu_seconds']:.2f}",
                f"{starts[client]['max_rss_mb']:.0f}",
                f"{net:.3f}",
            ]
        )
    table(["client", "start-up s", "start-up CPU s", "start-up RSS MB", "CPU ms/req net"], rows)
    run_ratio, run_pairs = ratio(results, "run_per_second")
    process_ratio, process_pairs = ratio(results, "process_per_second")
    cpu_ratio, _ = ratio(results, "cpu_ms_per_request")
    print(
        f"throughput thumbsweep/baseline (run walls): {run_ratio:.3f} {runs_text(run_pairs, 3)}"
        f"  target >= 0.85, goal >= 1.0: {verdict(run_ratio, 0.85, 1.0)}"
    )
    print(
        f"throughput thumbsweep/baseline (process walls): {process_ratio:.3f} "
        f"{runs_text(process_pairs, 3)}"
    )
    print(f"CPU per request thumbsweep/baseline: {cpu_ratio:.3f}")
    scale_note(options)
    return {
        "persons": persons,
        "concurrency": concurrency,
        "ratio_run": run_ratio,
        "ratio_process": process_ratio,
        "ratio_cpu_per_request": cpu_ratio,
        "startup": starts,
        "runs": results,
    }


def dry_run(options: Options, jobs: Path, rows: int, persons: int, tag: str) -> Figures:
    """`thumbsweep run --dry-run` over `jobs`, measured alone."""
    ledger = options.work / f"ledger-{tag}.jsonl"
    ledger.unlink(missing_ok=True)
    finished = run_command(
        [
            sys.executable,
            "-m",
            "worker",
            "run",
            str(jobs),
            "--dry-run",
            "--ledger",
            str(ledger),
            "-q",
        ],
        cwd=options.work,
    )
    with ledger.open("rb") as file:
        records = sum(chunk.count(b"\n") for chunk in iter(lambda: file.read(1 << 20), b""))
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


def memory(options: Options) -> Figures:
    """Dry runs on 100k and 1M rows (and 10M with --ten-million): peak RSS and time."""
    ids_per_person = 10
    sizes = {"0": 0, "100k": options.size(10_000), "1M": options.size(100_000)}
    if options.ten_million:
        sizes["10M"] = options.size(1_000_000)
    print(
        f"\n== memory and scaling: thumbsweep run --dry-run, shuffled rows, "
        f"{ids_per_person} ids per person =="
    )
    files: dict[str, Path] = {}
    generated: dict[str, float] = {}
    for name, persons in sizes.items():
        files[name] = options.work / f"rows-{name}.csv"
        started = time.perf_counter()
        if persons:
            multi_id_rows(files[name], persons, ids_per_person)
        else:
            files[name].write_text("workspace,person_id,thumbnail_id\n")
        generated[name] = time.perf_counter() - started
    results: dict[str, list[Figures]] = {name: [] for name in sizes}
    for index in range(options.runs):
        for name, persons in sizes.items():
            if name == "10M" and index:
                continue  # one 10M run is enough (and takes a while)
            results[name].append(
                dry_run(
                    options, files[name], persons * ids_per_person, persons, f"dry-{name}-{index}"
                )
            )
            print(
                f"  {name} run {index + 1}: {results[name][-1]['last_stderr_line']}",
                file=sys.stderr,
            )
    print(
        f"{options.runs} runs each (10M: one), medians; peak RSS is the dry run process's own "
        "ru_maxrss; '0' is start-up alone (header-only input)"
    )
    rows = []
    for name, runs in results.items():
        rows.append(
            [
                name,
                f"{runs[0]['rows']}",
                f"{runs[0]['persons']}",
                f"{files[name].stat().st_size / 1e6:.1f}",
                f"{generated[name]:.1f}",
                f"{median(column(runs, 'run_seconds')):.2f}",
                f"{median(column(runs, 'process_seconds')):.2f}",
                f"{median(column(runs, 'cpu_seconds')):.2f}",
                f"{median(column(runs, 'max_rss_mb')):.0f}",
                f"{median(column(runs, 'run_per_second')):.0f}",
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


def against_curl(options: Options) -> Figures:
    """500 single-id persons at 50 ms: the curl loop vs thumbsweep's default concurrency."""
    persons, latency = options.size(500), 50.0
    print(
        f"\n== against a curl loop: {persons} single-id persons, latency {latency:g} ms, "
        "thumbsweep at its default concurrency (8) =="
    )
    missing = [
        tool for tool in ("bash", "curl", "openssl", "base64", "date") if shutil.which(tool) is None
    ]
    if missing:
        print(f"skipped: {', '.join(missing)} not found on PATH")
        return {"skipped": f"missing {', '.join(missing)}"}
    results: dict[str, list[Figures]] = {}
    for client in ("curl", "thumbsweep"):
        results[client] = [networked_run(options, client, persons, latency, None, f"curl-{client}")]
        print(f"  {client}: {results[client][0]['last_stderr_line']}", file=sys.stderr)
    print("one run each (the gap is large); 'run' excludes interpreter start-up")
    rows = []
    for client, runs in results.items():
        run = runs[0]
        rows.append(
            [
                client,
                f"{run['run_seconds']:.2f}",
                f"{run['process_seconds']:.2f}",
                f"{run['run_per_second']:.1f}",
                f"{run['cpu_seconds']:.2f}",
                f"{run['emulator'].get('deletes_applied')}",
                f"{run['exit_code']}",
            ]
        )
    table(["client", "run s", "process s", "req/s", "CPU s", "deleted", "exit"], rows)
    curl, ours = results["curl"][0], results["thumbsweep"][0]
    run_ratio = curl["run_seconds"] / ours["run_seconds"]
    process_ratio = curl["process_seconds"] / ours["process_seconds"]
    overhead = (curl["run_seconds"] - persons * latency / 1000) * 1000 / persons
    print(f"curl loop wall / thumbsweep wall: run {run_ratio:.1f}x, process {process_ratio:.1f}x")
    print(
        f"curl loop: {overhead:.1f} ms per id beyond the {latency:g} ms latency "
        "(date, openssl, base64 and curl processes, a new connection each)"
    )
    return {
        "persons": persons,
        "latency_ms": latency,
        "ratio_run": run_ratio,
        "ratio_process": process_ratio,
        "curl_overhead_ms_per_id": overhead,
        "runs": results,
    }


def concurrency_sweep(options: Options) -> Figures:
    """thumbsweep's throughput for C = 1 ... 256 at 50 ms latency, against C/L."""
    latency = 50.0
    print(
        f"\n== concurrency sweep: thumbsweep at latency {latency:g} ms, "
        "persons = max(200, 3 s x C/L) per point =="
    )
    points = []
    for power in range(9):
        concurrency = 2**power
        ideal = concurrency / (latency / 1000)
        persons = options.size(max(200, round(ideal * 3)))
        run = networked_run(
            options, "thumbsweep", persons, latency, concurrency, f"sweep-{concurrency}"
        )
        print(f"  C={concurrency}: {run['last_stderr_line']}", file=sys.stderr)
        points.append({"concurrency": concurrency, "ideal_per_second": ideal, **run})
    print("one run per point; req/s = persons / the run's own wall")
    table(
        [
            "C",
            "persons",
            "ideal req/s",
            "req/s",
            "efficiency",
            "mean in flight",
            "process req/s",
            "CPU ms/req",
            "exit",
        ],
        [
            [
                f"{p['concurrency']}",
                f"{p['persons']}",
                f"{p['ideal_per_second']:.0f}",
                f"{p['run_per_second']:.0f}",
                f"{p['run_per_second'] / p['ideal_per_second']:.3f}",
                f"{p['emulator'].get('mean_in_flight', NAN):.1f}",
                f"{p['process_per_second']:.0f}",
                f"{p['cpu_ms_per_request']:.3f}",
                f"{p['exit_code']}",
            ]
            for p in points
        ],
    )
    scale_note(options)
    plotted = plot_sweep(points, latency, options)
    return {"latency_ms": latency, "plot": plotted, "points": points}


def plot_sweep(points: list[Figures], latency: float, options: Options) -> str | None:
    """Save the sweep as a log-log PNG; None (and a message) without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install -e '.[bench]')")
        return None
    concurrency = [p["concurrency"] for p in points]
    figure, axes = plt.subplots(figsize=(7, 5), dpi=120)
    axes.plot(
        concurrency,
        [p["ideal_per_second"] for p in points],
        "--",
        color="grey",
        label=f"ideal C/L (L = {latency:g} ms)",
    )
    axes.plot(
        concurrency,
        [p["run_per_second"] for p in points],
        "o-",
        color="tab:blue",
        label="thumbsweep, measured",
    )
    axes.set_xscale("log", base=2)
    axes.set_xticks(concurrency, [str(c) for c in concurrency])
    axes.set_yscale("log")
    axes.set_xlabel("concurrency C (requests in flight)")
    axes.set_ylabel("throughput (requests/s)")
    title = f"thumbsweep throughput vs concurrency, emulator latency {latency:g} ms"
    if options.scale != 1:
        title += f" (--scale {options.scale:g})"
    axes.set_title(title, fontsize=10)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    options.plot.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(options.plot)
    plt.close(figure)
    print(f"plot: {options.plot}")
    return str(options.plot)


RUNNERS: dict[str, Callable[[Options], Figures]] = {
    "latency": latency_bound,
    "cpu": cpu_bound,
    "memory": memory,
    "curl": against_curl,
    "sweep": concurrency_sweep,
}


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


def main() -> None:
    """Run the chosen benchmarks in order and print their tables."""
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
        help="alternating run pairs for latency and cpu, runs for memory (default: 4)",
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
        help="memory: also 10,000,000 rows (about two minutes, ~0.2 GB of disk)",
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
